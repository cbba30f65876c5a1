// tests/http/client/socks_test.cpp: the client through a SOCKS5 proxy the test runs on
// loopback: names the proxy resolves (socks5h) or the client does (socks5), https with the
// origin's certificate checked through the tunnel, the username/password method, and the
// proxy's refusals as connect failures that name the reason.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "http/support/canned_server.hpp"
#include "snow/core/task_group.hpp"
#include "snow/core/when_all.hpp"
#include "snow/http/client/client.hpp"
#include "snow/net/socks5.hpp"
#include "snow/net/tcp_listener.hpp"
#include "snow/net/tcp_stream.hpp"
#include "support/run_test.hpp"
#include "support/test_certificates.hpp"

using namespace snow;
using http::client;
using testing::canned_server;
using testing::run_test;

TEST_SUITE_BEGIN("http.client.proxy");

namespace {

const std::string hi = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";

/// A SOCKS5 proxy (RFC 1928) for CONNECT, with the username/password method (RFC 1929) when
/// it is given a login. It records each destination as "name:host:port" or "ip:addr:port",
/// resolves the name "origin.test" to 127.0.0.1 (no resolver here knows it), and answers
/// with `refusal` instead of connecting when that is set.
class test_socks {
public:
    test_socks(std::string username, std::string password, std::uint8_t refusal)
        : listener_(net::tcp_listener::bind("127.0.0.1:0").value())
        , username_(std::move(username))
        , password_(std::move(password))
        , refusal_(refusal) {
        group_.spawn(accept_loop());
    }
    test_socks() : test_socks({}, {}, 0) {}
    ~test_socks() { group_.cancel(); }
    std::string url(std::string_view scheme, std::string_view login) const {
        return fmt::format("{}://{}127.0.0.1:{}", scheme, login, listener_.local_address().port());
    }
    const std::vector<std::string>& destinations() const { return destinations_; }
    task<void> stop() {
        group_.cancel();
        co_await group_.join();
    }

private:
    task<void> accept_loop() {
        for (;;) {
            auto c = co_await listener_.accept();
            if (!c) co_return;
            group_.spawn(handle(std::move(*c)));
        }
    }

    static task<bool> read_exact(net::tcp_stream& c, std::span<std::byte> into) {
        std::size_t got = 0;
        while (got < into.size()) {
            auto n = co_await c.recv(into.subspan(got));
            if (!n || *n == 0) co_return false;
            got += *n;
        }
        co_return true;
    }
    static task<std::string> read_text(net::tcp_stream& c, std::size_t length) {
        std::string text(length, '\0');
        const bool read = co_await read_exact(c, std::as_writable_bytes(std::span(text)));
        if (!read) text.clear();
        co_return text;
    }
    static task<void> copy(net::tcp_stream& from, net::tcp_stream& to) {
        std::array<std::byte, 4096> buffer{};
        for (;;) {
            auto n = co_await from.recv(buffer);
            if (!n || *n == 0) break;
            auto sent = co_await to.send_all(std::span<const std::byte>(buffer.data(), *n));
            if (!sent) break;
        }
        (void)co_await to.shutdown();
    }
    static std::uint8_t byte(std::byte b) { return static_cast<std::uint8_t>(b); }

    /// Sends `bytes`. Each message is built in a named string first: GCC 12 miscompiles a
    /// braced list inside a co_await expression.
    static task<bool> send(net::tcp_stream& c, std::string bytes) {
        auto sent = co_await c.send_all(bytes);
        co_return sent.has_value();
    }
    static std::string bytes(std::initializer_list<int> values) {
        std::string out;
        for (const int v : values) out.push_back(static_cast<char>(v));
        return out;
    }

