// tests/http/url_test.cpp: absolute http URLs: what a request is built from (host, port,
// target, Host value), percent-encoding, refusals, and resolving a Location (RFC 3986 §5.4).
#include "snow/http/url.hpp"

#include <doctest/doctest.h>

#include <string>

#include <fmt/format.h>

#include "snow/http/client/error.hpp"

template <>
struct doctest::StringMaker<std::error_code> {
    static String convert(const std::error_code& e) {
        return fmt::format("{}:{} ({})", e.category().name(), e.value(), e.message()).c_str();
    }
};

using snow::http::url;
using snow::http::url_errc;

TEST_SUITE_BEGIN("http.url");

namespace {
url parsed(std::string_view text) {
    auto u = url::parse(text);
    REQUIRE_MESSAGE(u.has_value(), text, ": ", u.error().message());
    return *u;
}

std::error_code refusal(std::string_view text) {
    auto u = url::parse(text);
    REQUIRE_MESSAGE(!u.has_value(), text, " parsed as ", u->to_string());
    return u.error();
}

std::string resolved(std::string_view reference) {
    static const url base = parsed("http://a/b/c/d;p?q");
    auto u = base.resolve(reference);
    REQUIRE_MESSAGE(u.has_value(), reference, ": ", u.error().message());
    return u->to_string();
}
} // namespace

TEST_CASE("a plain URL gives host, default port 80, target and a Host without the port") {
    auto u = parsed("http://example.com/index/?a=1&b=2");
    CHECK(u.host() == "example.com");
    CHECK(u.port() == 80);
    CHECK(u.target() == "/index/?a=1&b=2");
    CHECK(u.path() == "/index/");
    CHECK(u.query() == "a=1&b=2");
    CHECK(u.authority() == "example.com");
    CHECK(u.endpoint() == "example.com:80");
    CHECK_FALSE(u.is_ipv6());
}

TEST_CASE("a port other than 80 appears in the Host value, and an explicit 80 does not") {
    CHECK(parsed("http://127.0.0.1:8012/").authority() == "127.0.0.1:8012");
    CHECK(parsed("http://127.0.0.1:8012/").port() == 8012);
    CHECK(parsed("http://host:80/").authority() == "host");
    CHECK(parsed("http://host:/x").port() == 80); // an empty port is the default
    CHECK(parsed("http://host:00080/").port() == 80);
}

TEST_CASE("an IPv6 literal keeps its brackets in Host and loses them in host()") {
    auto u = parsed("http://[::1]:8012/x");
    CHECK(u.is_ipv6());
    CHECK(u.host() == "::1");
    CHECK(u.port() == 8012);
    CHECK(u.authority() == "[::1]:8012");
    CHECK(u.endpoint() == "[::1]:8012");
    CHECK(parsed("http://[0:0:0:0:0:0:0:1]/").authority() == "[::1]"); // canonical form
    CHECK(parsed("http://[2001:DB8::A]/").host() == "2001:db8::a");
}

TEST_CASE("an empty path is sent as / and the fragment is never sent") {
    CHECK(parsed("http://h").target() == "/");
    CHECK(parsed("http://h?q=1").target() == "/?q=1");
    CHECK(parsed("http://h/p#frag").target() == "/p");
    CHECK(parsed("http://h/p?q#frag").target() == "/p?q");
    CHECK(parsed("http://h/p?").target() == "/p?");
}

TEST_CASE("scheme and host are case-insensitive, the path is not") {
    auto u = parsed("HTTP://ExAmple.COM/Path/File");
    CHECK(u.host() == "example.com");
    CHECK(u.target() == "/Path/File");
}

TEST_CASE("bytes a request-target cannot carry are percent-encoded, valid escapes kept") {
    CHECK(parsed("http://h/a b").target() == "/a%20b");
    CHECK(parsed("http://h/caf\xc3\xa9").target() == "/caf%C3%A9");
    CHECK(parsed("http://h/a%2Fb").target() == "/a%2Fb");
    CHECK(parsed("http://h/100%").target() == "/100%25");
    CHECK(parsed("http://h/%zz").target() == "/%25zz");
    CHECK(parsed("http://h/[x]{y}|\"<>\\^`").target() == "/%5Bx%5D%7By%7D%7C%22%3C%3E%5C%5E%60");
    CHECK(parsed("http://h/p?q=a b&c=?/:@").target() == "/p?q=a%20b&c=?/:@");
    CHECK(parsed("http://h/!$&'()*+,;=:@-._~").target() == "/!$&'()*+,;=:@-._~");
}

TEST_CASE("encoding an already encoded URL changes nothing") {
    auto once = parsed("http://h/a b/%41?x=%20y z");
    auto twice = parsed(once.to_string());
    CHECK(once == twice);
    CHECK(twice.target() == "/a%20b/%41?x=%20y%20z");
}

