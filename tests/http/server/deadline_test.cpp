// tests/http/server/deadline_test.cpp: the server's deadlines: header_timeout (slowloris and
// silent connections), body_timeout, idle_timeout and write_timeout, each cutting off its
// connection, with 408 where an answer is due.
#include "snow/http/server/server.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>

#include "snow/core/when_all.hpp"

#include "http/support/server_fixture.hpp"

using namespace snow;
using namespace snow::testing;
using namespace std::chrono_literals;
using http::request;
using http::response;
using steady = std::chrono::steady_clock;

TEST_SUITE_BEGIN("http.server");

namespace {
struct trickle_state {
    int lines_sent = 0;
    bool closed = false;
    bool stop = false;
    std::string received;
    steady::duration open_for{};
    std::optional<raw_response> neighbour;
};

/// A slowloris: a head that never ends, one field line every 50 ms (for 2 s at most).
task<void> trickle(raw_client& c, trickle_state& s) {
    bool sent = co_await c.send("GET /hello HTTP/1.1\r\nHost: test\r\n");
    while (sent && s.lines_sent < 40 && !s.stop) {
        (void)co_await sleep(50ms);
        if (s.stop) break;
        sent = co_await c.send("X-Slow: a\r\n");
        if (sent) ++s.lines_sent;
    }
}

task<void> watch_for_close(raw_client& c, trickle_state& s) {
    const auto started = steady::now();
    s.closed = co_await c.closed(4s);
    s.open_for = steady::now() - started;
    s.received = c.received();
    s.stop = true;
}

task<void> neighbour(net::address at, trickle_state& s) {
    (void)co_await sleep(100ms);
    s.neighbour = co_await exchange(at, get("/hello"));
}

task<void> slowloris(net::address at, trickle_state& s) {
    auto slow = co_await connect_to(at);
    co_await when_all(trickle(slow, s), watch_for_close(slow, s), neighbour(at, s));
}
} // namespace

TEST_CASE("a client trickling its head is cut off by header_timeout while others are served") {
    auto options = test_options();
    options.header_timeout = 300ms;
    probe p;
    http::server srv(test_routes(p));
    trickle_state s;
    run_server_test(srv, options, [&s](net::address at) { return slowloris(at, s); });
    CHECK(s.closed);
    CHECK(s.lines_sent < 40); // cut off before it finished trickling
    CHECK(s.open_for >= 250ms);
    CHECK(s.open_for < 2s);
    // Nothing at all, or a 408, may precede the close.
    CHECK((s.received.empty() || s.received.starts_with("HTTP/1.1 408 ")));
    REQUIRE(s.neighbour.has_value());
    CHECK(s.neighbour->status == 200);
    CHECK(srv.stats().timeouts.load() == 1);
}

TEST_CASE("a head cut off by header_timeout is answered 408 before the close") {
    // connection::run() means to send 408 for a partial head whose deadline expired
    // ("if (!idle) co_await reject(408, ...)").
    auto options = test_options();
    options.header_timeout = 200ms;
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, options, [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send("GET /hello HTTP/1.1\r\nHost: test\r\n"));
        auto r = co_await client.read_response(false, 3s);
        REQUIRE_MESSAGE(r.has_value(), "closed without an answer; received '", client.received(),
                        "'");
        CHECK(r->status == 408);
        CHECK(co_await client.closed());
    });
}

TEST_CASE("a body cut off by body_timeout is answered 408 before the close") {
    auto options = test_options();
    options.body_timeout = 200ms;
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, options, [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send(
            "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\nhalf"));
        auto r = co_await client.read_response(false, 3s);
        REQUIRE_MESSAGE(r.has_value(), "closed without an answer; received '", client.received(),
                        "'");
        CHECK(r->status == 408);
        CHECK(co_await client.closed());
    });
}

TEST_CASE("a connection that sends nothing is closed after header_timeout") {
    auto options = test_options();
    options.header_timeout = 300ms;
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, options, [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        const auto started = steady::now();
        CHECK(co_await client.closed(3s));
        const auto open_for = steady::now() - started;
        CHECK(open_for >= 250ms);
        CHECK(open_for < 2500ms);
        CHECK(client.received().empty());
    });
    CHECK(srv.stats().timeouts.load() == 1);
}

TEST_CASE("an idle keep-alive connection is closed after idle_timeout") {
    auto options = test_options();
    options.idle_timeout = 300ms;
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, options, [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send(get("/hello")));
        auto r = co_await client.read_response();
        REQUIRE(r.has_value());
        const auto answered = steady::now();
        CHECK(co_await client.stays_silent(100ms)); // still open before the deadline
        CHECK(co_await client.closed(3s));
        const auto idle_for = steady::now() - answered;
        CHECK(idle_for >= 250ms);
        CHECK(idle_for < 2500ms);
        CHECK(client.received().empty());
    });
}

namespace {
task<void> never_read(net::address at, http::server& srv, bool& dropped) {
    auto client = co_await connect_to(at);
    REQUIRE(co_await client.send(get("/huge")));
    // 32 MiB cannot fit in the socket buffers of a client that reads nothing.
    dropped = co_await eventually([&srv] { return srv.stats().connections_open.load() == 0; }, 3s);
}
} // namespace

TEST_CASE("a client that never reads its response is dropped after write_timeout") {
    auto options = test_options();
    options.write_timeout = 300ms;
    probe p;
    http::server srv(test_routes(p));
    bool dropped = false;
    run_server_test(srv, options,
                    [&srv, &dropped](net::address at) { return never_read(at, srv, dropped); });
    CHECK(dropped);
}

TEST_SUITE_END();
