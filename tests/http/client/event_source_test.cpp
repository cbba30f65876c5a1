// tests/http/client/event_source_test.cpp: the event-stream client against snow's own server
// over loopback: events as sent, reconnection with Last-Event-ID (after the server ends the
// body, after a drop mid-event, after a silence past idle_timeout), retry: honoured and
// bounded, the answers that end a source for good, and its limits. Order and counts are
// asserted, never durations.
#include "snow/http/client/event_source.hpp"

#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "snow/http/server/event_stream.hpp"
#include "snow/http/server/server.hpp"
#include "snow/net/tcp_listener.hpp"
#include "snow/time/timeout.hpp"

#include "http/support/client_fixture.hpp"
#include "http/support/misbehaving_server.hpp"
#include "http/support/server_fixture.hpp"

using namespace snow;
using namespace std::chrono_literals;
using http::event_source;
using http::event_source_error;
using http::event_source_options;
using http::event_stream;
using http::request;
using testing::run_server_test;
using testing::test_options;

TEST_SUITE_BEGIN("http.client");

namespace {

/// What the producers report: the Last-Event-ID of each request, in order.
struct sse_probe {
    std::vector<std::optional<std::string>> last_ids;
    int plain_requests = 0;
    snow::event release; ///< ends the parked producers
};

/// The first id a stream sends: one past the client's Last-Event-ID, else 1.
int first_id(const event_stream& events) {
    return events.last_event_id() ? std::stoi(*events.last_event_id()) + 1 : 1;
}

/// Three ticks from first_id(), the first carrying `retry`, then the body ends.
task<result<void>> three_ticks(event_stream& events, sse_probe& p,
                               std::chrono::milliseconds retry) {
    p.last_ids.push_back(events.last_event_id());
    const int from = first_id(events);
    for (int i = from; i < from + 3; ++i) {
        const std::string id = std::to_string(i);
        const std::string data = fmt::format("tick {}\nline two", i);
        http::server_sent_event e{.id = id, .event = "tick", .data = data};
        if (i == from) e.retry = retry;
        auto sent = co_await events.send(e);
        if (!sent) co_return sent;
    }
    co_return result<void>{};
}

/// One tick, then silence (no heartbeat comes before the test ends) until released.
task<result<void>> tick_then_silence(event_stream& events, sse_probe& p) {
    p.last_ids.push_back(events.last_event_id());
    const std::string id = std::to_string(first_id(events));
    const std::string data = "tick " + id; // the event holds views: keep the text named
    http::server_sent_event e{.id = id, .data = data};
    auto sent = co_await events.send(e);
    if (!sent) co_return sent;
    (void)co_await p.release.wait();
    co_return result<void>{};
}

/// An event whose data line is longer than the tests' line limit.
task<result<void>> long_line(event_stream& events) {
    const std::string data(200, 'x');
    http::server_sent_event e{.data = data};
    co_return co_await events.send(e);
}

http::router sse_routes(sse_probe& p) {
    http::event_stream_options quiet;
    quiet.heartbeat_interval = std::chrono::minutes(10);
    http::router r;
    r.get("/ticks", [&p, quiet](request& req) {
        const std::chrono::milliseconds retry(std::stoi(req.query("retry").value_or("5")));
        return http::event_stream_response(
            req, [&p, retry](event_stream& events) { return three_ticks(events, p, retry); },
            quiet);
    });
    r.get("/silent", [&p, quiet](request& req) {
        return http::event_stream_response(
            req, [&p](event_stream& events) { return tick_then_silence(events, p); }, quiet);
    });
    r.get("/long", [quiet](request& req) {
        return http::event_stream_response(
            req, [](event_stream& events) { return long_line(events); }, quiet);
    });
    r.get("/gone", [&p](const request&) {
        ++p.plain_requests;
        http::response none;
        none.status = 204;
        return none;
    });
    r.get("/plain", [&p](const request&) {
        ++p.plain_requests;
        return http::text("data: not an event stream\n\n");
    });
    r.get("/missing", [&p](const request&) {
        ++p.plain_requests;
        return http::status_page(404);
    });
    return r;
}

std::string url_of(net::address at, std::string_view target) {
    return fmt::format("http://{}{}", at, target);
}

} // namespace

