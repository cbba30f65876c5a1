// tests/http/websocket/server_test.cpp: WebSocket on the server over loopback with a raw client
// that writes masked frames: the handshake and its refusals, echoes, fragments, pings, and
// each rule the server fails a connection for, with the close code it sends.
#include "snow/http/server/websocket.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <ostream>
#include <string>

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

std::error_code close_error(int code) {
    return {code, http::ws::close_category()};
}

/// Connects and completes the handshake for `path`; `after` goes out in the same write.
task<ws_client> open_ws(net::address at, std::string path, std::string after) {
    auto client = co_await ws_client::connect(at);
    REQUIRE(client.has_value());
    auto head = co_await client->open(std::move(path), "", std::move(after));
    REQUIRE(head.has_value());
    REQUIRE(head->status == 101);
    co_return std::move(*client);
}

/// Expects the next frame to be a close with `code`, answers it, and expects the server to
/// close TCP.
task<void> expect_close_and_answer(ws_client& client, int code) {
    auto frame = co_await client.next_frame();
    REQUIRE(frame.has_value());
    CHECK(frame->op == opcode::close);
    CHECK(frame->close_code() == code);
    REQUIRE(
        co_await client.send_frame(opcode::close, close_body(static_cast<std::uint16_t>(code))));
    CHECK(co_await client.closed());
}

/// The client closes with `code`: the server echoes it and closes TCP.
task<void> client_closes(ws_client& client, int code) {
    REQUIRE(
        co_await client.send_frame(opcode::close, close_body(static_cast<std::uint16_t>(code))));
    auto frame = co_await client.next_frame();
    REQUIRE(frame.has_value());
    CHECK(frame->op == opcode::close);
    CHECK(frame->close_code() == code);
    CHECK(co_await client.closed());
}

} // namespace

TEST_CASE("the handshake answers 101 with the accept key, and text and binary echo") {
    ws_probe p;
    http::websocket_hub hub;
    http::server srv(ws_routes(p, hub));
    run_server_test(srv, test_options(), [&p](net::address at) -> task<void> {
        auto client = co_await ws_client::connect(at);
        REQUIRE(client.has_value());
        auto head = co_await client->open("/ws/echo", "", "");
        REQUIRE(head.has_value());
        CHECK(head->status == 101);
        CHECK(head->header("Upgrade") == "websocket");
        CHECK(head->header("Connection") == "Upgrade");
        CHECK(head->header("Sec-WebSocket-Accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        CHECK_FALSE(head->header("Content-Length").has_value());
        CHECK_FALSE(head->header("Sec-WebSocket-Protocol").has_value());

        REQUIRE(co_await client->send_frame(opcode::text, "Hello"));
        auto text = co_await client->next_frame();
        REQUIRE(text.has_value());
        CHECK(text->op == opcode::text);
        CHECK(text->fin);
        CHECK_FALSE(text->masked);
        CHECK(text->payload == "Hello");

        const std::string binary("\x00\x01\xfe\xff", 4);
        REQUIRE(co_await client->send_frame(opcode::binary, binary));
        auto echoed = co_await client->next_frame();
        REQUIRE(echoed.has_value());
        CHECK(echoed->op == opcode::binary);
        CHECK(echoed->payload == binary);

        const std::string big(200000, 'b'); // a 64-bit length, and many receives
        REQUIRE(co_await client->send_frame(opcode::binary, big));
        auto big_echo = co_await client->next_frame();
        REQUIRE(big_echo.has_value());
        CHECK(big_echo->payload == big);

        // The client closes: the server echoes its code, then closes TCP.
        REQUIRE(co_await client->send_frame(opcode::close, close_body(4000, "bye now")));
        auto close = co_await client->next_frame();
        REQUIRE(close.has_value());
        CHECK(close->op == opcode::close);
        CHECK(close->close_code() == 4000);
        CHECK(co_await client->closed());
        REQUIRE(co_await eventually([&p] { return p.ended == 1; }));
        CHECK(p.received.size() == 3);
        CHECK(p.status.code == 4000);
        CHECK(p.status.reason == "bye now");
        CHECK(p.status.clean());
        CHECK(p.status.sent == 4000);
        CHECK(p.recv_error == close_error(4000));
        CHECK(p.recv_again == close_error(4000));
        CHECK_FALSE(p.was_open_at_end);
    });
    CHECK(p.ended == 1);
}

TEST_CASE("bytes sent in the same write as the handshake are not lost") {
    ws_probe p;
    http::websocket_hub hub;
    http::server srv(ws_routes(p, hub));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        const std::string early =
            client_frame(opcode::text, "early") + client_frame(opcode::text, "bird", false);
        auto client = co_await open_ws(at, "/ws/echo", early);
        auto first = co_await client.next_frame();
        REQUIRE(first.has_value());
        CHECK(first->payload == "early");
        REQUIRE(co_await client.send_frame(opcode::continuation, "s"));
        auto second = co_await client.next_frame();
        REQUIRE(second.has_value());
        CHECK(second->payload == "birds");
        co_await client_closes(client, 1000);
    });
}

