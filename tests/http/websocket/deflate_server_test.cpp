// tests/http/websocket/deflate_server_test.cpp: permessage-deflate over loopback: snow's client
// and server agreeing on it (or not), compressed frames on the wire with and without context
// takeover, fragmented compressed messages, a deflate bomb refused with 1009, and a hub's
// broadcast compressed once for the connections that allow it.
#include <doctest/doctest.h>

#include <array>
#include <string>

#include <fmt/format.h>

#include "snow/http/client/websocket_client.hpp"
#include "snow/http/server/server.hpp"
#include "snow/http/server/websocket.hpp"
#include "snow/http/server/websocket_hub.hpp"
#include "snow/http/websocket/deflate.hpp"

#include "http/support/server_fixture.hpp"
#include "http/websocket/deflate_frames.hpp"
#include "http/websocket/frames.hpp"
#include "http/websocket/ws_client.hpp"
#include "http/websocket/ws_routes.hpp"

using namespace snow;
using namespace snow::testing;
using namespace std::chrono_literals;
using http::ws::opcode;

TEST_SUITE_BEGIN("http.websocket_server");

namespace {

/// A sample of what compression is for: JSON with repeated field names.
std::string sample_json(int count) {
    std::string out = "[";
    for (int i = 0; i < count; ++i)
        out += fmt::format("{}{{\"id\":{},\"symbol\":\"SNOW\",\"price\":{}.25,\"venue\":\"XLON\"}}",
                           i == 0 ? "" : ",", i, 100 + i % 7);
    return out + "]";
}

/// The routes of these tests: echo with compression as configured, and a hub whose
/// connections compress without context takeover.
http::router deflate_routes(ws_probe& p, http::websocket_hub& hub) {
    using http::request;
    using http::websocket;
    using namespace ws_handlers;
    http::router r;
    r.get("/ws/echo", [&p](request& req) {
        auto o = quick_options();
        o.close_timeout = 5s;
        return http::websocket_response(
            req, [&p](websocket& ws) { return echo(ws, p); }, o);
    });
    r.get("/ws/plain", [&p](request& req) {
        auto o = quick_options();
        o.close_timeout = 5s;
        o.deflate.enabled = false;
        return http::websocket_response(
            req, [&p](websocket& ws) { return echo(ws, p); }, o);
    });
    r.get("/ws/hub", [&p, &hub](request& req) {
        auto o = quick_options();
        o.deflate.server_no_context_takeover = true;
        return http::websocket_response(
            req, [&p, &hub](websocket& ws) { return hub_member(ws, hub, p); }, o);
    });
    return r;
}

constexpr std::string_view offer_header =
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";

task<ws_client> open_deflate(net::address at, std::string path, std::string extra,
                             std::string expected_answer) {
    auto client = co_await ws_client::connect(at);
    REQUIRE(client.has_value());
    auto head = co_await client->open(std::move(path), std::move(extra), "");
    REQUIRE(head.has_value());
    REQUIRE(head->status == 101);
    CHECK(head->header("Sec-WebSocket-Extensions").value_or("(none)") == expected_answer);
    co_return std::move(*client);
}

/// `text` compressed as a client's message (the shared compressor keeps its context).
std::string compressed(http::ws::deflater& d, std::string_view text) {
    std::string out;
    REQUIRE(d.compress(bytes_of(text), out).has_value());
    return out;
}

std::string client_frame_rsv1(opcode op, std::string_view payload, bool fin, bool rsv1) {
    http::ws::frame_header h;
    h.op = op;
    h.fin = fin;
    h.rsv1 = rsv1;
    h.masked = true;
    h.mask = test_key;
    return http::ws::encode_frame(h, bytes_of(payload));
}

/// Reads the next frame, which must be a compressed text frame, and inflates it with `peer`.
task<std::string> next_compressed(ws_client& client, http::ws::inflater& peer,
                                  std::size_t& wire_bytes) {
    auto frame = co_await client.next_frame();
    REQUIRE(frame.has_value());
    CHECK(frame->op == opcode::text);
    CHECK(frame->rsv1);
    wire_bytes = frame->payload.size();
    std::string out;
    CHECK(peer.feed(bytes_of(frame->payload), out, 1 << 24) == http::ws::inflate_status::ok);
    CHECK(peer.finish(out, 1 << 24) == http::ws::inflate_status::ok);
    co_return out;
}

task<void> close_normally(ws_client& client) {
    REQUIRE(co_await client.send_frame(opcode::close, close_body(1000)));
    auto close = co_await client.next_frame();
    REQUIRE(close.has_value());
    CHECK(close->op == opcode::close);
    CHECK(co_await client.closed());
}

} // namespace

