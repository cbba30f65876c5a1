// framed_client: sends each stdin line to framed_server as a frame and prints the reply; with
// --repeat N --message M sends N frames back to back (reading replies concurrently), then
// prints "received N replies". Kernel: Linux >= 6.0 recommended, 5.19 minimum.
// Run:  echo time | ./framed_client [--host 127.0.0.1] [--port 9003]
// Poke: ./framed_client --port 9003 --repeat 10000 --message "echo hi"
#include <chrono>
#include <cstdint>
#include <string>
#include <system_error>

#include <fmt/format.h>

#include "snow/core/when_all.hpp"
#include "snow/net/buffered_reader.hpp"
#include "snow/net/framing.hpp"
#include "snow/net/tcp_stream.hpp"

#include "cli.hpp"
#include "stdin_lines.hpp"

namespace {

using namespace std::chrono_literals;
using snow::task;
using snow::net::tcp_stream;

constexpr std::size_t max_reply_bytes = 64 * 1024;

// The two halves of --repeat take the stream and reader by reference: repeat() awaits both
// at once (when_all), so its frame outlives them.
task<std::error_code> send_frames(tcp_stream& stream, std::string message, std::uint64_t count) {
    for (std::uint64_t i = 0; i < count; ++i) {
        auto sent = co_await snow::net::write_frame(stream, snow::net::as_bytes(message));
        if (!sent) co_return sent.error();
    }
    co_return std::error_code{};
}

struct tally {
    std::uint64_t replies = 0;
    std::error_code error;
};

task<tally> receive_replies(snow::net::buffered_reader& reader, std::uint64_t count) {
    tally result;
    while (result.replies < count) {
        auto frame = co_await snow::net::read_frame(reader, max_reply_bytes);
        if (!frame) {
            result.error = frame.error();
            break;
        }
        ++result.replies;
    }
    co_return result;
}

task<int> repeat(tcp_stream stream, std::string message, std::uint64_t count) {
    snow::net::buffered_reader reader(stream);
    // Sending and receiving at once: N replies need not fit in the socket buffers, which a
    // send-everything-then-read client would need to avoid deadlock.
    auto [send_error, received] = co_await snow::when_all(send_frames(stream, message, count),
                                                          receive_replies(reader, count));
    if (send_error) fmt::print(stderr, "send: {}\n", send_error.message());
    if (received.error) fmt::print(stderr, "receive: {}\n", received.error.message());
    snow::examples::print_line("received {} replies", received.replies);
    (void)co_await stream.close();
    co_return received.replies == count ? 0 : 1;
}

task<int> interactive(tcp_stream stream) {
    snow::net::buffered_reader reader(stream);
    snow::examples::stdin_lines input;
    while (auto line = co_await input.next()) {
        if (auto sent = co_await snow::net::write_frame(stream, snow::net::as_bytes(*line));
            !sent) {
            fmt::print(stderr, "send: {}\n", sent.error().message());
            co_return 1;
        }
        auto reply = co_await snow::net::read_frame(reader, max_reply_bytes);
        if (!reply) {
            fmt::print(stderr, "reply: {}\n", reply.error().message());
            co_return 1;
        }
        snow::examples::print_line("{}", snow::net::as_text(*reply));
    }
    (void)co_await stream.close();
    co_return 0;
}

task<int> run_client(std::string host, std::uint16_t port, std::uint64_t repeat_count,
                     std::string message) {
    auto stream = co_await tcp_stream::connect(host, port, {.timeout = 5s});
    if (!stream) {
        fmt::print(stderr, "cannot connect to {}:{}: {}\n", host, port, stream.error().message());
        co_return 1;
    }
    if (repeat_count > 0) co_return co_await repeat(std::move(*stream), message, repeat_count);
    co_return co_await interactive(std::move(*stream));
}

} // namespace

int main(int argc, char** argv) {
    snow::examples::command_line cli(
        "framed_client", "Sends each stdin line to framed_server as a frame and prints the "
                         "reply; with --repeat N, sends --message N times instead.");
    std::string host = "127.0.0.1";
    std::uint16_t port = 9003;
    std::uint64_t repeat_count = 0;
    std::string message = "echo hello";
    cli.text("--host", host, "The server's host name or address", "HOST");
    cli.number("--port", port, 1, 65535, "The server's TCP port", "PORT");
    cli.number("--repeat", repeat_count, 0, 100'000'000,
               "Send --message this many times back to back instead of stdin's lines");
    cli.text("--message", message, "The frame --repeat sends");
    cli.parse(argc, argv);
    return snow::examples::run_main(run_client(host, port, repeat_count, message));
}
