// tests/faults/tiny_rings_test.cpp: an echo server on a loop squeezed to an SQ of 4 entries, a
// CQ of 8 and 8 provided receive buffers, under 1,000 connections, many at once. Completions
// overflow the CQ and pooled receives find the pool dry; every byte must still come back
// exactly.
#include <doctest/doctest.h>

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <future>
#include <memory>
#include <string>
#include <system_error>

#include "snow/core/task_group.hpp"
#include "snow/io/run.hpp"
#include "snow/net/tcp_listener.hpp"
#include "snow/net/tcp_stream.hpp"

#include "faults/loop_thread.hpp"

using namespace snow;
using namespace std::chrono_literals;
using testing::loop_thread;
using testing::run_test;

namespace {

constexpr int connections = 1000;
constexpr int at_once = 100;

/// What the echo server saw, read once its loop has finished.
struct echo_counts {
    int accepted = 0;
    int dry_retries = 0; ///< pooled receives that found no buffer and were tried again
    int errors = 0;
};

/// What the clients saw.
struct client_counts {
    int exact = 0;      ///< every byte came back, in order
    int mismatched = 0; ///< came back different, short or long
    int failed = 0;     ///< connect, send or receive failed
    std::uint64_t bytes = 0;
};

/// Echoes what arrives, in buffers from the loop's pool, until the peer ends its side.
task<void> echo(net::tcp_stream stream, echo_counts& counts) {
    io::buffer_pool* pool = io::event_loop::current().receive_buffers();
    REQUIRE(pool != nullptr);
    for (;;) {
        auto got = co_await stream.recv_pooled(*pool);
        if (!got && got.error() == std::errc::no_buffer_space) {
            // Every buffer is held by a completion not yet copied out: the bytes wait in the
            // socket, and a later turn finds a buffer free.
            ++counts.dry_retries;
            co_await yield();
            continue;
        }
        if (!got) {
            ++counts.errors;
            break;
        }
        if (got->empty()) break;
        auto sent = co_await stream.send_all(got->bytes());
        if (!sent) {
            ++counts.errors;
            break;
        }
    }
    (void)co_await stream.close();
}

task<void> accept_all(net::tcp_listener& listener, task_group& group, echo_counts& counts) {
    for (;;) {
        auto accepted = co_await listener.accept();
        if (!accepted && accepted.error() == std::errc::operation_canceled) break;
        if (!accepted) {
            ++counts.errors;
            continue;
        }
        ++counts.accepted;
        group.spawn(echo(std::move(*accepted), counts));
    }
}

/// Serves until `stop`, then waits for its connections to end.
task<void> echo_server(std::shared_ptr<std::promise<net::address>> bound, cancel_source& stop,
                       echo_counts& counts) {
    auto listener = net::tcp_listener::bind("127.0.0.1:0");
    REQUIRE(listener.has_value());
    bound->set_value(listener->local_address());
    task_group group;
    co_await with_cancellation(accept_all(*listener, group, counts), stop);
    co_await group.join();
}

/// Connection `n`'s payload: 1 byte to 16 KiB of bytes that differ from one connection to
/// the next, so that a buffer handed to the wrong connection shows.
std::string payload(int n) {
    std::uint32_t state = 2166136261u ^ static_cast<std::uint32_t>(n);
    std::string bytes(1 + (static_cast<std::size_t>(n) * 7919) % (16 * 1024), '\0');
    for (char& c : bytes) {
        state = state * 1664525u + 1013904223u;
        c = static_cast<char>(state >> 24);
    }
    return bytes;
}

task<void> echo_once(net::address at, int n, client_counts& counts) {
    net::connect_options options;
    auto stream = co_await net::tcp_stream::connect(at, options);
    if (!stream) {
        ++counts.failed;
        co_return;
    }
    const std::string sent = payload(n);
    auto written = co_await stream->send_all(std::string_view(sent));
    auto ended = co_await stream->shutdown(SHUT_WR);
    if (!written || !ended) {
        ++counts.failed;
        co_return;
    }
    std::string back;
    std::byte chunk[4096];
    for (;;) {
        auto got = co_await stream->recv(chunk);
        if (!got) {
            ++counts.failed;
            co_return;
        }
        if (*got == 0) break;
        back.append(reinterpret_cast<const char*>(chunk), *got);
    }
    counts.bytes += back.size();
    if (back == sent)
        ++counts.exact;
    else
        ++counts.mismatched;
}

/// Takes the next connection number until all `total` are taken.
task<void> echo_worker(net::address at, int total, int& next, client_counts& counts) {
    while (next < total) co_await echo_once(at, next++, counts);
}

task<void> clients(net::address at, int total, client_counts& counts) {
    int next = 0;
    task_group group;
    for (int i = 0; i < at_once; ++i) group.spawn(echo_worker(at, total, next, counts));
    co_await group.join();
}

} // namespace

TEST_SUITE_BEGIN("faults");

TEST_CASE("an echo server on rings of 4 and 8 entries and 8 receive buffers echoes every byte") {
    io::loop_options tiny;
    tiny.ring.entries = 4;
    tiny.ring.cq_factor = 2;
    tiny.receive_buffers.count = 8;
    echo_counts served;
    cancel_source stop;
    auto bound = std::make_shared<std::promise<net::address>>();
    auto address = bound->get_future();
    loop_thread server(tiny, [bound, &stop, &served] { return echo_server(bound, stop, served); });
    const net::address at = address.get();

    client_counts seen;
    run_test(clients(at, connections, seen), 120s);
    server.post([&stop] { stop.request(); });
    const io::loop_stats stats = server.join();

    std::printf("faults.tiny_rings: %d connections, %d exact, %d mismatched, %d failed, %llu "
                "bytes; server: accepted %d, dry retries %d, errors %d; loop: ENOBUFS %llu, CQ "
                "overflows %llu, lost %llu, SQ full %llu, enters %llu, turns %llu\n",
                connections, seen.exact, seen.mismatched, seen.failed,
                static_cast<unsigned long long>(seen.bytes), served.accepted, served.dry_retries,
                served.errors, static_cast<unsigned long long>(stats.receive_buffers_exhausted),
                static_cast<unsigned long long>(stats.ring.overflows),
                static_cast<unsigned long long>(stats.ring.lost),
                static_cast<unsigned long long>(stats.ring.sq_full),
                static_cast<unsigned long long>(stats.ring.enters),
                static_cast<unsigned long long>(stats.turns));

    CHECK(seen.exact == connections);
    CHECK(seen.mismatched == 0);
    CHECK(seen.failed == 0);
    CHECK(served.accepted == connections);
    CHECK(served.errors == 0);
    CHECK(stats.ring.lost == 0);
    // The squeeze really squeezed: the pool ran dry and the CQ overflowed.
    CHECK(stats.receive_buffers_exhausted > 0);
    CHECK(stats.receive_buffers_exhausted == static_cast<std::uint64_t>(served.dry_retries));
    CHECK(stats.ring.overflows > 0);
}

TEST_SUITE_END();
