// upper_client: seed 002's TCP client: reads lines from stdin, sends each to upper_server and
// prints the upper-cased reply; ends at the end of stdin (or a line "exit").
// Kernel: Linux >= 6.0 recommended, 5.19 minimum.
// Run:  ./upper_server --port 9001 &  then  ./upper_client [--host 127.0.0.1] [--port 9001]
// Poke: printf 'hello\nworld\n' | ./upper_client --port 9001     (prints HELLO, WORLD)
#include <chrono>
#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "snow/net/buffered_reader.hpp"
#include "snow/net/tcp_stream.hpp"

#include "cli.hpp"
#include "stdin_lines.hpp"

namespace {

using namespace std::chrono_literals;
using snow::task;

constexpr std::size_t max_reply_bytes = 64 * 1024;

task<int> talk(std::string host, std::uint16_t port) {
    auto stream = co_await snow::net::tcp_stream::connect(host, port, {.timeout = 5s});
    if (!stream) {
        fmt::print(stderr, "cannot connect to {}:{}: {}\n", host, port, stream.error().message());
        co_return 1;
    }
    snow::net::buffered_reader replies(*stream);
    snow::examples::stdin_lines input;
    while (auto line = co_await input.next()) {
        if (*line == "exit") break;
        if (line->empty()) continue; // the seed skips empty input too
        line->push_back('\n');       // the server upper-cases bytes; "\n" ends its reply
        if (auto sent = co_await stream->send_all(*line); !sent) {
            fmt::print(stderr, "send: {}\n", sent.error().message());
            co_return 1;
        }
        auto reply = co_await replies.read_line(max_reply_bytes);
        if (!reply) {
            fmt::print(stderr, "reply: {}\n", reply.error().message());
            co_return 1;
        }
        snow::examples::print_line("{}", *reply);
    }
    (void)co_await stream->shutdown();
    (void)co_await stream->close();
    co_return 0;
}

} // namespace

int main(int argc, char** argv) {
    snow::examples::command_line cli("upper_client",
                                     "Sends each stdin line to upper_server and prints the reply.");
    std::string host = "127.0.0.1";
    std::uint16_t port = 9001;
    cli.text("--host", host, "The server's host name or address", "HOST");
    cli.number("--port", port, 1, 65535, "The server's TCP port", "PORT");
    cli.parse(argc, argv);
    return snow::examples::run_main(talk(host, port));
}
