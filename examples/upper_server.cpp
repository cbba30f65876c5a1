// upper_server: seed 002's TCP server: sends back in upper case whatever a client sends, one
// coroutine per connection. Its partner is upper_client.
// Kernel: Linux >= 6.0 recommended, 5.19 minimum (multishot accept).
// Run:  ./upper_server [--host 127.0.0.1] [--port 9001]     (port 0 picks a free one)
// Poke: nc 127.0.0.1 9001      (type "hello", read "HELLO"), or ./upper_client --port 9001
#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstddef>
#include <span>
#include <system_error>

#include <fmt/format.h>

#include "snow/io/run.hpp"
#include "snow/net/tcp_listener.hpp"
#include "snow/net/tcp_stream.hpp"

#include "accept_loop.hpp"
#include "cli.hpp"
#include "stop_signal.hpp"

namespace {

using snow::task;
using snow::net::tcp_stream;

task<void> upper_case(tcp_stream stream) {
    std::array<std::byte, 4096> buffer;
    for (;;) {
        auto n = co_await stream.recv(buffer);
        if (!n || *n == 0) break;
        auto received = std::span(buffer).first(*n);
        // Byte by byte, so a chunk boundary needs no care (ASCII only, like str.upper on
        // the seed's latin text).
        std::ranges::transform(received, received.begin(), [](std::byte b) {
            return static_cast<std::byte>(std::toupper(std::to_integer<unsigned char>(b)));
        });
        const auto sent = co_await stream.send_all(received);
        if (!sent) break;
    }
    (void)co_await stream.close();
}

task<int> serve(snow::net::address local) {
    return snow::examples::accept_connections(
        local, [](snow::net::tcp_stream stream) { return upper_case(std::move(stream)); });
}

} // namespace

int main(int argc, char** argv) {
    snow::examples::command_line cli("upper_server",
                                     "Sends back in upper case whatever each client sends.");
    cli.endpoint(9001, "Numeric IPv4 or IPv6 address to listen on", "TCP port; 0 picks a free one");
    cli.parse(argc, argv);
    auto local = cli.address();
    auto stop = snow::examples::stop_signal::install();
    return snow::examples::run_main(snow::examples::serve_until_stopped(serve(local), stop));
}