TEST_CASE("events arrive as sent, and when the server ends the stream the source reconnects "
          "with Last-Event-ID") {
    sse_probe p;
    http::server srv(sse_routes(p));
    run_server_test(srv, test_options(), [&p](net::address at) -> task<void> {
        http::client http;
        event_source events(http, url_of(at, "/ticks?retry=5"));
        for (int i = 1; i <= 6; ++i) {
            auto e = co_await events.next();
            REQUIRE_MESSAGE(e.has_value(), e.error().message());
            CHECK(e->type == "tick");
            CHECK(e->data == fmt::format("tick {}\nline two", i));
            CHECK(e->id == std::to_string(i));
        }
        CHECK(events.connections() == 2);
        CHECK(events.last_event_id() == "6");
        CHECK(events.retry_delay() == 5ms);
        // The first request had no Last-Event-ID; the reconnection sent the last id seen.
        REQUIRE(p.last_ids.size() == 2);
        CHECK_FALSE(p.last_ids[0].has_value());
        CHECK(p.last_ids[1] == "3");
    });
}

TEST_CASE("a source resumes after the id given in its options") {
    sse_probe p;
    http::server srv(sse_routes(p));
    run_server_test(srv, test_options(), [&p](net::address at) -> task<void> {
        http::client http;
        event_source_options options;
        options.last_event_id = "40";
        event_source events(http, url_of(at, "/ticks"), std::move(options));
        auto e = co_await events.next();
        REQUIRE(e.has_value());
        CHECK(e->id == "41");
        REQUIRE(p.last_ids.size() == 1);
        CHECK(p.last_ids[0] == "40");
    });
}

TEST_CASE("a long retry: holds the reconnection back, and max_retry bounds it") {
    sse_probe p;
    http::server srv(sse_routes(p));
    run_server_test(srv, test_options(), [&p](net::address at) -> task<void> {
        http::client http;
        // An hour's retry, bounded to 5 ms: the reconnection comes.
        event_source_options bounded;
        bounded.max_retry = 5ms;
        event_source quick(http, url_of(at, "/ticks?retry=3600000"), std::move(bounded));
        for (int i = 1; i <= 4; ++i) {
            auto e = co_await quick.next();
            REQUIRE(e.has_value());
            CHECK(e->id == std::to_string(i));
        }
        CHECK(quick.retry_delay() == 5ms);
        CHECK(quick.connections() == 2);

        // Under the default bound of a minute, the source is still waiting when the test
        // gives up on it, and never asked again.
        p.last_ids.clear();
        event_source slow(http, url_of(at, "/ticks?retry=3600000"));
        for (int i = 1; i <= 3; ++i) REQUIRE((co_await slow.next()).has_value());
        auto waiting = co_await with_timeout(slow.next(), 300ms);
        REQUIRE_FALSE(waiting.has_value());
        CHECK(waiting.error() == std::errc::timed_out);
        CHECK(slow.retry_delay() == 60s);
        CHECK(slow.connections() == 1);
        CHECK(p.last_ids.size() == 1);
    });
}

TEST_CASE("a connection silent past idle_timeout is replaced, resuming from the last id") {
    sse_probe p;
    http::server srv(sse_routes(p));
    run_server_test(srv, test_options(), [&p](net::address at) -> task<void> {
        http::client http;
        event_source_options options;
        options.idle_timeout = 200ms;
        options.retry = 1ms;
        event_source events(http, url_of(at, "/silent"), std::move(options));
        auto first = co_await events.next();
        REQUIRE(first.has_value());
        CHECK(first->data == "tick 1");
        auto second = co_await events.next();
        REQUIRE(second.has_value());
        CHECK(second->data == "tick 2");
        CHECK(events.connections() == 2);
        REQUIRE(p.last_ids.size() == 2);
        CHECK(p.last_ids[1] == "1");
        p.release.set();
    });
}