    task<void> handle(net::tcp_stream c) {
        std::array<std::byte, 2> greeting{};
        const bool greeted = co_await read_exact(c, greeting);
        if (!greeted || byte(greeting[0]) != 5) co_return;
        const std::string methods = co_await read_text(c, byte(greeting[1]));
        const int wanted = username_.empty() ? 0 : 2;
        if (methods.find(static_cast<char>(wanted)) == std::string::npos) {
            const std::string no_method = bytes({5, 0xff});
            (void)co_await send(c, no_method);
            co_return;
        }
        const std::string choice = bytes({5, wanted});
        const bool chose = co_await send(c, choice);
        if (!chose) co_return;
        if (wanted == 2) {
            std::array<std::byte, 2> head{};
            const bool got_head = co_await read_exact(c, head);
            if (!got_head) co_return;
            const std::string user = co_await read_text(c, byte(head[1]));
            std::array<std::byte, 1> length{};
            const bool got_length = co_await read_exact(c, length);
            if (!got_length) co_return;
            const std::string pass = co_await read_text(c, byte(length[0]));
            const bool ok = user == username_ && pass == password_;
            const std::string login_status = bytes({1, ok ? 0 : 1});
            const bool answered = co_await send(c, login_status);
            if (!ok || !answered) co_return;
        }
        std::array<std::byte, 4> request{};
        const bool got_request = co_await read_exact(c, request);
        if (!got_request || byte(request[1]) != 1) co_return;
        std::string host;
        std::string record;
        if (byte(request[3]) == 3) {
            std::array<std::byte, 1> length{};
            const bool got_length = co_await read_exact(c, length);
            if (!got_length) co_return;
            host = co_await read_text(c, byte(length[0]));
            record = "name:" + host;
        } else if (byte(request[3]) == 1) {
            const std::string ip = co_await read_text(c, 4);
            if (ip.size() != 4) co_return;
            host = fmt::format("{}.{}.{}.{}", std::uint8_t(ip[0]), std::uint8_t(ip[1]),
                               std::uint8_t(ip[2]), std::uint8_t(ip[3]));
            record = "ip:" + host;
        } else {
            const std::string ip = co_await read_text(c, 16);
            host = "::1"; // the only IPv6 destination these tests could name
            record = "ip6:" + std::to_string(ip.size());
        }
        const std::string port_bytes = co_await read_text(c, 2);
        if (port_bytes.size() != 2) co_return;
        const auto port = static_cast<std::uint16_t>(std::uint8_t(port_bytes[0]) << 8 |
                                                     std::uint8_t(port_bytes[1]));
        destinations_.push_back(fmt::format("{}:{}", record, port));
        if (refusal_ != 0) {
            const std::string refused = bytes({5, refusal_, 0, 1, 0, 0, 0, 0, 0, 0});
            (void)co_await send(c, refused);
            co_return;
        }
        if (host == "origin.test") host = "127.0.0.1";
        auto upstream = co_await net::tcp_stream::connect(host, port);
        if (!upstream) {
            const std::string unreachable = bytes({5, 5, 0, 1, 0, 0, 0, 0, 0, 0});
            (void)co_await send(c, unreachable);
            co_return;
        }
        // Bound to 127.0.0.1:1080, as a proxy reports the address it connected from.
        const std::string connected = bytes({5, 0, 0, 1, 127, 0, 0, 1, 4, 56});
        const bool ok = co_await send(c, connected);
        if (!ok) co_return;
        co_await when_all(copy(c, *upstream), copy(*upstream, c));
    }

    net::tcp_listener listener_;
    std::string username_;
    std::string password_;
    std::uint8_t refusal_;
    std::vector<std::string> destinations_;
    task_group group_;
};

net::tls_context server_tls() {
    const auto& pki = testing::shared_certificates();
    return net::tls_context::server({.certificate_file = pki.certificate_file("server"),
                                     .key_file = pki.key_file("server")})
        .value();
}

} // namespace

TEST_CASE("socks5h: the proxy resolves the server's name, the request goes in origin form") {
    run_test([]() -> task<void> {
        canned_server server(hi, std::nullopt);
        test_socks proxy;
        http::client_options options;
        options.proxy.http = proxy.url("socks5h", "");
        client http(options);
        // No resolver here knows origin.test: only the proxy can reach it.
        const std::string target = fmt::format("http://origin.test:{}/one", server.port());
        auto first = co_await http.get(target);
        REQUIRE_MESSAGE(first.has_value(), (first ? std::string() : first.error().message()));
        CHECK(first->body == "hi");
        auto second = co_await http.get(target);
        REQUIRE(second);
        CHECK(second->timings.reused_connection);
        REQUIRE(proxy.destinations().size() == 1);
        CHECK(proxy.destinations()[0] == fmt::format("name:origin.test:{}", server.port()));
        co_await proxy.stop();
        co_await server.stop();
    }());
}