TEST_CASE("a percent-encoded host is decoded") {
    CHECK(parsed("http://%6c%6fcalhost:1/").host() == "localhost");
}

TEST_CASE("dot segments are removed from the path") {
    CHECK(parsed("http://h/a/b/../c/./d").target() == "/a/c/d");
    CHECK(parsed("http://h/../../x").target() == "/x");
    CHECK(parsed("http://h/a/..").target() == "/");
}

TEST_CASE("https URLs default to port 443 and keep their scheme") {
    const url u = parsed("HTTPS://Example.com/a");
    CHECK(u.is_https());
    CHECK(u.scheme() == "https");
    CHECK(u.port() == 443);
    CHECK(u.authority() == "example.com");
    CHECK(u.to_string() == "https://example.com/a");
    CHECK(parsed("https://h:8443/").authority() == "h:8443");
    CHECK(parsed("https://h:80/").authority() == "h:80");
    CHECK(parsed("http://h:443/").authority() == "h:443");
    // The pool key: a plain and a TLS connection to one host:port never stand in for each other.
    CHECK(parsed("https://h:8080/").origin() == "https://h:8080");
    CHECK(parsed("http://h:8080/").origin() == "http://h:8080");
    CHECK_FALSE(parsed("http://h/").is_https());
}

TEST_CASE("http+unix URLs carry a percent-encoded socket path and send Host: localhost") {
    const url u = parsed("http+unix://%2Ftmp%2Fapp.sock/a/../status?x=1#top");
    CHECK(u.is_unix());
    CHECK_FALSE(u.is_https());
    CHECK(u.unix_socket() == "/tmp/app.sock");
    CHECK(u.scheme() == "http+unix");
    CHECK(u.host() == "localhost");
    CHECK(u.authority() == "localhost");
    CHECK(u.target() == "/status?x=1");
    CHECK(u.to_string() == "http+unix://%2Ftmp%2Fapp.sock/status?x=1");
    // The pool key is the socket: two sockets never share connections.
    CHECK(u.origin() == "http+unix://%2Ftmp%2Fapp.sock");
    CHECK(parsed("HTTP+UNIX://%2fa%2fb.sock").unix_socket() == "/a/b.sock");
    CHECK(parsed("http+unix://%2Fa%2Fb.sock").origin() !=
          parsed("http+unix://%2Fa%2Fc.sock").origin());
    CHECK(parsed("http+unix://relative.sock/").unix_socket() == "relative.sock");
    CHECK(parsed(u.to_string()) == u);
    CHECK_FALSE(parsed("http://h/").is_unix());
    // A relative Location stays on the socket.
    auto next = u.resolve("/other");
    REQUIRE(next.has_value());
    CHECK(next->unix_socket() == "/tmp/app.sock");
    CHECK(next->to_string() == "http+unix://%2Ftmp%2Fapp.sock/other");

    CHECK(refusal("http+unix:///status") == url_errc::invalid_host);
    CHECK(refusal("http+unix://%2Ftmp%ZZ/") == url_errc::invalid_host);
    CHECK(refusal("http+unix://%2Ftmp%00x/") == url_errc::invalid_host);
    CHECK(refusal("http+unix://" + std::string(108, 's') + "/") == url_errc::invalid_host);
    CHECK(refusal("http+unix://user@%2Fs/") == url_errc::userinfo);
    CHECK(refusal("https+unix://%2Fs/") == url_errc::unsupported_scheme);
}

TEST_CASE("malformed and unsupported URLs are refused with the reason") {
    CHECK(refusal("ftp://example.com/") == url_errc::unsupported_scheme);
    CHECK(refusal("example.com/index") == url_errc::not_absolute);
    CHECK(refusal("/index") == url_errc::not_absolute);
    CHECK(refusal("http:/index") == url_errc::not_absolute);
    CHECK(refusal("") == url_errc::not_absolute);
    CHECK(refusal("http://user:pw@host/") == url_errc::userinfo);
    CHECK(refusal("http:///path") == url_errc::invalid_host);
    CHECK(refusal("http://:80/") == url_errc::invalid_host);
    CHECK(refusal("http://ex*ample/") == url_errc::invalid_host);
    CHECK(refusal("http://caf\xc3\xa9.example/") == url_errc::invalid_host);
    CHECK(refusal("http://%zz/") == url_errc::invalid_host);
    CHECK(refusal("http://[::1/") == url_errc::invalid_host);
    CHECK(refusal("http://[::g]/") == url_errc::invalid_host);
    CHECK(refusal("http://[::1]x/") == url_errc::invalid_host);
    CHECK(refusal("http://[fe80::1%25eth0]/") == url_errc::invalid_host);
    CHECK(refusal("http://host:0/") == url_errc::invalid_port);
    CHECK(refusal("http://host:65536/") == url_errc::invalid_port);
    CHECK(refusal("http://host:99999999999999999999/") == url_errc::invalid_port);
    CHECK(refusal("http://host:8a/") == url_errc::invalid_port);
    CHECK(refusal("http://host:-1/") == url_errc::invalid_port);
    CHECK(refusal("http://host:1:2/") == url_errc::invalid_port);
    CHECK(refusal("http://ho st/") == url_errc::invalid_character);
    CHECK(refusal("http://host/a\r\nX-Injected: 1") == url_errc::invalid_character);
    CHECK(refusal(std::string_view("http://host/\0", 13)) == url_errc::invalid_character);
}