TEST_CASE("204, another content type and another status end the source without a retry") {
    sse_probe p;
    http::server srv(sse_routes(p));
    run_server_test(srv, test_options(), [&p](net::address at) -> task<void> {
        http::client http;
        struct expectation {
            const char* target;
            event_source_error error;
        };
        const std::array<expectation, 3> cases{
            expectation{"/gone", event_source_error::no_content},
            expectation{"/plain", event_source_error::not_event_stream},
            expectation{"/missing", event_source_error::bad_status}};
        for (const expectation& x : cases) {
            INFO(x.target);
            p.plain_requests = 0;
            event_source_options options;
            options.retry = 1ms;
            event_source events(http, url_of(at, x.target), std::move(options));
            auto e = co_await events.next();
            REQUIRE_FALSE(e.has_value());
            CHECK(e.error() == x.error);
            // Every later call repeats it, and nothing more is asked of the server.
            auto again = co_await events.next();
            REQUIRE_FALSE(again.has_value());
            CHECK(again.error() == x.error);
            CHECK(p.plain_requests == 1);
            CHECK(events.connections() == 0);
        }
    });
}

TEST_CASE("a line past the source's limit ends it") {
    sse_probe p;
    http::server srv(sse_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        http::client http;
        event_source_options options;
        options.limits.max_line_bytes = 64;
        event_source events(http, url_of(at, "/long"), std::move(options));
        auto e = co_await events.next();
        REQUIRE_FALSE(e.has_value());
        CHECK(e.error() == http::event_stream_errc::line_too_long);
        CHECK_FALSE(events.connected());
    });
}

namespace {

/// A raw event stream that dies mid-chunk: one event, then half of the next, then a close.
/// Each connection's event id is its request count, so a resumed one is told apart.
task<void> drop_mid_event(testing::peer& client, testing::server_state& server) {
    auto request = co_await client.read_request();
    if (!request) co_return;
    ++server.requests;
    server.last_request = *request;
    const std::string event = fmt::format("retry: 1\nid: {}\ndata: whole\n\n", server.requests);
    const std::string text = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n" +
                             fmt::format("{:x}\r\n{}\r\n", event.size(), event) +
                             "40\r\ndata: cut"; // a chunk of 64 bytes that never arrives
    (void)co_await client.send(text);
}

} // namespace

TEST_CASE("a stream dropped mid-event is reopened with the last whole event's id") {
    testing::run_test([]() -> task<void> {
        testing::misbehaving_server srv(drop_mid_event);
        http::client http;
        event_source events(http, srv.url("/"));
        for (int i = 1; i <= 3; ++i) {
            auto e = co_await events.next();
            REQUIRE_MESSAGE(e.has_value(), e.error().message());
            // The half event is never handed out.
            CHECK(e->data == "whole");
            CHECK(e->id == std::to_string(i));
        }
        CHECK(srv.state().last_request.find("\r\nLast-Event-ID: 2\r\n") != std::string::npos);
        CHECK(srv.state().last_request.find("\r\nAccept: text/event-stream\r\n") !=
              std::string::npos);
        CHECK(events.connections() == 3);
        co_await srv.stop();
    }());
}

TEST_CASE("a server that refuses connections is tried max_failed_attempts times") {
    testing::run_test([]() -> task<void> {
        // A port nothing listens on: bound, then closed.
        std::uint16_t port = 0;
        {
            auto listener = net::tcp_listener::bind("127.0.0.1:0").value();
            port = listener.local_address().port();
        }
        http::client http;
        event_source_options options;
        options.retry = 1ms;
        options.max_failed_attempts = 3;
        event_source events(http, fmt::format("http://127.0.0.1:{}/", port), std::move(options));
        auto e = co_await events.next();
        REQUIRE_FALSE(e.has_value());
        CHECK(e.error() == http::client_failure::connect);
        CHECK(events.connections() == 0);
    }());
}

TEST_SUITE_END();
