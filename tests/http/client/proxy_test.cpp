// tests/http/client/proxy_test.cpp: the client through a forward proxy the test runs on
// loopback: plain requests in absolute form over shared proxy connections, https through a
// CONNECT tunnel with the origin's certificate checked end to end, a refused tunnel, no_proxy,
// and the environment variables.
#include "snow/http/client/client.hpp"

#include <doctest/doctest.h>
#include <stdlib.h>

#include <array>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "http/support/canned_server.hpp"
#include "snow/core/task_group.hpp"
#include "snow/core/when_all.hpp"
#include "snow/net/tcp_listener.hpp"
#include "snow/net/tcp_stream.hpp"
#include "support/run_test.hpp"
#include "support/test_certificates.hpp"

using namespace snow;
using namespace std::chrono_literals;
using http::client;
using testing::canned_server;
using testing::run_test;

TEST_SUITE_BEGIN("http.client.proxy");

namespace {

const std::string hi = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";

/// A forward proxy: CONNECT opens a tunnel to the authority named (or is refused, when the
/// proxy is told to refuse); any other request is relayed, bytes as they come, to the server
/// its absolute-form target names. It records each request line it handled.
class test_proxy {
public:
    explicit test_proxy(bool refuse_tunnels = false)
        : listener_(net::tcp_listener::bind("127.0.0.1:0").value())
        , refuse_(refuse_tunnels) {
        group_.spawn(accept_loop());
    }
    ~test_proxy() { group_.cancel(); }
    std::string url() const {
        return fmt::format("http://127.0.0.1:{}", listener_.local_address().port());
    }
    const std::vector<std::string>& request_lines() const { return lines_; }
    int connections() const noexcept { return connections_; }
    task<void> stop() {
        group_.cancel();
        co_await group_.join();
    }

private:
    task<void> accept_loop() {
        for (;;) {
            auto c = co_await listener_.accept();
            if (!c) co_return;
            ++connections_;
            group_.spawn(handle(std::move(*c)));
        }
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

    task<void> handle(net::tcp_stream c) {
        std::string head;
        std::byte one[1];
        while (!head.ends_with("\r\n\r\n")) {
            auto n = co_await c.recv(one);
            if (!n || *n == 0) co_return;
            head.push_back(static_cast<char>(one[0]));
        }
        const std::string line = head.substr(0, head.find("\r\n"));
        lines_.push_back(line);
        std::string authority;
        if (line.starts_with("CONNECT ")) {
            if (refuse_) {
                (void)co_await c.send_all("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
                co_return;
            }
            authority = line.substr(8, line.find(' ', 8) - 8);
        } else {
            const auto start = line.find("http://") + 7;
            authority = line.substr(start, line.find('/', start) - start);
        }
        auto upstream = co_await net::tcp_stream::connect(
            authority.substr(0, authority.rfind(':')),
            static_cast<std::uint16_t>(std::stoi(authority.substr(authority.rfind(':') + 1))));
        if (!upstream) co_return;
        if (line.starts_with("CONNECT ")) {
            auto ok = co_await c.send_all("HTTP/1.1 200 Connection established\r\n\r\n");
            if (!ok) co_return;
        } else {
            auto forwarded = co_await upstream->send_all(head);
            if (!forwarded) co_return;
        }
        co_await when_all(copy(c, *upstream), copy(*upstream, c));
    }

    net::tcp_listener listener_;
    bool refuse_;
    std::vector<std::string> lines_;
    int connections_ = 0;
    task_group group_;
};

net::tls_context server_tls() {
    const auto& pki = testing::shared_certificates();
    return net::tls_context::server({.certificate_file = pki.certificate_file("server"),
                                     .key_file = pki.key_file("server")})
        .value();
}

} // namespace

TEST_CASE("plain http through a proxy: absolute-form targets, the proxy's connection reused") {
    run_test([]() -> task<void> {
        canned_server server(hi, std::nullopt);
        test_proxy proxy;
        http::client_options options;
        options.proxy.http = proxy.url();
        client http(options);
        const std::string target = fmt::format("http://127.0.0.1:{}/one", server.port());
        auto first = co_await http.get(target);
        REQUIRE_MESSAGE(first.has_value(), (first ? std::string() : first.error().message()));
        CHECK(first->body == "hi");
        auto second = co_await http.get(target);
        REQUIRE(second);
        CHECK(second->timings.reused_connection);
        // The proxy relays its connection to the first request's server from then on, so
        // it parsed one request line; both requests went over its one connection.
        REQUIRE(proxy.request_lines().size() == 1);
        CHECK(proxy.request_lines()[0] == "GET " + target + " HTTP/1.1");
        CHECK(proxy.connections() == 1);
        CHECK(server.accepted() == 1);
        co_await proxy.stop();
        co_await server.stop();
    }());
}

TEST_CASE("https through a CONNECT tunnel, the origin's certificate checked end to end") {
    run_test([]() -> task<void> {
        canned_server server(hi, server_tls());
        test_proxy proxy;
        http::client_options options;
        options.tls.ca_file = testing::shared_certificates().ca_file();
        options.proxy.https = proxy.url();
        client http(options);
        auto r = co_await http.get(fmt::format("https://localhost:{}/secret", server.port()));
        REQUIRE_MESSAGE(r.has_value(), (r ? std::string() : r.error().message()));
        CHECK(r->body == "hi");
        REQUIRE(proxy.request_lines().size() == 1);
        // The proxy sees where the tunnel goes, never the request inside it.
        CHECK(proxy.request_lines()[0] ==
              fmt::format("CONNECT localhost:{} HTTP/1.1", server.port()));
        co_await proxy.stop();
        co_await server.stop();
    }());
}

TEST_CASE("a refused tunnel is a connect failure; a bad proxy URL a url failure") {
    run_test([]() -> task<void> {
        test_proxy refusing(true);
        http::client_options options;
        options.proxy.https = refusing.url();
        client http(options);
        auto r = co_await http.get("https://localhost:9/");
        REQUIRE_FALSE(r);
        CHECK(r.error() == http::client_error::proxy_refused);
        CHECK(r.error() == http::client_failure::connect);
        http::client_options bad;
        bad.proxy.http = "https://127.0.0.1:1";
        client misconfigured(bad);
        auto u = co_await misconfigured.get("http://127.0.0.1:9/");
        REQUIRE_FALSE(u);
        CHECK(u.error() == http::client_failure::url);
        co_await refusing.stop();
    }());
}

TEST_CASE("no_proxy sends a matching host directly; the environment variables are read") {
    run_test([]() -> task<void> {
        canned_server server(hi, std::nullopt);
        test_proxy proxy;
        http::client_options options;
        options.proxy.http = proxy.url();
        options.proxy.no_proxy = {"example.com", "127.0.0.1"};
        client http(options);
        auto r = co_await http.get(fmt::format("http://127.0.0.1:{}/", server.port()));
        REQUIRE(r);
        CHECK(proxy.request_lines().empty());
        co_await proxy.stop();
        co_await server.stop();
    }());
    ::setenv("http_proxy", "http://proxy.test:3128", 1);
    ::setenv("HTTPS_PROXY", "proxy.test:3129", 1);
    ::setenv("no_proxy", "localhost,.internal", 1);
    const auto p = http::proxy_options::from_environment();
    ::unsetenv("http_proxy");
    ::unsetenv("HTTPS_PROXY");
    ::unsetenv("no_proxy");
    CHECK(p.http == "http://proxy.test:3128");
    CHECK(p.https == "proxy.test:3129");
    REQUIRE(p.no_proxy.size() == 2);
    CHECK(p.no_proxy[1] == ".internal");
}

TEST_SUITE_END();