TEST_CASE("a fragmented message is joined, with a ping between its fragments answered") {
    ws_probe p;
    http::websocket_hub hub;
    http::server srv(ws_routes(p, hub));
    run_server_test(srv, test_options(), [&p](net::address at) -> task<void> {
        auto client = co_await open_ws(at, "/ws/echo", "");
        const std::string fragments = client_frame(opcode::text, "Hel", false) +
                                      client_frame(opcode::ping, "in between") +
                                      client_frame(opcode::continuation, "lo, ", false);
        REQUIRE(co_await client.send(fragments));
        // The pong goes out at once, while the message is still incomplete.
        auto pong = co_await client.next_frame();
        REQUIRE(pong.has_value());
        CHECK(pong->op == opcode::pong);
        CHECK(pong->payload == "in between");
        CHECK(co_await client.stays_silent(50ms));
        REQUIRE(co_await client.send_frame(opcode::continuation, "world \xe2\x82\xac"));
        auto whole = co_await client.next_frame();
        REQUIRE(whole.has_value());
        CHECK(whole->op == opcode::text);
        CHECK(whole->payload == "Hello, world \xe2\x82\xac");
        CHECK(p.received.size() == 1);
        co_await client_closes(client, 1000);
    });
}

TEST_CASE("a ping is answered with a pong carrying its payload") {
    ws_probe p;
    http::websocket_hub hub;
    http::server srv(ws_routes(p, hub));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await open_ws(at, "/ws/echo", "");
        const std::string payload(125, 'p'); // the largest a control frame carries
        REQUIRE(co_await client.send_frame(opcode::ping, payload));
        auto pong = co_await client.next_frame();
        REQUIRE(pong.has_value());
        CHECK(pong->op == opcode::pong);
        CHECK(pong->payload == payload);
        REQUIRE(co_await client.send_frame(opcode::ping, ""));
        pong = co_await client.next_frame();
        REQUIRE(pong.has_value());
        CHECK(pong->op == opcode::pong);
        CHECK(pong->payload.empty());
        co_await client_closes(client, 1000);
    });
}

namespace {
/// Sends `bad` on a fresh connection to `path`; expects a close with `code` from the server,
/// answers it, and expects TCP closed. The function's connection ends with that code as its
/// error, having sent it.
task<void> refused_with(net::address at, std::string path, std::string bad, int code, ws_probe& p) {
    auto client = co_await open_ws(at, std::move(path), "");
    REQUIRE(co_await client.send(std::move(bad)));
    co_await expect_close_and_answer(client, code);
    REQUIRE(co_await eventually([&p] { return p.ended == 1; }));
    CHECK(p.status.error == close_error(code));
    CHECK(p.status.sent == code);
    CHECK(p.recv_error == close_error(code));
    CHECK(p.received.empty());
}
} // namespace

TEST_CASE("a message over the limit is refused with 1009 before its payload arrives") {
    ws_probe p;
    http::websocket_hub hub;
    http::server srv(ws_routes(p, hub));
    run_server_test(srv, test_options(), [&p](net::address at) -> task<void> {
        auto client = co_await open_ws(at, "/ws/small", "");
        REQUIRE(co_await client.send_frame(opcode::text, std::string(1024, 'a'))); // at the limit
        auto fits = co_await client.next_frame();
        REQUIRE(fits.has_value());
        CHECK(fits->payload.size() == 1024);
        // Only the header of a 2000-byte frame: the refusal needs nothing more.
        const std::string oversized = client_frame(opcode::binary, std::string(2000, 'x'));
        REQUIRE(co_await client.send(oversized.substr(0, 8)));
        auto close = co_await client.next_frame();
        REQUIRE(close.has_value());
        CHECK(close->op == opcode::close);
        CHECK(close->close_code() == 1009);
        // The rest of the frame, then the client's close: the server skips the one and ends
        // the handshake at the other.
        REQUIRE(co_await client.send(oversized.substr(8) +
                                     client_frame(opcode::close, close_body(1009))));
        CHECK(co_await client.closed());
        REQUIRE(co_await eventually([&p] { return p.ended == 1; }));
        CHECK(p.status.error == close_error(1009));
        CHECK(p.status.sent == 1009);
        CHECK(p.status.code == 1009);
    });
}

TEST_CASE("fragments that together pass the limit are refused with 1009") {
    ws_probe p;
    http::websocket_hub hub;
    http::server srv(ws_routes(p, hub));
    run_server_test(srv, test_options(), [&p](net::address at) {
        return refused_with(at, "/ws/small",
                            client_frame(opcode::text, std::string(600, 'a'), false) +
                                client_frame(opcode::continuation, std::string(600, 'a')),
                            1009, p);
    });
}

TEST_CASE("text that is not UTF-8 is refused with 1007") {
    ws_probe p;
    http::websocket_hub hub;
    http::server srv(ws_routes(p, hub));
    run_server_test(srv, test_options(), [&p](net::address at) {
        return refused_with(at, "/ws/echo", client_frame(opcode::text, "\xce\xba\xed\xa0\x80"),
                            1007, p);
    });
}

