// echo_server: seed 004's echo server on io_uring: one accept loop, one coroutine per
// connection sending back whatever it receives until the peer closes.
// Kernel: Linux >= 6.0 recommended, 5.19 minimum (multishot accept).
// Run:  ./echo_server [--host 127.0.0.1] [--port 9000]      (port 0 picks a free one)
// Poke: nc 127.0.0.1 9000      (type a line: it comes back)
#include <array>
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

task<void> echo(tcp_stream stream) {
    // The buffer lives in this coroutine's frame, which stays put while recv is in flight.
    std::array<std::byte, 16 * 1024> buffer;
    for (;;) {
        auto n = co_await stream.recv(buffer);
        if (!n || *n == 0) break; // reset or end of stream: either way this client is done
        // One send usually takes it all; send_all's loop is for the short write.
        auto pending = std::span(buffer).first(*n);
        auto sent = co_await stream.send(pending);
        if (!sent) break;
        if (*sent < pending.size()) {
            const auto rest = co_await stream.send_all(pending.subspan(*sent));
            if (!rest) break;
        }
    }
    (void)co_await stream.close();
}

task<int> serve(snow::net::address local) {
    return snow::examples::accept_connections(
        local, [](snow::net::tcp_stream stream) { return echo(std::move(stream)); });
}

} // namespace

int main(int argc, char** argv) {
    snow::examples::command_line cli("echo_server", "Sends back whatever each client sends.");
    cli.endpoint(9000, "Numeric IPv4 or IPv6 address to listen on", "TCP port; 0 picks a free one");
    cli.parse(argc, argv);
    auto local = cli.address();
    auto stop = snow::examples::stop_signal::install();
    return snow::examples::run_main(snow::examples::serve_until_stopped(serve(local), stop));
}
