// tests/http/websocket/lifecycle_test.cpp: how WebSocket connections end, each way exactly once:
// the client's FIN or RST with no close frame, pings unanswered, a close handshake the client
// never finishes, the function returning, a graceful stop; and several senders at once, and
// a hub's broadcasts and the subscriber it drops.
#include "snow/http/server/websocket.hpp"

#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <map>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "snow/core/error.hpp"
#include "snow/http/server/websocket_hub.hpp"
#include "snow/http/websocket/close.hpp"

#include "http/support/server_fixture.hpp"
#include "http/websocket/frames.hpp"
#include "http/websocket/ws_client.hpp"
#include "http/websocket/ws_routes.hpp"

using namespace snow;
using namespace snow::testing;
using namespace std::chrono_literals;
using http::ws::opcode;

TEST_SUITE_BEGIN("http.websocket_server");

namespace {

task<ws_client> open_ws(net::address at, std::string path) {
    auto client = co_await ws_client::connect(at);
    REQUIRE(client.has_value());
    auto head = co_await client->open(std::move(path), "", "");
    REQUIRE(head.has_value());
    REQUIRE(head->status == 101);
    co_return std::move(*client);
}

/// The client vanishes without a close frame: a FIN, or a RST in the middle of a frame.
task<void> vanish(net::address at, ws_probe& p, bool reset) {
    auto client = co_await open_ws(at, "/ws/echo");
    REQUIRE(co_await client.send_frame(opcode::text, "one"));
    auto echoed = co_await client.next_frame();
    REQUIRE(echoed.has_value());
    if (reset) {
        const std::string half = client_frame(opcode::text, "cut short");
        REQUIRE(co_await client.send(half.substr(0, 9)));
    }
    co_await client.leave(reset);
    REQUIRE(co_await eventually([&p] { return p.ended == 1; }, 3s));
    if (!reset) CHECK(co_await client.closed()); // the server closes its end too
    CHECK(p.status.code == 1006);
    CHECK_FALSE(p.status.sent.has_value());
    for (const std::error_code& seen : {p.status.error, p.recv_error, p.recv_again}) {
        if (reset)
            CHECK(seen == std::errc::connection_reset);
        else
            CHECK(seen == make_error_code(snow::errc::eof));
    }
}

} // namespace

TEST_CASE("a client's FIN without a close frame ends the connection once, as 1006") {
    ws_probe p;
    http::websocket_hub hub;
    http::server srv(ws_routes(p, hub));
    run_server_test(srv, test_options(), [&p](net::address at) { return vanish(at, p, false); });
    CHECK(p.ended == 1);
}

TEST_CASE("a client's RST in the middle of a frame ends the connection once") {
    ws_probe p;
    http::websocket_hub hub;
    http::server srv(ws_routes(p, hub));
    run_server_test(srv, test_options(), [&p](net::address at) { return vanish(at, p, true); });
    CHECK(p.ended == 1);
}

TEST_CASE("an idle connection is pinged, stays while it answers, and ends when it stops") {
    ws_probe p;
    http::websocket_hub hub;
    http::server srv(ws_routes(p, hub));
    run_server_test(srv, test_options(), [&p](net::address at) -> task<void> {
        auto client = co_await open_ws(at, "/ws/ping");
        for (int round = 0; round < 3; ++round) {
            auto ping = co_await client.next_frame(2s);
            REQUIRE(ping.has_value());
            CHECK(ping->op == opcode::ping);
            REQUIRE(co_await client.send_frame(opcode::pong, ping->payload));
        }
        CHECK(p.ended == 0);
        // Silence now: one more ping, then the end, without a close frame.
        auto last = co_await client.next_frame(2s);
        REQUIRE(last.has_value());
        CHECK(last->op == opcode::ping);
        CHECK(co_await client.closed(3s));
        REQUIRE(co_await eventually([&p] { return p.ended == 1; }));
        CHECK(p.status.error == std::errc::timed_out);
        CHECK(p.status.code == 1006);
        CHECK_FALSE(p.status.sent.has_value());
    });
}

