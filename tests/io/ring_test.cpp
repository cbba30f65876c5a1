// tests/io/ring_test.cpp: the ring seam and the loop's batching: full SQ, CQ overflow,
// counters, and operation lifetimes (linked timeouts, destruction mid-flight).
#include "snow/io/ring.hpp"

#include <doctest/doctest.h>

#include <array>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "snow/core/when_all.hpp"
#include "snow/io/ops.hpp"
#include "snow/sync/event.hpp"
#include "snow/time/sleep.hpp"
#include "snow/time/timeout.hpp"
#include "support/run_test.hpp"
#include "support/socket_pair.hpp"

using namespace snow;
using namespace std::chrono_literals;
using testing::run_test;

TEST_SUITE_BEGIN("io.ring");

namespace {
task<bool> nop() {
    co_return (co_await io::nop_op()).has_value();
}

task<int> many_nops(int count) {
    std::vector<task<bool>> nops;
    for (int i = 0; i < count; ++i) nops.push_back(nop());
    auto results = co_await when_all(std::move(nops));
    co_return static_cast<int>(std::count(results.begin(), results.end(), true));
}
} // namespace

TEST_CASE("a nop makes a round trip through the ring") {
    CHECK(run_test(nop()));
}

TEST_CASE("a thousand concurrent operations are submitted in a handful of enters") {
    unsigned sq = 0;
    unsigned cq = 0;
    auto [completed, enters] = run_test(
        [](unsigned& sq_entries, unsigned& cq_entries) -> task<std::pair<int, std::uint64_t>> {
            sq_entries = io::event_loop::current().io().sq_entries();
            cq_entries = io::event_loop::current().io().cq_entries();
            auto before = io::event_loop::current().stats().ring.enters;
            int n = co_await many_nops(1000);
            co_return std::pair{n, io::event_loop::current().stats().ring.enters - before};
        }(sq, cq));
    CHECK(completed == 1000);
    // One submission turn and one or two to reap; a ring squeezed smaller than the batch
    // (SNOW_RING_ENTRIES) flushes once per SQ full and reaps once per CQ full.
    CHECK(enters <= 4 + 1000 / sq + 1000 / cq);
}

TEST_CASE("more requests than the SQ holds in one turn all complete") {
    io::loop_options small;
    small.ring = {.entries = 8, .cq_factor = 64};
    auto [completed, sq_full] = run_test(
        []() -> task<std::pair<int, std::uint64_t>> {
            int n = co_await many_nops(500);
            co_return std::pair{n, io::event_loop::current().stats().ring.sq_full};
        }(),
        30s, small);
    CHECK(completed == 500);
    CHECK(sq_full > 0);
}

TEST_CASE("a CQ overflow loses no completion") {
    io::loop_options tiny;
    tiny.ring = {.entries = 4, .cq_factor = 2};
    auto [completed, stats] = run_test(
        []() -> task<std::pair<int, io::ring_stats>> {
            int n = co_await many_nops(2000);
            co_return std::pair{n, io::event_loop::current().stats().ring};
        }(),
        30s, tiny);
    CHECK(completed == 2000);
    CHECK(stats.lost == 0);
    CHECK(stats.completions >= 2000);
}

TEST_CASE("the ring reports the setup flags it got") {
    auto r = io::ring::create();
    REQUIRE(r.has_value());
    // This machine's kernel (6.1+) accepts DEFER_TASKRUN; older ones fall back without error.
    CHECK(((r->setup_flags() & IORING_SETUP_DEFER_TASKRUN) != 0 ||
           (r->setup_flags() & IORING_SETUP_COOP_TASKRUN) != 0 || r->setup_flags() == 0));
    CHECK((r->features() & IORING_FEAT_NODROP) != 0);
}

namespace {
/// Sends `text` on one end of a socket pair and reads it back on the other, bounded.
task<std::string> socket_round_trip(std::string_view text) {
    auto [a, b] = testing::socket_pair();
    auto sent = co_await b.send_all(text);
    REQUIRE(sent);
    std::string got;
    std::array<std::byte, 64> buffer{};
    for (int reads = 0; reads < 64 && got.size() < text.size(); ++reads) {
        auto n = co_await a.recv(buffer);
        if (!n || *n == 0) break;
        got.append(reinterpret_cast<const char*>(buffer.data()), *n);
    }
    co_return got;
}
/// What a loop over an SQPOLL ring saw.
struct sqpoll_run {
    unsigned flags = 0; ///< its ring's setup flags
    int nops = 0;       ///< of 500 nops, those that completed
    std::string echoed{};
    bool slept = false;       ///< a 30 ms sleep expired
    int nops_after_sleep = 0; ///< of 100 nops after the sleep, those that completed
};
} // namespace

