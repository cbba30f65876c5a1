// tests/http/websocket/ws_routes.hpp: the WebSocket routes the server tests serve, and a probe
// their functions report to: what they received, how each connection ended, and how many
// times (exactly once is the point).
#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "snow/core/task_group.hpp"
#include "snow/http/server/router.hpp"
#include "snow/http/server/websocket.hpp"
#include "snow/http/server/websocket_hub.hpp"
#include "snow/time/sleep.hpp"

namespace snow::testing {

struct ws_probe {
    int started = 0;
    int ended = 0; ///< functions that saw their connection end
    std::vector<std::string> received;
    http::ws::close_status status; ///< the last one to end
    std::error_code recv_error;    ///< what its recv() ended with
    std::error_code recv_again;    ///< a recv() after the end
    std::error_code close_result;  ///< what close() returned, where a function calls it
    std::string subprotocol;
    bool was_open_at_end = true;
};

namespace ws_handlers {

using http::websocket;

/// Records how `ws` ended, once it has.
inline task<void> record_end(websocket& ws, ws_probe& p) {
    (void)co_await ws.closed();
    auto again = co_await ws.recv();
    p.recv_again = again.error();
    p.status = ws.close_status();
    p.was_open_at_end = ws.is_open();
    ++p.ended;
}

/// Echoes every message until the connection ends.
inline task<void> echo(websocket& ws, ws_probe& p) {
    ++p.started;
    p.subprotocol = std::string(ws.subprotocol());
    for (;;) {
        auto m = co_await ws.recv();
        if (!m) {
            p.recv_error = m.error();
            break;
        }
        p.received.push_back(m->payload);
        auto sent = co_await ws.send(*m);
        if (!sent) break;
    }
    co_await record_end(ws, p);
}

/// Closes with 4001 "done" at once.
inline task<void> close_first(websocket& ws, ws_probe& p) {
    ++p.started;
    auto closed = co_await ws.close(4001, "done");
    p.close_result = closed.error();
    co_await record_end(ws, p);
}

/// Sends "hi" and returns: the connection closes normally.
inline task<void> say_hi(websocket& ws, ws_probe& p) {
    ++p.started;
    (void)co_await ws.send("hi");
    ++p.ended;
}

/// Sends "tick" every 10 ms until that fails, never receiving.
inline task<void> ticker(websocket& ws, ws_probe& p) {
    ++p.started;
    for (;;) {
        auto sent = co_await ws.send("tick");
        if (!sent) break;
        const bool slept = co_await sleep(std::chrono::milliseconds(10));
        if (!slept) break;
    }
    co_await record_end(ws, p);
}

inline task<void> send_numbered(websocket& ws, int task_number, int count) {
    for (int i = 0; i < count; ++i) {
        const std::string text = fmt::format("t{}-{}", task_number, i);
        auto sent = co_await ws.send(text);
        if (!sent) co_return;
    }
}

/// Three tasks send 50 messages each at once; then it returns.
inline task<void> many_senders(websocket& ws, ws_probe& p) {
    ++p.started;
    task_group senders;
    for (int t = 0; t < 3; ++t) senders.spawn(send_numbered(ws, t, 50));
    co_await senders.join();
    ++p.ended;
}

/// Tries what a function must not do, then throws.
inline task<void> misuse_then_throw(websocket& ws, ws_probe& p) {
    ++p.started;
    auto bad_text = co_await ws.send("\xc0");
    auto bad_code = co_await ws.close(1005, "");
    auto bad_reason = co_await ws.close(1000, "\xff");
    if (bad_text.error() == std::errc::invalid_argument &&
        bad_code.error() == std::errc::invalid_argument &&
        bad_reason.error() == std::errc::invalid_argument && ws.is_open())
        p.received.push_back("refused");
    ++p.ended;
    throw std::runtime_error("the function failed on purpose");
}

/// Joins `hub` and receives (and drops) messages until the connection ends.
inline task<void> hub_member(websocket& ws, http::websocket_hub& hub, ws_probe& p) {
    auto member = hub.subscribe(ws);
    ++p.started;
    for (;;) {
        auto m = co_await ws.recv();
        if (!m) {
            p.recv_error = m.error();
            break;
        }
    }
    co_await record_end(ws, p);
}

} // namespace ws_handlers

/// Short timeouts, so a test that trips one fails (or passes) in well under a second.
inline http::websocket_options quick_options() {
    http::websocket_options o;
    o.close_timeout = std::chrono::milliseconds(300);
    o.write_timeout = std::chrono::seconds(2);
    return o;
}

inline http::router ws_routes(ws_probe& p, http::websocket_hub& hub) {
    using http::request;
    using http::websocket;
    using namespace ws_handlers;
    http::router r;
    r.get("/hello", [](const request&) { return http::text("hello"); });
    r.get("/ws/echo", [&p](request& req) {
        auto o = quick_options();
        o.close_timeout = std::chrono::seconds(5); // the clean-close tests must not race it
        o.subprotocols = {"chat", "json"};
        return http::websocket_response(
            req, [&p](websocket& ws) { return echo(ws, p); }, o);
    });
    r.get("/ws/small", [&p](request& req) {
        auto o = quick_options();
        o.max_message_size = 1024;
        o.close_timeout = std::chrono::seconds(5);
        return http::websocket_response(
            req, [&p](websocket& ws) { return echo(ws, p); }, o);
    });
    r.get("/ws/ping", [&p](request& req) {
        auto o = quick_options();
        o.ping_interval = std::chrono::milliseconds(50);
        o.pong_timeout = std::chrono::seconds(1); // room for a slow client's pongs
        return http::websocket_response(
            req, [&p](websocket& ws) { return echo(ws, p); }, o);
    });
    r.get("/ws/close-first", [&p](request& req) {
        return http::websocket_response(
            req, [&p](websocket& ws) { return close_first(ws, p); }, quick_options());
    });
    r.get("/ws/hi", [&p](request& req) {
        return http::websocket_response(
            req, [&p](websocket& ws) { return say_hi(ws, p); }, quick_options());
    });
    r.get("/ws/ticker", [&p](request& req) {
        auto o = quick_options();
        o.close_timeout = std::chrono::seconds(5);
        return http::websocket_response(
            req, [&p](websocket& ws) { return ticker(ws, p); }, o);
    });
    r.get("/ws/throw", [&p](request& req) {
        return http::websocket_response(
            req, [&p](websocket& ws) { return misuse_then_throw(ws, p); }, quick_options());
    });
    r.get("/ws/many", [&p](request& req) {
        auto o = quick_options();
        o.max_queued_frames = 4; // the senders wait for room, and must still keep order
        return http::websocket_response(
            req, [&p](websocket& ws) { return many_senders(ws, p); }, o);
    });
    r.get("/ws/hub", [&p, &hub](request& req) {
        return http::websocket_response(
            req, [&p, &hub](websocket& ws) { return hub_member(ws, hub, p); }, quick_options());
    });
    r.get("/ws/hub-tiny", [&p, &hub](request& req) {
        auto o = quick_options();
        o.max_queued_frames = 1;
        return http::websocket_response(
            req, [&p, &hub](websocket& ws) { return hub_member(ws, hub, p); }, o);
    });
    return r;
}

} // namespace snow::testing