TEST_CASE("a close the client never answers ends after close_timeout") {
    ws_probe p;
    http::websocket_hub hub;
    http::server srv(ws_routes(p, hub));
    run_server_test(srv, test_options(), [&p](net::address at) -> task<void> {
        auto client = co_await open_ws(at, "/ws/close-first");
        auto close = co_await client.next_frame();
        REQUIRE(close.has_value());
        CHECK(close->op == opcode::close);
        CHECK(close->close_code() == 4001);
        CHECK(close->close_reason() == "done");
        const auto asked = std::chrono::steady_clock::now();
        CHECK(co_await client.closed(3s)); // 300 ms of close_timeout, then TCP closes
        CHECK(std::chrono::steady_clock::now() - asked >= 150ms); // not at once, at least
        REQUIRE(co_await eventually([&p] { return p.ended == 1; }));
        CHECK(p.close_result == std::errc::timed_out);
        CHECK(p.status.error == std::errc::timed_out);
        CHECK(p.status.sent == 4001);
        CHECK(p.status.code == 1006);
    });
}

TEST_CASE("a close the client answers completes cleanly, and close() says so") {
    ws_probe p;
    http::websocket_hub hub;
    http::server srv(ws_routes(p, hub));
    run_server_test(srv, test_options(), [&p](net::address at) -> task<void> {
        auto client = co_await open_ws(at, "/ws/close-first");
        auto close = co_await client.next_frame();
        REQUIRE(close.has_value());
        REQUIRE(co_await client.send_frame(opcode::close, close->payload));
        CHECK(co_await client.closed(1s));
        REQUIRE(co_await eventually([&p] { return p.ended == 1; }));
        CHECK_FALSE(p.close_result);
        CHECK(p.status.clean());
        CHECK(p.status.code == 4001);
        CHECK(p.status.sent == 4001);
    });
}

TEST_CASE("a function that returns closes the connection normally, after what it sent") {
    ws_probe p;
    http::websocket_hub hub;
    http::server srv(ws_routes(p, hub));
    run_server_test(srv, test_options(), [&p](net::address at) -> task<void> {
        auto client = co_await open_ws(at, "/ws/hi");
        auto hi = co_await client.next_frame();
        REQUIRE(hi.has_value());
        CHECK(hi->payload == "hi");
        auto close = co_await client.next_frame();
        REQUIRE(close.has_value());
        CHECK(close->op == opcode::close);
        CHECK(close->close_code() == 1000);
        REQUIRE(co_await client.send_frame(opcode::close, close_body(1000)));
        CHECK(co_await client.closed(1s));
        CHECK(p.ended == 1);
    });
}

TEST_CASE("misuse is refused, and a function that throws closes with 1011") {
    ws_probe p;
    http::websocket_hub hub;
    http::server srv(ws_routes(p, hub));
    run_server_test(srv, test_options(), [&p](net::address at) -> task<void> {
        auto client = co_await open_ws(at, "/ws/throw");
        auto close = co_await client.next_frame();
        REQUIRE(close.has_value());
        CHECK(close->op == opcode::close); // nothing of the refused calls went out
        CHECK(close->close_code() == 1011);
        REQUIRE(co_await client.send_frame(opcode::close, close_body(1011)));
        CHECK(co_await client.closed(1s));
        CHECK(p.ended == 1);
        CHECK(p.received == std::vector<std::string>{"refused"});
    });
}

TEST_CASE("messages from several tasks at once arrive whole, each task's in order") {
    ws_probe p;
    http::websocket_hub hub;
    http::server srv(ws_routes(p, hub));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await open_ws(at, "/ws/many");
        std::map<int, int> next; // task → the number it sends next
        int frames = 0;
        for (;;) {
            auto frame = co_await client.next_frame();
            REQUIRE(frame.has_value());
            if (frame->op == opcode::close) {
                CHECK(frame->close_code() == 1000);
                break;
            }
            REQUIRE(frame->op == opcode::text);
            const auto dash = frame->payload.find('-');
            REQUIRE(dash != std::string::npos);
            const int task_number = std::stoi(frame->payload.substr(1, dash - 1));
            const int i = std::stoi(frame->payload.substr(dash + 1));
            CHECK(i == next[task_number]);
            next[task_number] = i + 1;
            ++frames;
        }
        CHECK(frames == 150);
        CHECK(next.size() == 3);
    });
}

