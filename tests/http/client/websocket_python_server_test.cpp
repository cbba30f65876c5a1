// tests/http/client/websocket_python_server_test.cpp: snow's WebSocket client against a real
// server, Python's websockets library (tests/http/websocket/python_server.py; Debian:
// python3-websockets): echoes of text, binary and a large message, a message the server sends
// in fragments, the server's ping answered (the server checks the pong's payload and says
// so), and the server's close code and reason reaching the client.
#include "snow/http/client/websocket_client.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <array>
#include <cstddef>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "examples/child_process.hpp"
#include "http/support/client_fixture.hpp"
#include "http/websocket/websocket_client_script.hpp"
#include "support/run_test.hpp"

using namespace snow;
using namespace std::chrono_literals;

TEST_SUITE_BEGIN("http.client");

namespace {

bool python_has_websockets() {
    if (::access("/usr/bin/python3", X_OK) != 0) return false;
    return std::system("/usr/bin/python3 -c 'import websockets' 2>/dev/null") == 0;
}

/// Sends `text` and returns the text message that comes back; fails the case otherwise.
task<std::string> round_trip(http::websocket_client& ws, std::string text) {
    auto sent = co_await ws.send(text);
    REQUIRE_MESSAGE(sent.has_value(), sent.error().message());
    auto m = co_await ws.recv();
    REQUIRE_MESSAGE(m.has_value(), m.error().message());
    CHECK(m->is_text());
    co_return m->payload;
}

task<void> talk_to_python(std::uint16_t port) {
    http::client http;
    http::websocket_client_options options;
    const std::string url = fmt::format("ws://127.0.0.1:{}/", port);
    auto ws = co_await http::connect_websocket(http, url, options);
    REQUIRE_MESSAGE(ws.has_value(), ws.error().message());

    const std::string accented = "h\xc3\xa9llo \xe2\x98\x83";
    const std::string text = co_await round_trip(*ws, accented);
    CHECK(text == accented);
    const std::array<std::byte, 4> bytes{std::byte{0}, std::byte{1}, std::byte{0x80},
                                         std::byte{0xff}};
    auto sent = co_await ws->send_binary(bytes);
    REQUIRE(sent.has_value());
    auto binary = co_await ws->recv();
    REQUIRE(binary.has_value());
    CHECK_FALSE(binary->is_text());
    CHECK(binary->payload == std::string("\x00\x01\x80\xff", 4));
    const std::string big(200 * 1024, 'y'); // a 64-bit frame length each way
    const std::string big_echo = co_await round_trip(*ws, big);
    CHECK(big_echo == big);
    const std::string joined = co_await round_trip(*ws, "fragment");
    CHECK(joined == "fragments");
    // The server pings, awaits the pong with its payload, and only then answers: recv()
    // answered the ping while it waited.
    const std::string after_ping = co_await round_trip(*ws, "ping");
    CHECK(after_ping == "pong received");

    sent = co_await ws->send("close");
    REQUIRE(sent.has_value());
    auto end = co_await ws->recv();
    REQUIRE_FALSE(end.has_value());
    CHECK(end.error() == std::error_code(4321, http::ws::close_category()));
    CHECK(ws->close_status().code == 4321);
    CHECK(ws->close_status().reason == "done, \xc3\xa9t\xc3\xa9");
    CHECK(ws->close_status().sent == 4321); // the close answered with the server's code
    CHECK(ws->close_status().clean());
    CHECK_FALSE(ws->is_open());
}

} // namespace

TEST_CASE("a Python websockets server: echoes, fragments, its ping answered, its close heard") {
    if (!python_has_websockets()) {
        MESSAGE("python3-websockets is not installed (Debian: python3-websockets): skipped");
        return;
    }
    testing::child_process server("/usr/bin/python3", {SNOW_WS_PYTHON_SERVER});
    auto announced = server.read_line(10s);
    REQUIRE_MESSAGE((announced && announced->starts_with("port ")),
                    "the Python server did not say its port:\n", server.transcript());
    const auto port = static_cast<std::uint16_t>(std::stoul(announced->substr(5)));

    testing::run_test(talk_to_python(port));

    // What the server saw: the pong to its ping, and the close answered with its code.
    CHECK(server.read_all(10s) == "pong received\nclosed 4321\n");
    CHECK(server.wait_exit(10s) == 0);
}

TEST_SUITE_END();