TEST_CASE("invalid UTF-8 split across fragments is refused with 1007 at the bad byte") {
    ws_probe p;
    http::websocket_hub hub;
    http::server srv(ws_routes(p, hub));
    run_server_test(srv, test_options(), [&p](net::address at) {
        // The second fragment goes bad and the message never ends: the refusal cannot wait.
        return refused_with(at, "/ws/echo",
                            client_frame(opcode::text, "\xe2\x82", false) +
                                client_frame(opcode::continuation, "\x28", false),
                            1007, p);
    });
}

TEST_CASE("an unmasked frame is refused with 1002") {
    ws_probe p;
    http::websocket_hub hub;
    http::server srv(ws_routes(p, hub));
    run_server_test(srv, test_options(), [&p](net::address at) {
        return refused_with(at, "/ws/echo", client_frame(opcode::text, "naked", true, false), 1002,
                            p);
    });
}

TEST_CASE("reserved bits, reserved opcodes and bad control frames are refused with 1002") {
    const std::string rsv1("\xc1\x80\x01\x02\x03\x04", 6);     // RSV1, no extension
    const std::string reserved("\x83\x80\x01\x02\x03\x04", 6); // opcode 3
    const std::string long_ping =
        client_frame(opcode::ping, std::string(126, 'p')); // over 125 bytes
    const std::string fragmented_ping = client_frame(opcode::ping, "p", false);
    const std::string stray_continuation = client_frame(opcode::continuation, "x");
    const std::string bad_close_code = client_frame(opcode::close, close_body(1005));
    const std::string one_byte_close = client_frame(opcode::close, "\x03");
    for (const std::string* bad : {&rsv1, &reserved, &long_ping, &fragmented_ping,
                                   &stray_continuation, &bad_close_code, &one_byte_close}) {
        ws_probe p;
        http::websocket_hub hub;
        http::server srv(ws_routes(p, hub));
        run_server_test(srv, test_options(), [&p, bad](net::address at) {
            return refused_with(at, "/ws/echo", *bad, 1002, p);
        });
    }
}

TEST_CASE("a close reason that is not UTF-8 is refused with 1007") {
    ws_probe p;
    http::websocket_hub hub;
    http::server srv(ws_routes(p, hub));
    run_server_test(srv, test_options(), [&p](net::address at) {
        return refused_with(at, "/ws/echo", client_frame(opcode::close, close_body(1000, "\xc0")),
                            1007, p);
    });
}

TEST_CASE("bad upgrade requests get 400 or 426, and the connection serves on") {
    ws_probe p;
    http::websocket_hub hub;
    http::server srv(ws_routes(p, hub));
    run_server_test(srv, test_options(), [&p](net::address at) -> task<void> {
        auto client = co_await ws_client::connect(at);
        REQUIRE(client.has_value());
        const std::string no_key = "GET /ws/echo HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\n"
                                   "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n";
        REQUIRE(co_await client->send(no_key));
        auto refused = co_await client->read_head();
        REQUIRE(refused.has_value());
        CHECK(refused->status == 400);
        CHECK(refused->body.find("Sec-WebSocket-Key") != std::string::npos);

        const std::string version_8 =
            "GET /ws/echo HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 8\r\n\r\n";
        REQUIRE(co_await client->send(version_8));
        auto old_version = co_await client->read_head();
        REQUIRE(old_version.has_value());
        CHECK(old_version->status == 426);
        CHECK(old_version->header("Sec-WebSocket-Version") == "13");

        const std::string no_upgrade = "GET /ws/echo HTTP/1.1\r\nHost: test\r\n\r\n";
        REQUIRE(co_await client->send(no_upgrade));
        auto plain = co_await client->read_head();
        REQUIRE(plain.has_value());
        CHECK(plain->status == 400);

        REQUIRE(co_await client->send("GET /hello HTTP/1.1\r\nHost: test\r\n\r\n"));
        auto hello = co_await client->read_head();
        REQUIRE(hello.has_value());
        CHECK(hello->status == 200);
        CHECK(hello->body == "hello");
        CHECK(p.started == 0);
    });
}

TEST_CASE("the server picks its first subprotocol that the client offers") {
    ws_probe p;
    http::websocket_hub hub;
    http::server srv(ws_routes(p, hub));
    run_server_test(srv, test_options(), [&p](net::address at) -> task<void> {
        auto client = co_await ws_client::connect(at);
        REQUIRE(client.has_value());
        auto head =
            co_await client->open("/ws/echo", "Sec-WebSocket-Protocol: mqtt, json, chat\r\n", "");
        REQUIRE(head.has_value());
        CHECK(head->status == 101);
        CHECK(head->header("Sec-WebSocket-Protocol") == "chat");
        co_await client_closes(*client, 1000);
        REQUIRE(co_await eventually([&p] { return p.ended == 1; }));
        CHECK(p.subprotocol == "chat");
    });
}

TEST_SUITE_END();
