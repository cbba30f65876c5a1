// line_logger: seed 003's Twisted LineReceiver as a coroutine: prints "connect PEER", "PEER: LINE"
// per complete line, "disconnect PEER"; a line over --max-line bytes closes that client only.
// Kernel: Linux >= 6.0 recommended, 5.19 minimum (multishot accept).
// Run:  ./line_logger [--host 127.0.0.1] [--port 9004] [--max-line 1024]
// Poke: nc 127.0.0.1 9004      (each line you type appears on the server's stdout)
#include <chrono>
#include <cstddef>
#include <string>
#include <system_error>

#include <fmt/format.h>

#include "snow/io/run.hpp"
#include "snow/net/buffered_reader.hpp"
#include "snow/net/tcp_listener.hpp"
#include "snow/net/tcp_stream.hpp"

#include "accept_loop.hpp"
#include "cli.hpp"
#include "stop_signal.hpp"

namespace {

using snow::task;
using snow::net::tcp_stream;

task<void> log_lines(tcp_stream stream, std::size_t max_line) {
    auto peer_address = stream.peer_address();
    std::string peer = peer_address ? peer_address->to_string() : std::string("unknown peer");
    snow::examples::print_line("connect {}", peer);
    // The reader holds at most max_line bytes of a line, however slowly or fast it arrives.
    snow::net::buffered_reader reader(stream);
    for (;;) {
        auto line = co_await reader.read_line(max_line);
        if (!line) {
            if (line.error() == snow::errc::message_too_long)
                snow::examples::print_line("{}: line over {} bytes, closing", peer, max_line);
            else if (line.error() != snow::errc::eof) // a cut last line is dropped, as Twisted does
                fmt::print(stderr, "{}: {}\n", peer, line.error().message());
            break;
        }
        snow::examples::print_line("{}: {}", peer, *line);
    }
    (void)co_await stream.close();
    snow::examples::print_line("disconnect {}", peer);
}

task<int> serve(snow::net::address local, std::size_t max_line) {
    return snow::examples::accept_connections(local, [max_line](snow::net::tcp_stream stream) {
        return log_lines(std::move(stream), max_line);
    });
}

} // namespace

int main(int argc, char** argv) {
    snow::examples::command_line cli("line_logger", "Prints each line each client sends.");
    cli.endpoint(9004, "Numeric IPv4 or IPv6 address to listen on", "TCP port; 0 picks a free one");
    std::size_t max_line = 1024;
    cli.number("--max-line", max_line, 1, 64 * 1024 * 1024,
               "Longest line; a client sending a longer one is dropped", "BYTES");
    cli.parse(argc, argv);
    auto local = cli.address();
    auto stop = snow::examples::stop_signal::install();
    return snow::examples::run_main(
        snow::examples::serve_until_stopped(serve(local, max_line), stop));
}