TEST_CASE("snow's client and server agree on permessage-deflate and echo compressed messages") {
    ws_probe p;
    http::websocket_hub hub;
    http::server srv(deflate_routes(p, hub));
    run_server_test(srv, test_options(), [&p](net::address at) -> task<void> {
        http::client http;
        http::websocket_client_options options;
        auto ws =
            co_await http::connect_websocket(http, fmt::format("ws://{}/ws/echo", at), options);
        REQUIRE_MESSAGE(ws.has_value(), ws.error().message());
        REQUIRE(ws->deflate().has_value());
        CHECK_FALSE(ws->deflate()->server_no_context_takeover);
        const std::string json = sample_json(2000); // about 110 KB
        for (int round = 0; round < 3; ++round) {
            REQUIRE((co_await ws->send(json)).has_value());
            auto back = co_await ws->recv();
            REQUIRE(back.has_value());
            CHECK(back->payload == json);
        }
        REQUIRE((co_await ws->send("hi")).has_value()); // below min_size: sent plain
        auto hi = co_await ws->recv();
        REQUIRE(hi.has_value());
        CHECK(hi->payload == "hi");
        const std::string binary(70000, '\x7f');
        REQUIRE((co_await ws->send_binary(bytes_of(binary))).has_value());
        auto b = co_await ws->recv();
        REQUIRE(b.has_value());
        CHECK(b->payload == binary);
        auto closed = co_await ws->close(1000, "");
        CHECK(closed.has_value());
        REQUIRE(co_await eventually([&p] { return p.ended == 1; }));
        CHECK(p.status.clean());
        CHECK(p.received.size() == 5);

        // Off on either side: no extension, and messages still echo.
        auto plain =
            co_await http::connect_websocket(http, fmt::format("ws://{}/ws/plain", at), options);
        REQUIRE(plain.has_value());
        CHECK_FALSE(plain->deflate().has_value());
        options.deflate.enabled = false;
        auto unoffered =
            co_await http::connect_websocket(http, fmt::format("ws://{}/ws/echo", at), options);
        REQUIRE(unoffered.has_value());
        CHECK_FALSE(unoffered->deflate().has_value());
        REQUIRE((co_await unoffered->send(json)).has_value());
        auto echoed = co_await unoffered->recv();
        REQUIRE(echoed.has_value());
        CHECK(echoed->payload == json);
        (void)co_await plain->close(1000, "");
        (void)co_await unoffered->close(1000, "");
    });
}

TEST_CASE("on the wire: RSV1, a fragmented compressed message, and context takeover") {
    ws_probe p;
    http::websocket_hub hub;
    http::server srv(deflate_routes(p, hub));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        const std::string json = sample_json(200);
        std::size_t first_wire = 0;
        std::size_t second_wire = 0;
        {
            auto client = co_await open_deflate(at, "/ws/echo", std::string(offer_header),
                                                "permessage-deflate");
            http::ws::deflater mine({}, 6);
            http::ws::inflater peer({});
            // The message in three frames; RSV1 on the first only.
            const std::string c = compressed(mine, json);
            const std::size_t third = c.size() / 3;
            REQUIRE(co_await client.send(
                client_frame_rsv1(opcode::text, c.substr(0, third), false, true) +
                client_frame_rsv1(opcode::continuation, c.substr(third, third), false, false) +
                client_frame_rsv1(opcode::continuation, c.substr(2 * third), true, false)));
            CHECK(co_await next_compressed(client, peer, first_wire) == json);
            REQUIRE(co_await client.send(
                client_frame_rsv1(opcode::text, compressed(mine, json), true, true)));
            CHECK(co_await next_compressed(client, peer, second_wire) == json);
            MESSAGE(fmt::format("{} bytes of JSON: {} on the wire compressed, {} repeated with "
                                "context takeover",
                                json.size(), first_wire, second_wire));
            CHECK(first_wire < json.size() / 4);
            CHECK(second_wire < first_wire / 4); // the window still holds the first
            co_await close_normally(client);
        }
        {
            // No context takeover, asked by the client: each message stands alone.
            auto client = co_await open_deflate(
                at, "/ws/echo",
                "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
                "client_no_context_takeover\r\n",
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
            http::ws::deflater mine({.no_context_takeover = true}, 6);
            http::ws::inflater peer({.no_context_takeover = true});
            std::size_t a = 0;
            std::size_t b = 0;
            REQUIRE(co_await client.send(
                client_frame_rsv1(opcode::text, compressed(mine, json), true, true)));
            CHECK(co_await next_compressed(client, peer, a) == json);
            REQUIRE(co_await client.send(
                client_frame_rsv1(opcode::text, compressed(mine, json), true, true)));
            CHECK(co_await next_compressed(client, peer, b) == json);
            CHECK(a == b);
            CHECK(a == first_wire);
            co_await close_normally(client);
        }
        {
            // An uncompressed message from a client that agreed on deflate is fine, and a
            // control frame is never compressed.
            auto client = co_await open_deflate(at, "/ws/echo", std::string(offer_header),
                                                "permessage-deflate");
            REQUIRE(co_await client.send_frame(opcode::ping, "are you there"));
            auto pong = co_await client.next_frame();
            REQUIRE(pong.has_value());
            CHECK(pong->op == opcode::pong);
            CHECK_FALSE(pong->rsv1);
            CHECK(pong->payload == "are you there");
            REQUIRE(co_await client.send_frame(opcode::text, json));
            http::ws::inflater peer({});
            std::size_t wire = 0;
            CHECK(co_await next_compressed(client, peer, wire) == json);
            co_await close_normally(client);
        }
    });
}