namespace {
task<void> stop_with_connections_open(net::address at, http::server& srv, ws_probe& p) {
    auto listener = co_await open_ws(at, "/ws/echo");
    auto ticking = co_await open_ws(at, "/ws/ticker");
    auto tick = co_await ticking.next_frame();
    REQUIRE(tick.has_value());
    CHECK(tick->payload == "tick");
    REQUIRE(co_await eventually([&p] { return p.started == 2; }));
    const auto stopped = std::chrono::steady_clock::now();
    srv.stop();
    for (ws_client* client : std::array<ws_client*, 2>{&listener, &ticking}) {
        // Ticks already queued may come first; then 1001, answered.
        for (;;) {
            auto frame = co_await client->next_frame(3s);
            REQUIRE(frame.has_value());
            if (frame->op != opcode::close) continue;
            CHECK(frame->close_code() == 1001);
            break;
        }
        REQUIRE(co_await client->send_frame(opcode::close, close_body(1001)));
        CHECK(co_await client->closed(3s));
    }
    // Long before the drain deadline: a WebSocket ends when the stop begins.
    CHECK(std::chrono::steady_clock::now() - stopped < 3s);
    REQUIRE(co_await eventually([&p] { return p.ended == 2; }));
    CHECK(p.status.error == std::errc::operation_canceled);
    CHECK(p.status.sent == 1001);
    CHECK(p.status.code == 1001);
}
} // namespace

TEST_CASE("a graceful stop sends 1001 to every connection and ends them promptly") {
    ws_probe p;
    http::websocket_hub hub;
    http::server srv(ws_routes(p, hub));
    auto options = test_options();
    options.shutdown_timeout = 10s;
    run_server_test(srv, options,
                    [&srv, &p](net::address at) { return stop_with_connections_open(at, srv, p); });
    CHECK(p.ended == 2);
}

namespace {
task<void> broadcast(net::address at, http::websocket_hub& hub, ws_probe& p) {
    auto first = co_await open_ws(at, "/ws/hub");
    auto second = co_await open_ws(at, "/ws/hub");
    auto third = co_await open_ws(at, "/ws/hub");
    REQUIRE(co_await eventually([&hub] { return hub.size() == 3; }));
    REQUIRE(hub.publish("one"));
    const std::string bytes("\x00\x01", 2);
    REQUIRE(hub.publish_binary(bytes_of(bytes)));
    CHECK(hub.publish("\xc0").error() == std::errc::invalid_argument);
    for (ws_client* client : std::array<ws_client*, 3>{&first, &second, &third}) {
        auto text = co_await client->next_frame();
        REQUIRE(text.has_value());
        CHECK(text->op == opcode::text);
        CHECK(text->payload == "one");
        auto binary = co_await client->next_frame();
        REQUIRE(binary.has_value());
        CHECK(binary->op == opcode::binary);
        CHECK(binary->payload == bytes);
    }
    // One leaves; the hub forgets it before anything more is published.
    co_await third.leave(false);
    REQUIRE(co_await eventually([&hub] { return hub.size() == 2; }));
    CHECK(p.ended == 1);
    REQUIRE(hub.publish("two"));
    // From a thread with no loop of its own: it reaches the subscribers through their loop's
    // post queue, after what was published before.
    std::thread elsewhere([&hub] { (void)hub.publish("three"); });
    elsewhere.join();
    for (ws_client* client : std::array<ws_client*, 2>{&first, &second}) {
        auto text = co_await client->next_frame();
        REQUIRE(text.has_value());
        CHECK(text->payload == "two");
        auto posted = co_await client->next_frame();
        REQUIRE(posted.has_value());
        CHECK(posted->payload == "three");
    }
}
} // namespace

TEST_CASE("a hub broadcasts to every subscriber, and one that leaves is dropped from it") {
    ws_probe p;
    http::websocket_hub hub;
    http::server srv(ws_routes(p, hub));
    run_server_test(srv, test_options(),
                    [&hub, &p](net::address at) { return broadcast(at, hub, p); });
    CHECK(hub.size() == 0);
}

TEST_CASE("a hub drops a subscriber whose queue is full, with 1008") {
    ws_probe p;
    http::websocket_hub hub;
    http::server srv(ws_routes(p, hub));
    run_server_test(srv, test_options(), [&hub, &p](net::address at) -> task<void> {
        auto slow = co_await open_ws(at, "/ws/hub-tiny");
        REQUIRE(co_await eventually([&hub] { return hub.size() == 1; }));
        // Published in one turn, before the writer runs: the queue of one overflows.
        for (const char* text : {"a", "b", "c"}) REQUIRE(hub.publish(text));
        for (;;) {
            auto frame = co_await slow.next_frame();
            REQUIRE(frame.has_value());
            if (frame->op != opcode::close) continue;
            CHECK(frame->close_code() == 1008);
            CHECK(frame->close_reason() == "too slow");
            break;
        }
        REQUIRE(co_await slow.send_frame(opcode::close, close_body(1008)));
        CHECK(co_await slow.closed());
        REQUIRE(co_await eventually([&p] { return p.ended == 1; }));
        CHECK(p.status.error == std::errc::no_buffer_space);
        CHECK(hub.size() == 0);
    });
}

TEST_SUITE_END();
