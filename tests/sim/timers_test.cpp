// tests/sim/timers_test.cpp: the loop's timers on a simulated kernel: many sleepers with
// random cancels, each waking exactly once, at its deadline or at its cancel, in virtual
// time that skips straight to the next deadline.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include "sim/harness.hpp"
#include "snow/core/task_group.hpp"
#include "snow/time/sleep.hpp"

using namespace snow;
using namespace std::chrono_literals;
namespace sim = snow::testing::sim;

TEST_SUITE_BEGIN("sim");

namespace {

// A wake-up may land up to a few enters after its deadline: each enter takes a little
// virtual time (faults::enter_cost) and a completion may be held back for some of them.
constexpr clock::duration tick = 10ms;

struct sleeper_log {
    clock::time_point deadline{};
    clock::time_point cancel_at = clock::time_point::max();
    clock::time_point woke{};
    int wakes = 0;
    bool expired = false;
};

task<void> sleeper(sleeper_log& log, sim::context& ctx, std::uint64_t id) {
    const bool expired = co_await sleep_until(log.deadline);
    ++log.wakes;
    log.expired = expired;
    log.woke = clock::now();
    ctx.note(id * 2 + (expired ? 1 : 0));
}

task<void> canceller(cancel_source& source, clock::time_point at) {
    (void)co_await sleep_until(at);
    source.request();
}

/// `count` sleepers over ten virtual minutes; about a third are cancelled at a random
/// instant by a task of their own.
sim::scenario sleepers(std::size_t count) {
    return [count](sim::context& ctx) -> task<void> {
        auto logs = std::make_unique<sleeper_log[]>(count);
        auto sources = std::make_unique<cancel_source[]>(count);
        const auto start = clock::now();
        {
            task_group group;
            for (std::size_t i = 0; i < count; ++i) {
                logs[i].deadline = start + ctx.any_duration(10min);
                group.spawn(with_cancellation(sleeper(logs[i], ctx, i), sources[i]));
                if (ctx.random().chance(0.3)) {
                    logs[i].cancel_at = start + ctx.any_duration(10min);
                    group.spawn(canceller(sources[i], logs[i].cancel_at));
                }
            }
            co_await group.join();
        }
        // Counted, then checked once: a CHECK per sleeper would dominate the run.
        std::size_t wrong = 0;
        std::size_t first_wrong = count;
        for (std::size_t i = 0; i < count; ++i) {
            const sleeper_log& log = logs[i];
            bool ok = log.wakes == 1;
            if (log.expired) {
                ok = ok && log.woke >= log.deadline && log.woke - log.deadline <= tick;
            } else {
                ok = ok && log.cancel_at <= log.deadline && log.woke >= log.cancel_at &&
                     log.woke - log.cancel_at <= tick;
            }
            if (!ok && wrong++ == 0) first_wrong = i;
        }
        CHECK_MESSAGE(wrong == 0, wrong, " sleepers woke wrongly, the first is #", first_wrong);
    };
}

} // namespace

TEST_CASE("2,000 sleepers with random cancels wake once each, over 1,000 seeds") {
    sim::run_seeds("sleepers x2000", 1000, sleepers(2000));
}

TEST_CASE("100,000 timers with random cancels finish in virtual time, well under a second") {
    for (std::uint64_t seed : sim::fixed_seeds(3)) {
        const auto real_start = std::chrono::steady_clock::now();
        const sim::outcome out = sim::run_one("sleepers x100000", seed, sleepers(100'000));
        const auto real = std::chrono::steady_clock::now() - real_start;
        std::printf("sim sleepers x100000 seed %llu: %.0f virtual s in %.3f real s\n",
                    static_cast<unsigned long long>(seed),
                    std::chrono::duration<double>(out.virtual_elapsed).count(),
                    std::chrono::duration<double>(real).count());
        // Ten virtual minutes pass; the sanitizer build is allowed more than a second.
        CHECK(out.virtual_elapsed >= 9min);
        CHECK(real < 20s);
    }
}

TEST_CASE("virtual time passes only when the loop waits, and jumps to the next timer") {
    sim::run_one("jump", 1, [](sim::context&) -> task<void> {
        const auto before = clock::now();
        const auto real_before = std::chrono::steady_clock::now();
        const bool expired = co_await sleep(1h);
        CHECK(expired);
        CHECK(clock::now() - before >= 1h);
        CHECK(clock::now() - before < 1h + tick);
        CHECK(std::chrono::steady_clock::now() - real_before < 5s);
    });
}

TEST_SUITE_END();
