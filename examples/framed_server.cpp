// framed_server: seed 002's sticky-packet fix done right: u32 big-endian length-prefixed
// frames, one reply each: "time", "echo TEXT", "stats", else "error: unknown command" (never a
// shell). A frame over 64 KiB closes its connection only. Linux >= 6.0 recommended, 5.19 min.
// Run:  ./framed_server [--host 127.0.0.1] [--port 9003]    then: echo time | ./framed_client
// Poke: printf '\0\0\0\4time' | nc 127.0.0.1 9003 | xxd
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <system_error>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "snow/io/run.hpp"
#include "snow/net/buffered_reader.hpp"
#include "snow/net/framing.hpp"
#include "snow/net/tcp_listener.hpp"
#include "snow/net/tcp_stream.hpp"

#include "accept_loop.hpp"
#include "cli.hpp"
#include "stop_signal.hpp"

namespace {

using snow::task;
using snow::net::tcp_stream;

constexpr std::size_t max_frame_bytes = 64 * 1024;

/// Shared by every connection of the one loop, so plain counters suffice.
struct server_stats {
    std::uint64_t frames = 0;      ///< request frames answered
    std::uint64_t connections = 0; ///< connections accepted so far
    std::uint64_t open = 0;        ///< connections open now
};

std::string reply_to(std::string_view request, const server_stats& stats) {
    if (request == "time")
        return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(std::time(nullptr)));
    if (request == "stats")
        return fmt::format("frames {} connections {} open {}", stats.frames, stats.connections,
                           stats.open);
    if (request == "echo") return {};
    if (request.starts_with("echo ")) return std::string(request.substr(5));
    return "error: unknown command";
}

task<void> serve_connection(tcp_stream stream, server_stats* stats) {
    auto peer = stream.peer_address();
    std::string name = peer ? peer->to_string() : std::string("unknown peer");
    ++stats->connections;
    ++stats->open;
    snow::net::buffered_reader reader(stream);
    for (;;) {
        auto frame = co_await snow::net::read_frame(reader, max_frame_bytes);
        if (!frame) {
            // After an oversized header the rest of the stream is unframed: the only safe
            // move is to close this connection.
            if (frame.error() == snow::errc::message_too_long)
                snow::examples::print_line("{}: frame over {} bytes, closing", name,
                                           max_frame_bytes);
            else if (frame.error() != snow::errc::eof)
                fmt::print(stderr, "{}: {}\n", name, frame.error().message());
            break;
        }
        ++stats->frames;
        // The frame is a view into the reader's buffer: use it before the next read.
        std::string reply = reply_to(snow::net::as_text(*frame), *stats);
        const auto sent = co_await snow::net::write_frame(stream, snow::net::as_bytes(reply));
        if (!sent) break;
    }
    --stats->open;
    (void)co_await stream.close();
}

task<int> serve(snow::net::address local, server_stats* stats) {
    return snow::examples::accept_connections(local, [stats](snow::net::tcp_stream stream) {
        return serve_connection(std::move(stream), stats);
    });
}

} // namespace

int main(int argc, char** argv) {
    snow::examples::command_line cli(
        "framed_server",
        "Answers length-prefixed frames: time, echo TEXT, stats; anything else is an error.");
    cli.endpoint(9003, "Numeric IPv4 or IPv6 address to listen on", "TCP port; 0 picks a free one");
    cli.parse(argc, argv);
    auto local = cli.address();
    // Here, not in serve(): connections still running when serve() returns at a stop
    // signal are torn down later, with the loop.
    server_stats stats;
    auto stop = snow::examples::stop_signal::install();
    return snow::examples::run_main(
        snow::examples::serve_until_stopped(serve(local, &stats), stop));
}