TEST_CASE("an SQPOLL ring says so and carries nops, socket I/O and timers, also after its SQ "
          "thread fell asleep") {
    // Short, so that the SQ thread sleeps during the test's own sleep and must be woken.
    const io::ring_options sqpoll{.sqpoll = true, .sq_thread_idle_ms = 5};
    auto probe = io::ring::create(sqpoll);
    if (!probe && probe.error() == std::errc::operation_not_permitted) {
        MESSAGE("this kernel refuses SQPOLL here: " << probe.error().message());
        return;
    }
    REQUIRE(probe.has_value());
    CHECK((probe->setup_flags() & IORING_SETUP_SQPOLL) != 0);
    // The kernel refuses these beside SQPOLL; create() must not have asked for them.
    CHECK((probe->setup_flags() & (IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_COOP_TASKRUN)) == 0);

    io::loop_options options;
    options.ring = sqpoll;
    const sqpoll_run run = run_test(
        []() -> task<sqpoll_run> {
            sqpoll_run seen;
            seen.flags = io::event_loop::current().io().setup_flags();
            seen.nops = co_await many_nops(500);
            seen.echoed = co_await socket_round_trip("through the SQ thread");
            // A timer makes the loop wait with a timeout, long enough for the SQ thread to
            // go idle; the next submissions must wake it (nothing here depends on timing).
            seen.slept = co_await sleep(30ms);
            seen.nops_after_sleep = co_await many_nops(100);
            co_return seen;
        }(),
        30s, options);
    CHECK((run.flags & IORING_SETUP_SQPOLL) != 0);
    CHECK(run.nops == 500);
    CHECK(run.echoed == "through the SQ thread");
    CHECK(run.slept);
    CHECK(run.nops_after_sleep == 100);
}

TEST_CASE("a ring asked for NAPI busy polling registers it or fails with the kernel's error") {
    auto r = io::ring::create({.napi_busy_poll_us = 50});
    if (!r) {
        // Before Linux 6.9 the kernel has no IORING_REGISTER_NAPI and answers EINVAL.
        CHECK(r.error() == std::errc::invalid_argument);
        return;
    }
    io::loop_options options;
    options.ring.napi_busy_poll_us = 50;
    CHECK(run_test(socket_round_trip("polled"), 30s, options) == "polled");
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("io.lifetime");

TEST_CASE("a linked timeout ends a recv with timed_out and the buffer is never written") {
    auto [error, pending, untouched] =
        run_test([]() -> task<std::tuple<std::error_code, std::size_t, bool>> {
            auto [a, b] = testing::socket_pair();
            auto buffer = std::make_unique<std::array<std::byte, 64>>();
            buffer->fill(std::byte{0x5a});
            auto n = co_await a.recv(*buffer).timeout(20ms);
            // The kernel has returned the recv's completion: data sent now stays queued.
            auto sent = co_await b.send_all("late data");
            REQUIRE(sent);
            co_await sleep(5ms);
            bool same = std::all_of(buffer->begin(), buffer->end(),
                                    [](std::byte x) { return x == std::byte{0x5a}; });
            co_return std::tuple{n.error(), testing::pending_bytes(a), same};
        }());
    CHECK(error == std::errc::timed_out);
    CHECK(pending == 9);
    CHECK(untouched);
}

TEST_CASE("an operation that completes before its timeout is not affected by it") {
    auto n = run_test([]() -> task<std::size_t> {
        auto [a, b] = testing::socket_pair();
        auto sent = co_await b.send_all("hello");
        REQUIRE(sent);
        std::array<std::byte, 16> buffer{};
        auto got = co_await a.recv(buffer).timeout(5s);
        co_return got.value_or(0);
    }());
    CHECK(n == 5);
}

TEST_CASE("destroying a task suspended in a recv cancels the recv before the frame is freed") {
    auto [pending, untouched] = run_test([]() -> task<std::pair<std::size_t, bool>> {
        auto [a, b] = testing::socket_pair();
        auto buffer = std::make_unique<std::array<std::byte, 64>>();
        buffer->fill(std::byte{0x11});
        auto reader = [](net::tcp_stream& s, std::span<std::byte> buf) -> task<void> {
            (void)co_await s.recv(buf);
            FAIL_CHECK("the destroyed reader must never resume");
        };
        std::optional<task<void>> t(reader(a, *buffer));
        t->handle().resume(); // runs until the recv is in flight
        t.reset();            // destroys the frame: the recv is cancelled and reaped first
        auto sent = co_await b.send_all("after");
        REQUIRE(sent);
        co_await sleep(5ms);
        bool same = std::all_of(buffer->begin(), buffer->end(),
                                [](std::byte x) { return x == std::byte{0x11}; });
        co_return std::pair{testing::pending_bytes(a), same};
    }());
    CHECK(pending == 5);
    CHECK(untouched);
}

TEST_CASE("destroying a task whose completion is queued but not yet resumed is safe") {
    auto resumed = run_test([]() -> task<bool> {
        auto [a, b] = testing::socket_pair();
        auto [c, d] = testing::socket_pair();
        bool ran = false;
        std::optional<task<void>> victim;
        auto reader = [](net::tcp_stream& s, bool& flag) -> task<void> {
            std::array<std::byte, 8> buf{};
            (void)co_await s.recv(buf);
            flag = true;
        };
        // The destroyer's recv completes first in the same batch, so it runs while the
        // victim's resumption is already queued behind it.
        auto destroyer = [](net::tcp_stream& s, std::optional<task<void>>& target) -> task<void> {
            std::array<std::byte, 8> buf{};
            (void)co_await s.recv(buf);
            target.reset();
        };
        event done;
        auto signal = [](task<void> t, event& e) -> task<void> {
            co_await std::move(t);
            e.set();
        };
        spawn(signal(destroyer(c, victim), done));
        co_await yield(); // the destroyer's recv is in flight
        victim.emplace(reader(a, ran));
        victim->handle().resume();
        (void)co_await io::nop_op(); // the victim's recv is in flight too
        REQUIRE(::send(d.native_handle(), "1", 1, 0) == 1);
        REQUIRE(::send(b.native_handle(), "2", 1, 0) == 1);
        co_await done.wait();
        co_await yield();
        co_await yield();
        CHECK_FALSE(victim.has_value());
        co_return ran;
    }());
    CHECK_FALSE(resumed);
}

TEST_SUITE_END();