TEST_CASE("every url error has its own message and counts as client_failure::url") {
    for (int e = 1; e <= static_cast<int>(url_errc::invalid_character); ++e) {
        const auto code = make_error_code(static_cast<url_errc>(e));
        CHECK(code == snow::http::client_failure::url);
        CHECK_FALSE(code.message().empty());
        if (e > 1) CHECK(code.message() != make_error_code(static_cast<url_errc>(e - 1)).message());
    }
}

TEST_CASE("references resolve against a base as RFC 3986 section 5.4.1 lists") {
    // The normal examples, with the base's scheme http.
    CHECK(resolved("g") == "http://a/b/c/g");
    CHECK(resolved("./g") == "http://a/b/c/g");
    CHECK(resolved("g/") == "http://a/b/c/g/");
    CHECK(resolved("/g") == "http://a/g");
    CHECK(resolved("//g") == "http://g/");
    CHECK(resolved("?y") == "http://a/b/c/d;p?y");
    CHECK(resolved("g?y") == "http://a/b/c/g?y");
    CHECK(resolved("#s") == "http://a/b/c/d;p?q");
    CHECK(resolved("g#s") == "http://a/b/c/g");
    CHECK(resolved("g?y#s") == "http://a/b/c/g?y");
    CHECK(resolved(";x") == "http://a/b/c/;x");
    CHECK(resolved("g;x") == "http://a/b/c/g;x");
    CHECK(resolved("") == "http://a/b/c/d;p?q");
    CHECK(resolved(".") == "http://a/b/c/");
    CHECK(resolved("./") == "http://a/b/c/");
    CHECK(resolved("..") == "http://a/b/");
    CHECK(resolved("../") == "http://a/b/");
    CHECK(resolved("../g") == "http://a/b/g");
    CHECK(resolved("../..") == "http://a/");
    CHECK(resolved("../../") == "http://a/");
    CHECK(resolved("../../g") == "http://a/g");
}

TEST_CASE("references resolve as RFC 3986 section 5.4.2 lists for the abnormal cases") {
    CHECK(resolved("../../../g") == "http://a/g");
    CHECK(resolved("../../../../g") == "http://a/g");
    CHECK(resolved("/./g") == "http://a/g");
    CHECK(resolved("/../g") == "http://a/g");
    CHECK(resolved("g.") == "http://a/b/c/g.");
    CHECK(resolved(".g") == "http://a/b/c/.g");
    CHECK(resolved("g..") == "http://a/b/c/g..");
    CHECK(resolved("..g") == "http://a/b/c/..g");
    CHECK(resolved("./../g") == "http://a/b/g");
    CHECK(resolved("./g/.") == "http://a/b/c/g/");
    CHECK(resolved("g/./h") == "http://a/b/c/g/h");
    CHECK(resolved("g/../h") == "http://a/b/c/h");
    CHECK(resolved("g;x=1/./y") == "http://a/b/c/g;x=1/y");
    CHECK(resolved("g;x=1/../y") == "http://a/b/c/y");
    CHECK(resolved("g?y/./x") == "http://a/b/c/g?y/./x");
    CHECK(resolved("g#s/../x") == "http://a/b/c/g");
}

TEST_CASE("an absolute Location replaces the URL, port and all, and keeps the rules") {
    const url base = parsed("http://a:8012/b");
    CHECK(base.resolve("http://other:81/x y")->to_string() == "http://other:81/x%20y");
    CHECK(base.resolve("//other/x")->port() == 80);
    CHECK(base.resolve("/x")->authority() == "a:8012");
    CHECK(base.resolve("https://a/")->port() == 443);
    CHECK(parsed("https://a/b").resolve("//other/x")->to_string() == "https://other/x");
    CHECK(base.resolve("ftp://a/").error() == url_errc::unsupported_scheme);
    CHECK(base.resolve("x\ny").error() == url_errc::invalid_character);
    CHECK(base.resolve("new page")->target() == "/new%20page");
}

TEST_SUITE_END();
