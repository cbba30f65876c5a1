// tests/http/client/websocket_client_test.cpp: the WebSocket client against snow's own server
// over loopback (the routes of the server's WebSocket tests): echoes, the subprotocol, both
// close handshakes, sends from several tasks in order, the message size limit, wss:// through
// the client's TLS, handshakes a raw server gets wrong or cuts short, and pongs to a raw
// server's pings.
#include "snow/http/client/websocket_client.hpp"

#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "snow/core/task_group.hpp"
#include "snow/http/server/server.hpp"
#include "snow/http/server/websocket_hub.hpp"
#include "snow/http/websocket/handshake.hpp"

#include "http/support/client_fixture.hpp"
#include "http/support/misbehaving_server.hpp"
#include "http/support/server_fixture.hpp"
#include "http/websocket/frames.hpp"
#include "http/websocket/ws_routes.hpp"
#include "support/test_certificates.hpp"

using namespace snow;
using namespace std::chrono_literals;
using http::websocket_client;
using http::websocket_client_options;
using http::ws::close_code;
using testing::eventually;
using testing::run_server_test;
using testing::test_options;
using testing::ws_probe;

TEST_SUITE_BEGIN("http.client");

namespace {

std::string ws_url(net::address at, std::string_view path) {
    return fmt::format("ws://{}{}", at, path);
}

/// Sends `count` messages "t<task>-<i>".
task<void> send_numbered(websocket_client& ws, int task_number, int count) {
    for (int i = 0; i < count; ++i) {
        const std::string text = fmt::format("t{}-{}", task_number, i);
        auto sent = co_await ws.send(text);
        REQUIRE(sent.has_value());
    }
}

} // namespace

TEST_CASE("text and binary messages echo back, the subprotocol is agreed, and close is clean") {
    ws_probe p;
    http::websocket_hub hub;
    http::server srv(testing::ws_routes(p, hub));
    run_server_test(srv, test_options(), [&p](net::address at) -> task<void> {
        http::client http;
        websocket_client_options options;
        options.subprotocols = {"json", "chat"};
        auto ws = co_await http::connect_websocket(http, ws_url(at, "/ws/echo"), options);
        REQUIRE_MESSAGE(ws.has_value(), ws.error().message());
        CHECK(ws->subprotocol() == "chat"); // the server's preference, among those offered
        auto sent = co_await ws->send("hello");
        REQUIRE(sent.has_value());
        auto text = co_await ws->recv();
        REQUIRE(text.has_value());
        CHECK(text->is_text());
        CHECK(text->text() == "hello");

        const std::array<std::byte, 4> bytes{std::byte{0}, std::byte{1}, std::byte{0x80},
                                             std::byte{0xff}};
        sent = co_await ws->send_binary(bytes);
        REQUIRE(sent.has_value());
        auto binary = co_await ws->recv();
        REQUIRE(binary.has_value());
        CHECK_FALSE(binary->is_text());
        CHECK(binary->payload == std::string("\x00\x01\x80\xff", 4));

        auto bad = co_await ws->send("\xc0");
        CHECK(bad.error() == std::errc::invalid_argument);

        auto closed = co_await ws->close(1000, "bye");
        CHECK_MESSAGE(closed.has_value(), closed.error().message());
        CHECK(ws->close_status().clean());
        CHECK(ws->close_status().code == 1000);
        CHECK(ws->close_status().sent == 1000);
        CHECK_FALSE(ws->is_open());
        auto after = co_await ws->send("late");
        CHECK(after.error() == std::errc::not_connected);

        REQUIRE(co_await eventually([&p] { return p.ended == 1; }));
        CHECK(p.status.code == 1000);
        CHECK(p.status.reason == "bye");
        CHECK(p.status.clean());
        REQUIRE(p.received.size() == 2);
        CHECK(p.received[0] == "hello");
    });
}

TEST_CASE("a close from the server is answered with its code, and recv reports it") {
    ws_probe p;
    http::websocket_hub hub;
    http::server srv(testing::ws_routes(p, hub));
    run_server_test(srv, test_options(), [&p](net::address at) -> task<void> {
        http::client http;
        websocket_client_options options;
        auto ws = co_await http::connect_websocket(http, ws_url(at, "/ws/close-first"), options);
        REQUIRE(ws.has_value());
        CHECK(ws->subprotocol().empty());
        auto m = co_await ws->recv();
        REQUIRE_FALSE(m.has_value());
        CHECK(m.error() == std::error_code(4001, http::ws::close_category()));
        CHECK(ws->close_status().code == 4001);
        CHECK(ws->close_status().reason == "done");
        CHECK(ws->close_status().sent == 4001);
        CHECK(ws->close_status().clean());
        // Every later recv repeats the end.
        auto again = co_await ws->recv();
        CHECK(again.error() == m.error());
        REQUIRE(co_await eventually([&p] { return p.ended == 1; }));
        CHECK_FALSE(p.close_result); // the server's close handshake completed
    });
}