TEST_CASE("socks5: the client resolves the name and sends the proxy an address") {
    run_test([]() -> task<void> {
        canned_server server(hi, std::nullopt);
        test_socks proxy;
        http::client_options options;
        options.proxy.http = proxy.url("socks5", "");
        client http(options);
        auto r = co_await http.get(fmt::format("http://127.0.0.1:{}/", server.port()));
        REQUIRE_MESSAGE(r.has_value(), (r ? std::string() : r.error().message()));
        CHECK(r->body == "hi");
        REQUIRE(proxy.destinations().size() == 1);
        CHECK(proxy.destinations()[0] == fmt::format("ip:127.0.0.1:{}", server.port()));
        co_await proxy.stop();
        co_await server.stop();
    }());
}

TEST_CASE("https through SOCKS5, the origin's certificate checked end to end") {
    run_test([]() -> task<void> {
        canned_server server(hi, server_tls());
        test_socks proxy;
        http::client_options options;
        options.tls.ca_file = testing::shared_certificates().ca_file();
        options.proxy.https = proxy.url("socks5h", "");
        client http(options);
        auto r = co_await http.get(fmt::format("https://localhost:{}/secret", server.port()));
        REQUIRE_MESSAGE(r.has_value(), (r ? std::string() : r.error().message()));
        CHECK(r->body == "hi");
        REQUIRE(proxy.destinations().size() == 1);
        CHECK(proxy.destinations()[0] == fmt::format("name:localhost:{}", server.port()));
        co_await proxy.stop();
        co_await server.stop();
    }());
}

TEST_CASE("a SOCKS5 login is sent when the proxy asks; a wrong one is refused") {
    run_test([]() -> task<void> {
        canned_server server(hi, std::nullopt);
        test_socks proxy("alice", "s3cret", 0);
        const std::string target = fmt::format("http://127.0.0.1:{}/", server.port());

        http::client_options options;
        options.proxy.http = proxy.url("socks5h", "alice:s3cret@");
        client http(options);
        auto r = co_await http.get(target);
        REQUIRE_MESSAGE(r.has_value(), (r ? std::string() : r.error().message()));
        CHECK(r->body == "hi");

        http::client_options wrong;
        wrong.proxy.http = proxy.url("socks5h", "alice:guess@");
        client refused(wrong);
        auto denied = co_await refused.get(target);
        REQUIRE_FALSE(denied);
        CHECK(denied.error() == net::socks5_errc::authentication_failed);
        CHECK(denied.error() == http::client_failure::connect);

        http::client_options none;
        none.proxy.http = proxy.url("socks5h", "");
        client anonymous(none);
        auto unoffered = co_await anonymous.get(target);
        REQUIRE_FALSE(unoffered);
        CHECK(unoffered.error() == net::socks5_errc::no_acceptable_method);
        co_await proxy.stop();
        co_await server.stop();
    }());
}

TEST_CASE("the proxy's refusal is a connect failure naming its reason") {
    run_test([]() -> task<void> {
        test_socks proxy({}, {}, 5);
        http::client_options options;
        options.proxy.http = proxy.url("socks5h", "");
        client http(options);
        auto r = co_await http.get("http://origin.test:9/");
        REQUIRE_FALSE(r);
        CHECK(r.error() == net::socks5_errc::connection_refused);
        CHECK(r.error() == http::client_failure::connect);
        CHECK(r.error().message() == "the destination refused the SOCKS5 proxy's connection");
        http::client_options bad;
        bad.proxy.http = "socks4://127.0.0.1:1080";
        client misconfigured(bad);
        auto u = co_await misconfigured.get("http://127.0.0.1:9/");
        REQUIRE_FALSE(u);
        CHECK(u.error() == http::client_failure::url);
        co_await proxy.stop();
    }());
}

TEST_SUITE_END();
