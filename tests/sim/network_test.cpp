// tests/sim/network_test.cpp: snow's TCP layer over the simulated kernel's in-memory
// network. Every byte goes through a real copy with short reads and writes, small socket
// buffers, delivery latency and RSTs drawn from the seed; the scenarios check that what
// arrives is exactly what was sent, that every error is one the contract names, and that
// no socket outlives the run (the harness counts them).
#include <doctest/doctest.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "sim/harness.hpp"
#include "snow/core/task_group.hpp"
#include "snow/core/when_all.hpp"
#include "snow/core/when_any.hpp"
#include "snow/net/happy_eyeballs.hpp"
#include "snow/net/tcp_listener.hpp"
#include "snow/net/tcp_stream.hpp"
#include "snow/time/sleep.hpp"

using namespace snow;
using namespace std::chrono_literals;
namespace sim = snow::testing::sim;

TEST_SUITE_BEGIN("sim");

namespace {

/// What the echo scenario observed, for its checks.
struct echo_tally {
    std::size_t finished = 0;   ///< clients that got every byte back
    std::size_t aborted = 0;    ///< clients that dropped their connection on purpose
    std::size_t corrupted = 0;  ///< bytes back that differ from those sent
    std::size_t unexpected = 0; ///< errors on a connection nobody aborted
};

bool is_peer_gone(const std::error_code& e) {
    return e == std::errc::connection_reset || e == std::errc::broken_pipe;
}

/// Echoes until end of stream; a client that aborted shows up as a reset or broken pipe.
task<void> echo_connection(net::tcp_stream s, echo_tally& tally) {
    std::byte buffer[1500];
    for (;;) {
        auto n = co_await s.recv(buffer);
        if (!n) {
            if (!is_peer_gone(n.error())) ++tally.unexpected;
            co_return;
        }
        if (*n == 0) break;
        auto sent = co_await s.send_all(std::span<const std::byte>(buffer, *n));
        if (!sent) {
            if (!is_peer_gone(sent.error())) ++tally.unexpected;
            co_return;
        }
    }
    (void)co_await s.close();
}

task<void> accept_all(net::tcp_listener& listener, std::size_t count, echo_tally& tally) {
    task_group connections;
    for (std::size_t i = 0; i < count; ++i) {
        auto s = co_await listener.accept();
        if (!s && s.error() == std::errc::too_many_files_open) {
            // Out of descriptors for a moment: pause, as a server must, and take it again.
            --i;
            (void)co_await sleep(1ms);
            continue;
        }
        if (!s) {
            ++tally.unexpected;
            break;
        }
        connections.spawn(echo_connection(std::move(*s), tally));
    }
    co_await connections.join();
}

std::string payload(sim::context& ctx, std::size_t size) {
    std::string bytes(size, '\0');
    for (char& c : bytes) c = static_cast<char>(ctx.random().below(256));
    return bytes;
}

task<void> send_then_finish(net::tcp_stream& s, const std::string& bytes, bool& failed) {
    auto sent = co_await s.send_all(bytes);
    if (!sent) {
        failed = true;
        co_return;
    }
    auto shut = co_await s.shutdown();
    if (!shut) failed = true;
}

/// Sends, then waits until cancelled: the sending half of an aborting client.
task<void> send_then_idle(net::tcp_stream& s, const std::string& bytes) {
    (void)co_await s.send_all(bytes);
    (void)co_await sleep(std::chrono::hours(1));
}

task<void> receive_all(net::tcp_stream& s, std::string& into, std::size_t stop_after,
                       bool& failed) {
    std::byte buffer[2000];
    while (into.size() < stop_after) {
        auto n = co_await s.recv(buffer);
        if (!n) {
            failed = true;
            co_return;
        }
        if (*n == 0) co_return;
        into.append(reinterpret_cast<const char*>(buffer), *n);
    }
}

/// Sends a random payload and reads it back at the same time (a socket buffer may be 1 KiB,
/// so a client that wrote everything first would deadlock against the echo, as on a real
/// machine). An aborting client drops the connection after a random number of bytes back.
task<void> echo_client(sim::context& ctx, net::address server, std::size_t id, echo_tally& tally) {
    auto connected = co_await net::tcp_stream::connect(server);
    if (!connected) {
        ++tally.unexpected;
        co_return;
    }
    net::tcp_stream s = std::move(*connected);
    const std::string sent = payload(ctx, 1 + ctx.random().below(40'000));
    const bool abort = ctx.random().chance(0.25);
    const std::size_t stop_after = abort ? ctx.random().below(sent.size()) : sent.size() + 1;
    std::string back;
    bool send_failed = false;
    bool receive_failed = false;
    if (abort) {
        // Stop reading part-way and drop the connection, whatever the sender is doing: a
        // client that kept sending while it no longer read would block against the echo,
        // on a real machine too.
        co_await when_any(send_then_idle(s, sent),
                          receive_all(s, back, stop_after, receive_failed));
        ++tally.aborted;
        // Closing with echoed bytes unread makes the close an RST the server must absorb.
        ctx.note(id);
        co_return;
    }
    co_await when_all(send_then_finish(s, sent, send_failed),
                      receive_all(s, back, stop_after, receive_failed));
    if (send_failed || receive_failed) ++tally.unexpected;
    if (back != sent) ++tally.corrupted;
    ++tally.finished;
    ctx.note(id + back.size());
}

/// Clients of both kinds, over all the seeds of a run.
struct echo_counts {
    std::uint64_t aborted = 0;
    std::uint64_t finished = 0;
};

/// A listener echoing to 1-6 clients that send up to 40 KB each; a quarter of them abort.
sim::scenario echo(echo_counts& counts) {
    return [&counts](sim::context& ctx) -> task<void> {
        auto listener = net::tcp_listener::bind("127.0.0.1:0");
        REQUIRE(listener);
        const net::address at = listener->local_address();
        const std::size_t clients = 1 + ctx.random().below(6);
        echo_tally tally;
        task_group everyone;
        everyone.spawn(accept_all(*listener, clients, tally));
        for (std::size_t i = 0; i < clients; ++i)
            everyone.spawn(echo_client(ctx, at, i * 1'000'000, tally));
        co_await everyone.join();
        CHECK(tally.finished + tally.aborted == clients);
        CHECK(tally.corrupted == 0);
        CHECK(tally.unexpected == 0);
        counts.aborted += tally.aborted;
        counts.finished += tally.finished;
    };
}

echo_counts listed_echo_counts;
const sim::listed echo_listed("tcp echo", [] { return echo(listed_echo_counts); });

} // namespace

TEST_CASE("echo over the simulated network: every byte back, aborts absorbed, nothing left open") {
    echo_counts counts;
    sim::run_seeds("tcp echo", 2000, echo(counts), {sim::mark::short_send_resumed});
    // The scenario exists for both kinds of client; a seed range that drew only one is no test.
    CHECK(counts.aborted > 0);
    CHECK(counts.finished > 0);
}

TEST_CASE("a connect to a port nobody listens on is refused; one to a full backlog times out") {
    sim::run_seeds("tcp refused and black hole", 1000, [&](sim::context&) -> task<void> {
        // A port that was bound and then let go: nothing listens there.
        net::address vacant;
        {
            auto probe = net::tcp_listener::bind("127.0.0.1:0");
            REQUIRE(probe);
            vacant = probe->local_address();
        }
        auto refused = co_await net::tcp_stream::connect(vacant);
        REQUIRE_FALSE(refused);
        CHECK(refused.error() == std::errc::connection_refused);

        // backlog 0 holds one connection nobody accepts; the next SYN is dropped and the
        // connect waits until its own deadline cancels it in the kernel.
        auto hole = net::tcp_listener::bind("127.0.0.1:0", {.backlog = 0});
        REQUIRE(hole);
        auto first = co_await net::tcp_stream::connect(hole->local_address());
        CHECK(first);
        const auto start = clock::now();
        auto second = co_await net::tcp_stream::connect(hole->local_address(), {.timeout = 50ms});
        const auto waited = clock::now() - start;
        REQUIRE_FALSE(second);
        CHECK((second.error() == std::errc::timed_out ||
               second.error() == std::errc::operation_canceled));
        CHECK(waited >= 50ms);
        CHECK(waited <= 60ms);
    });
}

TEST_CASE("happy eyeballs: a black-holed IPv6 address costs one attempt delay, then IPv4 wins") {
    sim::run_seeds("happy eyeballs", 1000, [&](sim::context& ctx) -> task<void> {
        constexpr auto delay = 250ms;
        auto v4 = net::tcp_listener::bind("127.0.0.1:0");
        REQUIRE(v4);
        const std::uint16_t port = v4->local_address().port();
        // An IPv6 listener on the same port whose backlog one never-accepted connection
        // fills: every later SYN to it is dropped, as a black-holed route drops it.
        auto v6 = net::tcp_listener::bind(fmt::format("[::1]:{}", port), {.backlog = 0});
        REQUIRE(v6);
        auto filler = co_await net::tcp_stream::connect(v6->local_address());
        REQUIRE(filler);
        const bool v4_first = ctx.random().chance(0.5); // the order given must not matter
        std::vector<net::address> both{v4->local_address(), v6->local_address()};
        if (!v4_first) std::swap(both[0], both[1]);
        const auto start = clock::now();
        auto s = co_await net::connect_first(both, {}, delay);
        const auto took = clock::now() - start;
        REQUIRE(s);
        auto peer = s->peer_address();
        REQUIRE(peer);
        CHECK_FALSE(peer->is_ipv6());
        CHECK(took >= delay);
        CHECK(took <= delay + 10ms);
        ctx.note(static_cast<std::uint64_t>(took.count()));
    });
}

TEST_CASE("happy eyeballs: a refused address starts the next one at once; all refused is refused") {
    sim::run_seeds("happy eyeballs refused", 1000, [&](sim::context&) -> task<void> {
        auto v4 = net::tcp_listener::bind("127.0.0.1:0");
        REQUIRE(v4);
        const std::uint16_t port = v4->local_address().port();
        auto v6_address = net::address::parse(fmt::format("[::1]:{}", port));
        REQUIRE(v6_address);
        const auto start = clock::now();
        std::vector<net::address> v6_then_v4{*v6_address, v4->local_address()};
        auto s = co_await net::connect_first(v6_then_v4, {}, 250ms);
        CHECK(s);
        CHECK(clock::now() - start < 250ms); // the refusal did not wait out the delay
        v4 = net::tcp_listener{};
        s = net::tcp_stream{};
        auto none = co_await net::connect_first(v6_then_v4, {}, 250ms); // v4 has gone too
        REQUIRE_FALSE(none);
        CHECK(none.error() == std::errc::connection_refused);
    });
}