TEST_CASE("messages sent from several tasks at once arrive whole and in each task's order") {
    ws_probe p;
    http::websocket_hub hub;
    http::server srv(testing::ws_routes(p, hub));
    run_server_test(srv, test_options(), [&p](net::address at) -> task<void> {
        http::client http;
        websocket_client_options options;
        options.max_queued_bytes = 64; // senders wait for room, and must still keep order
        auto ws = co_await http::connect_websocket(http, ws_url(at, "/ws/echo"), options);
        REQUIRE(ws.has_value());
        constexpr int per_task = 40;
        task_group senders;
        for (int t = 0; t < 3; ++t) senders.spawn(send_numbered(*ws, t, per_task));
        co_await senders.join();
        std::array<int, 3> next{};
        for (int i = 0; i < 3 * per_task; ++i) {
            auto m = co_await ws->recv();
            REQUIRE(m.has_value());
            const int t = m->payload[1] - '0';
            REQUIRE((t >= 0 && t < 3));
            CHECK(m->payload == fmt::format("t{}-{}", t, next[static_cast<std::size_t>(t)]));
            ++next[static_cast<std::size_t>(t)];
        }
        CHECK(next == std::array<int, 3>{per_task, per_task, per_task});
        (void)co_await ws->close(1000, "");
        CHECK(p.received.size() == 3 * per_task);
    });
}

TEST_CASE("a message over max_message_size closes the connection with 1009") {
    ws_probe p;
    http::websocket_hub hub;
    http::server srv(testing::ws_routes(p, hub));
    run_server_test(srv, test_options(), [&p](net::address at) -> task<void> {
        http::client http;
        websocket_client_options options;
        options.max_message_size = 16;
        auto ws = co_await http::connect_websocket(http, ws_url(at, "/ws/echo"), options);
        REQUIRE(ws.has_value());
        auto sent = co_await ws->send(std::string(100, 'x')); // the echo comes back too big
        REQUIRE(sent.has_value());
        auto m = co_await ws->recv();
        REQUIRE_FALSE(m.has_value());
        CHECK(m.error() == close_code::message_too_big);
        CHECK(ws->close_status().sent == 1009);
        REQUIRE(co_await eventually([&p] { return p.ended == 1; }));
        CHECK(p.status.code == 1009);
    });
}

TEST_CASE("a refused upgrade and a wrong Sec-WebSocket-Accept fail the handshake") {
    ws_probe p;
    http::websocket_hub hub;
    http::server srv(testing::ws_routes(p, hub));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        http::client http;
        websocket_client_options options;
        auto refused = co_await http::connect_websocket(http, ws_url(at, "/hello"), options);
        REQUIRE_FALSE(refused.has_value());
        CHECK(refused.error() == http::websocket_client_error::upgrade_refused);

        testing::misbehaving_server wrong(testing::answer_canned);
        wrong.state().canned = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                               "Connection: Upgrade\r\nSec-WebSocket-Accept: "
                               "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
        auto bad = co_await http::connect_websocket(http, wrong.url("/"), options);
        REQUIRE_FALSE(bad.has_value());
        CHECK(bad.error() == http::websocket_client_error::bad_handshake);
        CHECK(wrong.state().last_request.find("\r\nSec-WebSocket-Version: 13\r\n") !=
              std::string::npos);
        co_await wrong.stop();
    });
}

TEST_CASE("wss:// goes through the client's TLS, verified, and echoes") {
    ws_probe p;
    http::websocket_hub hub;
    http::server srv(testing::ws_routes(p, hub));
    auto options = test_options();
    options.tls_certificate_file = testing::shared_certificates().certificate_file("server");
    options.tls_key_file = testing::shared_certificates().key_file("server");
    run_server_test(srv, options, [&p](net::address at) -> task<void> {
        http::client_options trusting;
        trusting.tls.ca_file = testing::shared_certificates().ca_file();
        http::client http(trusting);
        websocket_client_options ws_options;
        const std::string url = fmt::format("wss://127.0.0.1:{}/ws/echo", at.port());
        auto ws = co_await http::connect_websocket(http, url, ws_options);
        REQUIRE_MESSAGE(ws.has_value(), ws.error().message());
        const std::string big(100 * 1024, 'z'); // many TLS records, many receives
        auto sent = co_await ws->send(big);
        REQUIRE(sent.has_value());
        auto m = co_await ws->recv();
        REQUIRE(m.has_value());
        CHECK(m->payload == big);
        auto closed = co_await ws->close(1000, "");
        CHECK(closed.has_value());
        REQUIRE(co_await eventually([&p] { return p.ended == 1; }));
        CHECK(p.status.code == 1000);
    });
}

namespace {

/// Reads the upgrade request from `client` and returns the 101 that accepts it; nothing if
/// the client left first.
task<std::optional<std::string>> read_upgrade(testing::peer& client,
                                              testing::server_state& server) {
    auto request = co_await client.read_request();
    if (!request) co_return std::nullopt;
    ++server.requests;
    constexpr std::string_view key_field = "Sec-WebSocket-Key: ";
    const std::size_t at = request->find(key_field) + key_field.size();
    const std::string key = request->substr(at, request->find("\r\n", at) - at);
    co_return fmt::format("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
                          http::ws::accept_key(key));
}

/// A raw server that accepts the handshake properly and sends a frame in the same write as
/// its 101, then closes TCP without a close frame.
task<void> accept_then_vanish(testing::peer& client, testing::server_state& server) {
    auto answer = co_await read_upgrade(client, server);
    if (!answer) co_return;
    *answer += std::string("\x81\x03raw", 5); // an unmasked text frame, "raw"
    (void)co_await client.send(*answer);
}

} // namespace

