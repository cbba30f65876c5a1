// udp_server: seed 002's UDP server: prints each datagram with its sender
// ("from 127.0.0.1:5555: hello") and answers "ok". Its partner is udp_client.
// Kernel: Linux >= 6.0 recommended, 5.19 minimum.
// Run:  ./udp_server [--host 127.0.0.1] [--port 9002]       (port 0 picks a free one)
// Poke: nc -u 127.0.0.1 9002     (type "hello": the server prints it, nc shows "ok")
#include <array>
#include <cstddef>
#include <span>
#include <string_view>
#include <system_error>

#include <fmt/format.h>

#include "snow/net/tcp_stream.hpp" // as_bytes, as_text
#include "snow/net/udp_socket.hpp"

#include "cli.hpp"
#include "stop_signal.hpp"

namespace {

using snow::task;

task<int> serve(snow::net::address local) {
    auto socket = snow::net::udp_socket::bind(local);
    if (!socket) {
        fmt::print(stderr, "cannot bind {}: {}\n", local, socket.error().message());
        co_return 1;
    }
    auto bound = socket->local_address();
    snow::examples::announce(bound ? *bound : local);
    std::array<std::byte, 64 * 1024> buffer; // the largest UDP payload fits
    for (;;) {
        auto received = co_await socket->recv_from(buffer);
        if (!received) {
            if (received.error() == std::errc::operation_canceled) co_return 0; // stopping
            // ECONNREFUSED from an earlier reply's ICMP error, and the like: one peer's
            // trouble, not the server's.
            fmt::print(stderr, "recv: {}\n", received.error().message());
            continue;
        }
        std::string_view text = snow::net::as_text(std::span(buffer).first(received->size));
        if (text.ends_with('\n')) text.remove_suffix(1); // nc sends the newline along
        snow::examples::print_line("from {}: {}", received->sender, text);
        auto sent = co_await socket->send_to(snow::net::as_bytes("ok"), received->sender);
        if (!sent)
            fmt::print(stderr, "reply to {}: {}\n", received->sender, sent.error().message());
    }
}

} // namespace

int main(int argc, char** argv) {
    snow::examples::command_line cli("udp_server",
                                     "Prints each datagram with its sender and answers ok.");
    cli.endpoint(9002, "Numeric IPv4 or IPv6 address to listen on", "UDP port; 0 picks a free one");
    cli.parse(argc, argv);
    auto local = cli.address();
    auto stop = snow::examples::stop_signal::install();
    return snow::examples::run_main(snow::examples::serve_until_stopped(serve(local), stop));
}
