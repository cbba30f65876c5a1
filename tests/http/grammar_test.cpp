// tests/http/grammar_test.cpp: the shared rules of snow/http/grammar.hpp on their own: character
// classes, hex digits, lists, the `close` connection option, schemes and the host grammar.
#include "snow/http/grammar.hpp"

#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <vector>

namespace {
using namespace snow::http;
using views = std::vector<std::string_view>;

views elements_of(std::string_view list) {
    views out;
    for_each_list_element(list, [&out](std::string_view element) {
        out.push_back(element);
        return true;
    });
    return out;
}

ipv6_bytes ipv6_of(std::initializer_list<int> bytes) {
    ipv6_bytes out{};
    std::size_t i = 0;
    for (int b : bytes) out[i++] = static_cast<std::uint8_t>(b);
    return out;
}
} // namespace

TEST_SUITE_BEGIN("http.grammar");

TEST_CASE("hex_value reads both cases of every hex digit and refuses the bytes around them") {
    CHECK(hex_value('0') == 0);
    CHECK(hex_value('9') == 9);
    CHECK(hex_value('a') == 10);
    CHECK(hex_value('A') == 10);
    CHECK(hex_value('f') == 15);
    CHECK(hex_value('F') == 15);
    for (char c : std::string_view("/:@G`g \x7f\x80\xc1\xe1"))
        CHECK_MESSAGE(hex_value(c) == -1, "byte ", static_cast<int>(static_cast<unsigned char>(c)));
    for (int c = 0; c < 256; ++c) {
        const char byte = static_cast<char>(c);
        CHECK(is_hex_digit(byte) == (hex_value(byte) >= 0));
    }
}

TEST_CASE("the character classes follow RFC 9110") {
    for (char c : std::string_view("!#$%&'*+-.^_`|~09azAZ")) CHECK(is_tchar(c));
    for (char c : std::string_view("\"(),/:;<=>?@[\\]{} \t\x80")) CHECK_FALSE(is_tchar(c));
    CHECK(is_field_char('\t'));
    CHECK(is_field_char(' '));
    CHECK(is_field_char('\x80')); // obs-text
    CHECK(is_field_char('\xff'));
    CHECK_FALSE(is_field_char('\0'));
    CHECK_FALSE(is_field_char('\r'));
    CHECK_FALSE(is_field_char('\x7f'));
    CHECK(is_qdtext('a'));
    CHECK(is_qdtext('\x80'));
    CHECK_FALSE(is_qdtext('"'));
    CHECK_FALSE(is_qdtext('\\'));
    CHECK(is_control('\x1f'));
    CHECK(is_control('\x7f'));
    CHECK_FALSE(is_control(' '));
    CHECK(is_ows(' '));
    CHECK(is_ows('\t'));
    CHECK_FALSE(is_ows('\r'));
}

TEST_CASE("token_is folds only the case of letters") {
    CHECK(token_is("Content-Length", "content-length"));
    CHECK(token_is("HOST", "host"));
    CHECK_FALSE(token_is("hos", "host"));
    CHECK_FALSE(token_is("hostx", "host"));
    CHECK(iequals("Keep-Alive", "keep-alive"));
}

TEST_CASE("list elements are trimmed of OWS and empty ones are skipped") {
    CHECK(elements_of("a,b") == views{"a", "b"});
    CHECK(elements_of(" a ,, b\t,\t,c ") == views{"a", "b", "c"});
    CHECK(elements_of("") == views{});
    CHECK(elements_of(" , ,,\t") == views{});
    CHECK(elements_of("a b , c") == views{"a b", "c"});
    CHECK(for_each_list_element("a, b, c", [](std::string_view e) { return e != "b"; }) == 2);
}

TEST_CASE("list_contains matches whole elements, case-insensitively") {
    CHECK(list_contains("gzip, chunked", "chunked"));
    CHECK(list_contains("gzip,CHUNKED", "chunked"));
    CHECK_FALSE(list_contains("gzip, chunked", "chunk"));
    CHECK_FALSE(list_contains("chunkedx", "chunked"));
    CHECK_FALSE(list_contains("", "chunked"));
}

TEST_CASE("has_close_option finds the close token and nothing that merely contains it") {
    CHECK(has_close_option("close"));
    CHECK(has_close_option("Close"));
    CHECK(has_close_option("CLOSE"));
    CHECK(has_close_option("keep-alive, close"));
    CHECK(has_close_option("keep-alive,,\tclose "));
    CHECK(has_close_option("close, keep-alive"));
    CHECK_FALSE(has_close_option("closeable"));
    CHECK_FALSE(has_close_option("x-close"));
    CHECK_FALSE(has_close_option("keep-alive, closeable"));
    CHECK_FALSE(has_close_option("keep-alive"));
    CHECK_FALSE(has_close_option("clos"));
    CHECK_FALSE(has_close_option("\"close\""));
    CHECK_FALSE(has_close_option(""));
}

TEST_CASE("a scheme starts with a letter and holds letters, digits, + - .") {
    CHECK(is_scheme("http"));
    CHECK(is_scheme("HTTPS"));
    CHECK(is_scheme("svn+ssh"));
    CHECK(is_scheme("a1.b-c"));
    CHECK_FALSE(is_scheme(""));
    CHECK_FALSE(is_scheme("1http"));
    CHECK_FALSE(is_scheme("ht_tp"));
}