namespace {

/// The first ping's payload: as long as a control frame may be, with NUL and 0xff in it.
std::string long_ping() {
    return std::string("\x00\xff\x80", 3) + std::string(http::ws::max_control_payload - 3, 'p');
}

/// The next frame the client sent, its payload unmasked; nothing if the connection ended or
/// the bytes broke a rule (an unmasked frame among them).
task<std::optional<std::pair<http::ws::frame_header, std::string>>>
read_client_frame(testing::peer& client, std::string& pending) {
    const http::ws::frame_rules rules;
    for (;;) {
        const auto parsed = http::ws::parse_frame_header(testing::bytes_of(pending), rules);
        if (parsed.failed()) co_return std::nullopt;
        if (parsed.complete() && pending.size() - parsed.size >= parsed.header.payload_length) {
            std::string payload = pending.substr(parsed.size, parsed.header.payload_length);
            http::ws::unmask(std::as_writable_bytes(std::span(payload)), parsed.header.mask);
            pending.erase(0, parsed.size + payload.size());
            co_return std::make_pair(parsed.header, std::move(payload));
        }
        std::array<std::byte, 4096> buffer{};
        auto n = co_await client.stream().recv(buffer);
        if (!n || *n == 0) co_return std::nullopt;
        pending.append(net::as_text(std::span(buffer).first(*n)));
    }
}

/// A raw server that pings the client twice, the second time between the fragments of a text
/// message, and sends the message's last fragment only once both answers have arrived: so
/// the client's recv() can only return after answering. Each answer is recorded in
/// `server.last_request` as "<opcode> <payload>\n"; the client's close frame is echoed.
task<void> ping_mid_message(testing::peer& client, testing::server_state& server) {
    auto answer = co_await read_upgrade(client, server);
    if (!answer) co_return;
    http::ws::frame_header first_fragment;
    first_fragment.fin = false;
    std::string frames = testing::server_frame(http::ws::opcode::ping, long_ping());
    frames += http::ws::encode_frame(first_fragment, testing::bytes_of("ans"));
    frames += testing::server_frame(http::ws::opcode::ping, "");
    bool sent = co_await client.send(std::move(*answer));
    if (sent) sent = co_await client.send(std::move(frames));
    if (!sent) co_return;
    std::string pending;
    for (int i = 0; i < 2; ++i) {
        auto frame = co_await read_client_frame(client, pending);
        if (!frame) co_return;
        server.last_request +=
            fmt::format("{} {}\n", static_cast<int>(frame->first.op), frame->second);
    }
    sent = co_await client.send(testing::server_frame(http::ws::opcode::continuation, "wered"));
    if (!sent) co_return;
    auto close = co_await read_client_frame(client, pending);
    if (!close || close->first.op != http::ws::opcode::close) co_return;
    (void)co_await client.send(testing::server_frame(http::ws::opcode::close, close->second));
}

} // namespace

TEST_CASE("the client answers each ping with a pong of the same payload, even mid-message") {
    testing::run_test([]() -> task<void> {
        testing::misbehaving_server srv(ping_mid_message);
        http::client http;
        websocket_client_options options;
        auto ws = co_await http::connect_websocket(http, srv.url("/"), options);
        REQUIRE_MESSAGE(ws.has_value(), ws.error().message());
        auto m = co_await ws->recv(); // returns only once both pongs reached the server
        REQUIRE_MESSAGE(m.has_value(), m.error().message());
        CHECK(m->text() == "answered");
        const int pong = static_cast<int>(http::ws::opcode::pong);
        CHECK(srv.state().last_request == fmt::format("{} {}\n{} \n", pong, long_ping(), pong));
        auto closed = co_await ws->close(1000, "");
        CHECK_MESSAGE(closed.has_value(), closed.error().message());
        CHECK(ws->close_status().clean());
        co_await srv.stop();
    }());
}

TEST_CASE("bytes that came with the 101 are read, and a server that vanishes ends it as 1006") {
    testing::run_test([]() -> task<void> {
        testing::misbehaving_server srv(accept_then_vanish);
        http::client http;
        websocket_client_options options;
        auto ws = co_await http::connect_websocket(http, srv.url("/"), options);
        REQUIRE_MESSAGE(ws.has_value(), ws.error().message());
        auto m = co_await ws->recv();
        REQUIRE(m.has_value());
        CHECK(m->text() == "raw");
        auto end = co_await ws->recv();
        REQUIRE_FALSE(end.has_value());
        CHECK(end.error() == close_code::abnormal);
        CHECK(ws->close_status().code == 1006);
        CHECK(ws->close_status().error == snow::errc::eof);
        CHECK_FALSE(ws->close_status().clean());
        co_await srv.stop();
    }());
}

TEST_SUITE_END();
