// tests/http/server/tls_test.cpp: the server over TLS, with a PKI made at test time: requests
// from snow's verifying client on a kept-alive connection, streamed and large bodies, a half
// ClientHello cut off at the head deadline, a client over the handshake cap waiting its
// turn (and turned away by a graceful stop), plain HTTP on the TLS port refused without harm to
// others, a graceful stop that closes an idle TLS connection at once, and a client's
// close_notify answered with the server's.
#include "snow/http/server/server.hpp"

#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "snow/core/when_all.hpp"
#include "snow/http/client/client.hpp"
#include "support/test_certificates.hpp"

#include "http/support/server_fixture.hpp"
#include "http/support/tls_client.hpp"

using namespace snow;
using namespace snow::testing;
using namespace std::chrono_literals;

TEST_SUITE_BEGIN("http.server.tls");

namespace {

http::server_options tls_options() {
    http::server_options options = test_options();
    options.tls_certificate_file = shared_certificates().certificate_file("server");
    options.tls_key_file = shared_certificates().key_file("server");
    return options;
}

http::client_options trusting_client() {
    http::client_options options;
    options.tls.ca_file = shared_certificates().ca_file();
    return options;
}

} // namespace

TEST_CASE("an HTTPS server answers a verifying client on one kept-alive connection") {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, tls_options(), [](net::address at) -> task<void> {
        http::client client(trusting_client());
        const auto base = fmt::format("https://localhost:{}", at.port());
        for (int i = 0; i < 3; ++i) {
            auto r = co_await client.get(base + "/hello");
            REQUIRE(r);
            CHECK(r->status == 200);
            CHECK(r->body == "hello");
        }
        auto streamed = co_await client.get(base + "/stream");
        REQUIRE(streamed);
        CHECK(streamed->body == "onetwothree");
        const std::string big(300 * 1024, 'x');
        auto echoed = co_await client.post(base + "/echo", big);
        REQUIRE(echoed);
        CHECK(echoed->body == big);
    });
    CHECK(srv.stats().connections_accepted.load() == 1);
    CHECK(srv.stats().requests.load() == 5);
}

TEST_CASE("a half ClientHello is cut off at the head deadline") {
    probe p;
    http::server srv(test_routes(p));
    auto options = tls_options();
    options.header_timeout = 100ms;
    run_server_test(srv, options, [](net::address at) -> task<void> {
        auto raw = co_await connect_to(at);
        REQUIRE(co_await raw.send(std::string("\x16\x03\x01\x02\x00\x01", 6)));
        CHECK(co_await raw.closed(3s));
    });
    CHECK(srv.stats().timeouts.load() == 1);
}

TEST_CASE("over the handshake cap a client waits, and completes once the stalled one is cut off") {
    probe p;
    http::server srv(test_routes(p));
    auto options = tls_options();
    options.header_timeout = 300ms;
    options.max_concurrent_handshakes = 1;
    std::vector<std::string> order;
    run_server_test(srv, options, [&srv, &order](net::address at) -> task<void> {
        // Half a ClientHello takes the one place, and keeps it until its deadline.
        auto stalled = co_await connect_to(at);
        REQUIRE(co_await stalled.send(std::string("\x16\x03\x01\x02\x00\x01", 6)));
        REQUIRE(
            co_await eventually([&srv] { return srv.stats().connections_accepted.load() == 1; }));
        auto second = [](net::address to, std::vector<std::string>& seen) -> task<bool> {
            auto s = co_await open_tls(to, trusting_context(shared_certificates().ca_file()),
                                       "localhost");
            seen.push_back(s ? "second handshake done" : "second handshake failed");
            if (!s) co_return false;
            co_return co_await says_hello(*s);
        };
        auto first = [](http::server& server, raw_client& c,
                        std::vector<std::string>& seen) -> task<bool> {
            const bool queued = co_await eventually(
                [&server] { return server.stats().handshakes_waiting.load() == 1; });
            seen.push_back(queued ? "second waits" : "second never queued");
            const bool closed = co_await c.closed(3s);
            seen.push_back(closed ? "stalled one cut off" : "stalled one still open");
            co_return closed;
        };
        auto [answered, cut_off] = co_await when_all(second(at, order), first(srv, stalled, order));
        CHECK(answered);
        CHECK(cut_off);
    });
    const std::vector<std::string> expected{"second waits", "stalled one cut off",
                                            "second handshake done"};
    CHECK(order == expected);
    CHECK(srv.stats().timeouts.load() == 1);
    CHECK(srv.stats().handshakes_waiting.load() == 0);
    CHECK(srv.stats().requests.load() == 1);
}