TEST_CASE("a deflate bomb is refused with 1009 and the connection closed") {
    ws_probe p;
    http::websocket_hub hub;
    http::server srv(deflate_routes(p, hub));
    run_server_test(srv, test_options(), [&p](net::address at) -> task<void> {
        auto client =
            co_await open_deflate(at, "/ws/echo", std::string(offer_header), "permessage-deflate");
        // 16 MiB of zeros in about 16 KiB, against a 1 MiB limit.
        const std::string bomb = deflate_zeros(std::size_t{16} << 20);
        CHECK(bomb.size() < 32 * 1024);
        REQUIRE(co_await client.send(client_frame_rsv1(opcode::binary, bomb, true, true)));
        auto close = co_await client.next_frame();
        REQUIRE(close.has_value());
        CHECK(close->op == opcode::close);
        CHECK(close->close_code() == 1009);
        REQUIRE(co_await client.send_frame(opcode::close, close_body(1009)));
        CHECK(co_await client.closed());
        REQUIRE(co_await eventually([&p] { return p.ended == 1; }));
        CHECK(p.status.sent == 1009);
        CHECK(p.received.empty());
    });
}

TEST_CASE("a hub compresses a broadcast once for connections without server context takeover") {
    ws_probe p;
    http::websocket_hub hub;
    http::server srv(deflate_routes(p, hub));
    run_server_test(srv, test_options(), [&p, &hub](net::address at) -> task<void> {
        const std::string answer = "permessage-deflate; server_no_context_takeover";
        auto one = co_await open_deflate(at, "/ws/hub", std::string(offer_header), answer);
        auto two = co_await open_deflate(at, "/ws/hub", std::string(offer_header), answer);
        auto plain = co_await open_deflate(at, "/ws/hub", "", "(none)");
        REQUIRE(co_await eventually([&hub] { return hub.size() == 3; }));
        const std::string json = sample_json(100);
        REQUIRE(hub.publish(json).has_value());
        REQUIRE(hub.publish(json).has_value());
        std::string wire_one;
        const std::array<ws_client*, 2> compressing{&one, &two};
        for (ws_client* c : compressing) {
            http::ws::inflater peer({.no_context_takeover = true});
            for (int n = 0; n < 2; ++n) {
                auto frame = co_await c->next_frame();
                REQUIRE(frame.has_value());
                CHECK(frame->rsv1);
                if (wire_one.empty()) wire_one = frame->payload;
                CHECK(frame->payload == wire_one); // the same bytes for each, every time
                std::string out;
                CHECK(peer.feed(bytes_of(frame->payload), out, 1 << 20) ==
                      http::ws::inflate_status::ok);
                CHECK(peer.finish(out, 1 << 20) == http::ws::inflate_status::ok);
                CHECK(out == json);
            }
        }
        for (int n = 0; n < 2; ++n) {
            auto uncompressed = co_await plain.next_frame();
            REQUIRE(uncompressed.has_value());
            CHECK_FALSE(uncompressed->rsv1);
            CHECK(uncompressed->payload == json);
        }
        const std::array<ws_client*, 3> all{&one, &two, &plain};
        for (ws_client* c : all) co_await close_normally(*c);
        REQUIRE(co_await eventually([&p] { return p.ended == 3; }));
    });
}

TEST_SUITE_END();