TEST_CASE("reg-names allow unreserved, sub-delims and percent escapes") {
    CHECK(is_reg_name("example.com"));
    CHECK(is_reg_name("")); // an empty host is a valid reg-name
    CHECK(is_reg_name("a-b_c~d!$&'()*+,;="));
    CHECK(is_reg_name("ex%41mple"));
    CHECK_FALSE(is_reg_name("ex%4"));
    CHECK_FALSE(is_reg_name("ex%zz"));
    CHECK_FALSE(is_reg_name("exa mple"));
    CHECK_FALSE(is_reg_name("a:b"));
    CHECK_FALSE(is_reg_name("a@b"));
}

TEST_CASE("IPv4 addresses are four decimal octets without leading zeros") {
    CHECK(is_ipv4_address("192.168.0.1"));
    CHECK(is_ipv4_address("0.0.0.0"));
    CHECK(is_ipv4_address("255.255.255.255"));
    CHECK_FALSE(is_ipv4_address("256.0.0.1"));
    CHECK_FALSE(is_ipv4_address("01.2.3.4"));
    CHECK_FALSE(is_ipv4_address("1.2.3"));
    CHECK_FALSE(is_ipv4_address("1.2.3.4.5"));
    CHECK_FALSE(is_ipv4_address("1.2.3.4."));
    CHECK_FALSE(is_ipv4_address("1..3.4"));
    CHECK_FALSE(is_ipv4_address("1.2.3.a"));
}

TEST_CASE("IPv6 addresses parse to their bytes") {
    CHECK(parse_ipv6_address("::") == ipv6_bytes{});
    CHECK(parse_ipv6_address("::1") == ipv6_of({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
    CHECK(parse_ipv6_address("0:0:0:0:0:0:0:1") == parse_ipv6_address("::1"));
    CHECK(parse_ipv6_address("2001:DB8::a") ==
          ipv6_of({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a}));
    CHECK(parse_ipv6_address("1::") == ipv6_of({0, 1}));
    CHECK(parse_ipv6_address("1:2:3:4:5:6:7::") ==
          ipv6_of({0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 0}));
    CHECK(parse_ipv6_address("::2:3:4:5:6:7:8") ==
          ipv6_of({0, 0, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8}));
    CHECK(parse_ipv6_address("::ffff:192.0.2.1") ==
          ipv6_of({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1}));
    CHECK(parse_ipv6_address("1:2:3:4:5:6:1.2.3.4").has_value());

    for (std::string_view bad : {"",
                                 ":",
                                 ":::",
                                 "1",
                                 "1:2:3:4:5:6:7",
                                 "1:2:3:4:5:6:7:8:9",
                                 "1:2:3:4:5:6:7:8::",
                                 "1::2::3",
                                 ":1::",
                                 "1:",
                                 "1::2:",
                                 "12345::",
                                 "::g",
                                 "::1.2.3",
                                 "1.2.3.4::",
                                 "1:2:3:4:5:6:7:1.2.3.4",
                                 "::01.2.3.4",
                                 "fe80::1%eth0",
                                 "fe80::1%25eth0",
                                 "[::1]"})
        CHECK_FALSE_MESSAGE(parse_ipv6_address(bad).has_value(), bad);
}

TEST_CASE("IP literals are IPv6 addresses or IPvFuture") {
    CHECK(is_ip_literal("::1"));
    CHECK(is_ip_literal("v1.fe80::a+en1"));
    CHECK(is_ip_literal("VF.x"));
    CHECK_FALSE(is_ip_literal("v.x"));
    CHECK_FALSE(is_ip_literal("v1."));
    CHECK_FALSE(is_ip_literal("v1"));
    CHECK_FALSE(is_ip_literal("vg.x"));
    CHECK_FALSE(is_ip_literal("v1.a/b"));
    CHECK_FALSE(is_ip_literal("127.0.0.1"));
}

TEST_CASE("a host and port is a reg-name, IPv4 or [IP-literal] with an optional port") {
    for (std::string_view good :
         {"example.com", "example.com:8080", "127.0.0.1", "127.0.0.1:80", "[::1]", "[::1]:8080",
          "[2001:db8::1]", "[v1.x]:1", "", "example.com:", "ex%41mple"})
        CHECK_MESSAGE(is_host_and_port(good, port_rule::optional), good);
    for (std::string_view bad :
         {"exa mple.com", "example.com:http", "example.com:80:80", "a:b:c", "[::1", "[::g]",
          "[::1]x", "[::1]:x", "[fe80::1%25eth0]", "user@example.com", "ex%4"})
        CHECK_FALSE_MESSAGE(is_host_and_port(bad, port_rule::optional), bad);
}

TEST_CASE("CONNECT's authority-form requires a port") {
    CHECK(is_host_and_port("example.com:443", port_rule::required));
    CHECK(is_host_and_port("[::1]:443", port_rule::required));
    CHECK_FALSE(is_host_and_port("example.com", port_rule::required));
    CHECK_FALSE(is_host_and_port("example.com:", port_rule::required));
    CHECK_FALSE(is_host_and_port("[::1]", port_rule::required));
}

TEST_SUITE_END();