TEST_CASE("a graceful stop closes the connections waiting for a handshake at once") {
    probe p;
    http::server srv(test_routes(p));
    auto options = tls_options();
    options.header_timeout = 5s;
    options.max_concurrent_handshakes = 1;
    std::vector<std::string> order;
    run_server_test(srv, options, [&srv, &order](net::address at) -> task<void> {
        const std::string half_hello("\x16\x03\x01\x02\x00\x01", 6);
        auto holder = co_await connect_to(at);
        REQUIRE(co_await holder.send(half_hello));
        REQUIRE(
            co_await eventually([&srv] { return srv.stats().connections_accepted.load() == 1; }));
        auto waiter = co_await connect_to(at);
        REQUIRE(co_await waiter.send(half_hello));
        REQUIRE(co_await eventually([&srv] { return srv.stats().handshakes_waiting.load() == 1; }));
        srv.stop();
        auto watch = [](raw_client& c, std::vector<std::string>& seen,
                        std::string name) -> task<bool> {
            const bool closed = co_await c.closed(4s);
            seen.push_back(name);
            co_return closed;
        };
        // The one mid-handshake is not idle: it ends only at the drain's hard stop.
        auto [waiter_closed, holder_closed] =
            co_await when_all(watch(waiter, order, "waiter"), watch(holder, order, "holder"));
        CHECK(waiter_closed);
        CHECK(holder_closed);
    });
    const std::vector<std::string> expected{"waiter", "holder"};
    CHECK(order == expected);
    CHECK(srv.stats().handshakes_waiting.load() == 0);
}

TEST_CASE("plain HTTP on the TLS port is refused, and TLS clients are served meanwhile") {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, tls_options(), [](net::address at) -> task<void> {
        auto plain = co_await connect_to(at);
        REQUIRE(co_await plain.send(get("/hello")));
        CHECK(co_await plain.closed(3s));
        http::client client(trusting_client());
        auto r = co_await client.get(fmt::format("https://127.0.0.1:{}/hello", at.port()));
        REQUIRE(r);
        CHECK(r->body == "hello");
    });
}

TEST_CASE("a graceful stop closes an idle TLS connection at once") {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, tls_options(), [&srv](net::address at) -> task<void> {
        http::client client(trusting_client());
        auto r = co_await client.get(fmt::format("https://localhost:{}/hello", at.port()));
        REQUIRE(r);
        REQUIRE(client.idle_connections() == 1);
        const auto asked = std::chrono::steady_clock::now();
        srv.stop();
        CHECK(co_await eventually([&srv] { return srv.stats().connections_open.load() == 0; }, 2s));
        CHECK(std::chrono::steady_clock::now() - asked < 1s);
    });
}

TEST_CASE("a client's close_notify is answered with the server's, not a bare FIN") {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, tls_options(), [](net::address at) -> task<void> {
        auto context = trusting_context(shared_certificates().ca_file());
        auto s = co_await open_tls(at, std::move(context), "localhost");
        REQUIRE(s);
        const bool hello = co_await says_hello(*s);
        CHECK(hello);
        auto closed = co_await s->shutdown(); // close_notify, then FIN
        CHECK(closed);
        std::array<std::byte, 64> buffer{};
        auto end = co_await s->recv(buffer); // 0 only after the server's close_notify
        REQUIRE(end.has_value());
        CHECK(*end == 0);
    });
}

TEST_CASE("a certificate that cannot be loaded stops run() before it serves") {
    auto options = test_options();
    options.tls_certificate_file = "/nonexistent/cert.pem";
    options.tls_key_file = "/nonexistent/key.pem";
    options.port = 0;
    options.handle_signals = false;
    http::server app;
    app.get("/", [](const http::request&) { return http::text("hi"); });
    CHECK(app.run(options) == 1);
}

TEST_SUITE_END();
