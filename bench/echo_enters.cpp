// bench/echo_enters.cpp: how many io_uring_enter calls the echo server's loop makes per
// 10,000 round trips, read from its own counters. The server runs on one thread, the
// clients on another, each with its own loop.
//   build/bench/echo_enters [--clients N] [--round-trips N]
// With one client every round trip needs one enter (nothing else to batch with); with many
// clients one enter carries the sends and receives of every connection that is ready.
#include <fmt/format.h>

#include <atomic>
#include <cstdlib>
#include <string_view>
#include <thread>

#include "snow/core/when_all.hpp"
#include "snow/io/run.hpp"
#include "snow/net/tcp_listener.hpp"
#include "snow/sync/event.hpp"

using namespace snow;

namespace {

task<void> echo(net::tcp_stream conn) {
    std::array<std::byte, 64> buffer;
    for (;;) {
        auto n = co_await conn.recv(buffer);
        if (!n || *n == 0) co_return;
        auto sent = co_await conn.send_all(std::span(buffer).first(*n));
        if (!sent) co_return;
    }
}

task<void> serve(net::tcp_listener listener, std::size_t connections, io::loop_stats& at_start,
                 io::loop_stats& at_end, event& finished) {
    std::vector<task<void>> sessions;
    for (std::size_t i = 0; i < connections; ++i) {
        auto conn = co_await listener.accept();
        if (!conn) co_return;
        sessions.push_back(echo(std::move(*conn)));
    }
    at_start = io::event_loop::current().stats();
    co_await when_all(std::move(sessions));
    at_end = io::event_loop::current().stats();
    finished.set();
}

task<std::size_t> client(net::address server, std::size_t round_trips) {
    auto conn = co_await net::tcp_stream::connect(server);
    if (!conn) co_return 0;
    std::array<std::byte, 64> buffer{};
    std::size_t done = 0;
    for (; done < round_trips; ++done) {
        auto sent = co_await conn->send_all(std::span(buffer).first(64));
        if (!sent) break;
        std::size_t got = 0;
        while (got < 64) {
            auto n = co_await conn->recv(std::span(buffer).subspan(got));
            if (!n || *n == 0) co_return done;
            got += *n;
        }
    }
    co_return done;
}

std::size_t flag(int argc, char** argv, std::string_view name, std::size_t fallback) {
    for (int i = 1; i + 1 < argc; ++i)
        if (argv[i] == name) return std::strtoull(argv[i + 1], nullptr, 10);
    return fallback;
}

} // namespace

int main(int argc, char** argv) {
    const std::size_t clients = flag(argc, argv, "--clients", 1);
    const std::size_t per_client = flag(argc, argv, "--round-trips", 10'000) / clients;
    auto listener = net::tcp_listener::bind("127.0.0.1:0").value();
    const auto address = listener.local_address();

    io::loop_stats start, end;
    std::thread server_thread([&] {
        event finished;
        snow::run([](net::tcp_listener l, std::size_t n, io::loop_stats& s, io::loop_stats& e,
                     event& f) -> task<void> {
            co_await serve(std::move(l), n, s, e, f);
        }(std::move(listener), clients, start, end, finished));
    });
    std::size_t total =
        snow::run([](net::address to, std::size_t n, std::size_t each) -> task<std::size_t> {
            std::vector<task<std::size_t>> all;
            for (std::size_t i = 0; i < n; ++i) all.push_back(client(to, each));
            auto done = co_await when_all(std::move(all));
            std::size_t sum = 0;
            for (auto d : done) sum += d;
            co_return sum;
        }(address, clients, per_client));
    server_thread.join();

    const double enters = static_cast<double>(end.ring.enters - start.ring.enters);
    fmt::print(
        "clients {}  round trips {}  server io_uring_enter {}  per 10,000 round trips {:.0f}  "
        "submissions per enter {:.1f}\n",
        clients, total, enters, enters * 10'000 / static_cast<double>(total),
        static_cast<double>(end.ring.submissions - start.ring.submissions) / enters);
    return total == clients * per_client ? 0 : 1;
}
