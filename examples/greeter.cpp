// greeter: seeds 003 (forking/threading server) and 002 (select server) in one: greets each
// client, answers each message with "response", on --threads loops (default: one per core),
// each with its own SO_REUSEPORT listener on the port. Linux >= 6.0 recommended, 5.19 minimum.
// Run:  ./greeter [--host 127.0.0.1] [--port 9005] [--threads N]
// Poke: nc 127.0.0.1 9005      (read the greeting; each line you send gets "response")
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "snow/core/when_any.hpp"
#include "snow/io/ops.hpp"
#include "snow/io/run.hpp"
#include "snow/net/file_descriptor.hpp"
#include "snow/net/tcp_listener.hpp"
#include "snow/net/tcp_stream.hpp"
#include "snow/time/sleep.hpp"

#include "cli.hpp"
#include "stop_signal.hpp"

namespace {

using namespace std::chrono_literals;
using snow::task;
using snow::net::tcp_listener;
using snow::net::tcp_stream;

task<void> greet(tcp_stream stream, std::size_t loop_index) {
    auto peer_address = stream.peer_address();
    std::string peer = peer_address ? peer_address->to_string() : std::string("unknown peer");
    snow::examples::print_line("loop {}: connect {}", loop_index, peer);
    const auto greeted = co_await stream.send_all("Thank you for connecting\n");
    if (greeted) {
        std::array<std::byte, 4096> buffer;
        for (;;) {
            auto n = co_await stream.recv(buffer);
            if (!n || *n == 0) break;
            std::string_view text = snow::net::as_text(std::span(buffer).first(*n));
            while (text.ends_with('\n') || text.ends_with('\r')) text.remove_suffix(1);
            snow::examples::print_line("loop {}: {}: {}", loop_index, peer, text);
            // One answer per recv, as the seed's select server: a client that sends two
            // lines in one segment gets one "response".
            const auto answered = co_await stream.send_all("response\n");
            if (!answered) break;
        }
    }
    (void)co_await stream.close();
    snow::examples::print_line("loop {}: disconnect {}", loop_index, peer);
}

task<int> serve(tcp_listener listener, std::size_t loop_index) {
    for (;;) {
        auto stream = co_await listener.accept();
        if (!stream) {
            if (stream.error() == std::errc::operation_canceled) co_return 0; // stopping
            fmt::print(stderr, "loop {}: accept: {}\n", loop_index, stream.error().message());
            co_await snow::sleep(100ms);
            continue;
        }
        snow::spawn(greet(std::move(*stream), loop_index));
    }
}

/// How loop 0 tells the others to stop: it closes the write end of a pipe, which ends every
/// loop's pending read on the read end (a broadcast no single-reader eventfd gives).
struct stop_broadcast {
    snow::net::file_descriptor read_end;
    snow::net::file_descriptor write_end;
};

task<int> until_stopped(std::size_t loop_index, snow::examples::stop_signal* stop,
                        stop_broadcast* broadcast) {
    if (loop_index == 0) {
        int code = co_await stop->wait();
        broadcast->write_end.reset();
        co_return code;
    }
    std::byte byte;
    (void)co_await snow::io::read_op(broadcast->read_end.get(), std::span(&byte, 1));
    co_return 0;
}

/// One thread's whole life: serve until the stop broadcast, then cancel the accept loop.
task<void> run_loop(tcp_listener listener, std::size_t loop_index,
                    snow::examples::stop_signal* stop, stop_broadcast* broadcast) {
    // Announced from a running loop, not before run_threads: where io_uring is blocked no
    // loop starts, and the line would claim a service that is not there.
    if (loop_index == 0) snow::examples::announce(listener.local_address());
    (void)co_await snow::when_any(serve(std::move(listener), loop_index),
                                  until_stopped(loop_index, stop, broadcast));
}

} // namespace

int main(int argc, char** argv) {
    snow::examples::command_line cli(
        "greeter", "Greets each client and answers each message with \"response\".");
    cli.endpoint(9005, "Numeric IPv4 or IPv6 address to listen on", "TCP port; 0 picks a free one");
    std::size_t threads = std::max(1U, std::thread::hardware_concurrency());
    cli.number("--threads", threads, 1, 1024,
               "Event loops, one per thread; one per core by default");
    cli.parse(argc, argv);
    auto local = cli.address();

    // Bind every listener up front: a bad address fails before any thread starts, and with
    // port 0 the first listener picks the port the others then share.
    std::vector<tcp_listener> listeners;
    for (std::size_t i = 0; i < threads; ++i) {
        auto listener = tcp_listener::bind(local, {.reuse_port = true});
        if (!listener) {
            fmt::print(stderr, "cannot listen on {}: {}\n", local, listener.error().message());
            return 1;
        }
        local = listener->local_address();
        listeners.push_back(std::move(*listener));
    }
    int pipe_ends[2];
    if (::pipe2(pipe_ends, O_CLOEXEC) < 0) {
        fmt::print(stderr, "pipe: {}\n", std::system_category().message(errno));
        return 1;
    }
    stop_broadcast broadcast{snow::net::file_descriptor(pipe_ends[0]),
                             snow::net::file_descriptor(pipe_ends[1])};
    auto stop = snow::examples::stop_signal::install(); // before run_threads starts threads
    return snow::examples::guard_main([&] {
        // Each thread takes its own listener; the vector is not touched otherwise meanwhile.
        snow::run_threads(threads, [&](std::size_t index) {
            return run_loop(std::move(listeners[index]), index, &stop, &broadcast);
        });
        return 0;
    });
}
