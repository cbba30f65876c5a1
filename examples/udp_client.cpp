// udp_client: seed 002's UDP client: sends each argument (or, with none, each stdin line) as
// one datagram to udp_server and prints the reply, waiting at most --timeout-ms for it.
// Kernel: Linux >= 6.0 recommended, 5.19 minimum.
// Run:  ./udp_server --port 9002 &  then  ./udp_client [--host 127.0.0.1] [--port 9002] hello
// Poke: echo hi | ./udp_client --port 9002      (prints "ok"; exit 1 if a reply never came)
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "snow/net/tcp_stream.hpp" // as_bytes, as_text
#include "snow/net/udp_socket.hpp"
#include "snow/time/timeout.hpp"

#include "cli.hpp"
#include "stdin_lines.hpp"

namespace {

using snow::task;

/// One datagram out, one reply back (or timed_out). Returns whether a reply came. `socket`
/// is a reference: the caller awaits this at once, so it outlives the call.
task<bool> ask(snow::net::udp_socket& socket, std::string message, snow::net::address server,
               std::chrono::milliseconds timeout) {
    if (auto sent = co_await socket.send_to(snow::net::as_bytes(message), server); !sent) {
        fmt::print(stderr, "send to {}: {}\n", server, sent.error().message());
        co_return false;
    }
    std::array<std::byte, 64 * 1024> buffer;
    // A kernel-side deadline: the recvmsg is cancelled if nothing arrives in time.
    auto reply = co_await snow::with_timeout(socket.recv_from(buffer), timeout);
    if (!reply) {
        if (reply.error() == std::errc::timed_out)
            fmt::print(stderr, "no reply from {} within {}\n", server, timeout);
        else
            fmt::print(stderr, "no reply from {}: {}\n", server, reply.error().message());
        co_return false;
    }
    snow::examples::print_line("{}", snow::net::as_text(std::span(buffer).first(reply->size)));
    co_return true;
}

task<int> talk(snow::net::address server, std::vector<std::string> messages,
               std::chrono::milliseconds timeout) {
    auto socket = snow::net::udp_socket::open(server.family());
    if (!socket) {
        fmt::print(stderr, "socket: {}\n", socket.error().message());
        co_return 1;
    }
    int failures = 0;
    if (!messages.empty()) {
        for (auto& message : messages) {
            const bool answered = co_await ask(*socket, std::move(message), server, timeout);
            if (!answered) ++failures;
        }
    } else {
        snow::examples::stdin_lines input;
        for (;;) {
            auto line = co_await input.next();
            if (!line || *line == "exit") break;
            const bool answered = co_await ask(*socket, std::move(*line), server, timeout);
            if (!answered) ++failures;
        }
    }
    co_return failures == 0 ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
    snow::examples::command_line cli(
        "udp_client",
        "Sends each MESSAGE (with none, each stdin line) to udp_server and prints the reply.");
    cli.endpoint(9002, "Numeric IPv4 or IPv6 address of the server", "UDP port of the server");
    std::uint64_t timeout_ms = 2000;
    cli.number("--timeout-ms", timeout_ms, 1, 3'600'000, "Wait for each reply", "MS");
    std::vector<std::string> messages;
    cli.app().add_option("MESSAGE", messages, "Datagrams to send (none: read stdin)");
    cli.parse(argc, argv);
    return snow::examples::run_main(
        talk(cli.address(), std::move(messages), std::chrono::milliseconds(timeout_ms)));
}
