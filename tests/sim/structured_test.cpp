// tests/sim/structured_test.cpp: structured concurrency on a simulated kernel. Virtual time
// makes the outcomes exact: with_timeout, when_any, futures and events must end at the
// earlier of their deadline and their work, and a task_group stopped at a random instant
// must end every child once, promptly.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "sim/harness.hpp"
#include "snow/core/task_group.hpp"
#include "snow/core/when_any.hpp"
#include "snow/sync/event.hpp"
#include "snow/sync/future.hpp"
#include "snow/time/sleep.hpp"
#include "snow/time/timeout.hpp"

using namespace snow;
using namespace std::chrono_literals;
namespace sim = snow::testing::sim;

TEST_SUITE_BEGIN("sim");

namespace {

constexpr clock::duration tick = 10ms;

/// Whole milliseconds in [0, most], so that equal deadlines happen often.
clock::duration whole_ms(sim::context& ctx, std::uint64_t most) {
    return std::chrono::milliseconds(ctx.random().below(most + 1));
}

bool within(clock::duration elapsed, clock::duration expected) {
    return elapsed >= expected && elapsed <= expected + tick;
}

task<result<void>> nap(clock::duration d) {
    const bool slept = co_await sleep(d);
    if (slept) co_return result<void>{};
    co_return std::make_error_code(std::errc::operation_canceled);
}

/// with_timeout(nap(work), limit): both deadlines are taken in the same turn, and the
/// timeout's timer is queued first, so the task finishes iff work < limit.
task<void> timed_nap(sim::context& ctx, std::uint64_t id, std::size_t& wrong) {
    const auto work = whole_ms(ctx, 20);
    const auto limit = whole_ms(ctx, 20);
    const auto start = clock::now();
    auto r = co_await with_timeout(nap(work), limit);
    const auto elapsed = clock::now() - start;
    const bool ok = work < limit
                        ? (r.has_value() && within(elapsed, work))
                        : (!r && r.error() == std::errc::timed_out && within(elapsed, limit));
    if (!ok) ++wrong;
    ctx.note(id * 2 + (r ? 1 : 0));
}

task<void> race(sim::context& ctx, std::uint64_t id, std::size_t& wrong) {
    const clock::duration d[3] = {whole_ms(ctx, 10), whole_ms(ctx, 10), whole_ms(ctx, 10)};
    const auto start = clock::now();
    auto r = co_await when_any(nap(d[0]), nap(d[1]), nap(d[2]));
    const auto elapsed = clock::now() - start;
    const auto fastest = *std::min_element(std::begin(d), std::end(d));
    if (r.index >= 3 || d[r.index] != fastest || !within(elapsed, fastest)) ++wrong;
    ctx.note(id * 4 + r.index);
}

task<result<int>> wait_future(future<int> f) {
    auto value = co_await f;
    co_return value;
}

task<void> resolve_later(promise<int> p, clock::duration after, int value, std::size_t& abandoned) {
    (void)co_await sleep(after);
    // Resolving a promise whose waiter timed out and was destroyed must be harmless.
    if (p.abandoned()) ++abandoned;
    p.set_value(value);
}

task<void> awaited_future(sim::context& ctx, task_group& group, std::uint64_t id,
                          std::size_t& wrong, std::size_t& abandoned) {
    const auto resolve_after = whole_ms(ctx, 20);
    const auto limit = whole_ms(ctx, 20);
    promise<int> p;
    auto f = p.get_future();
    group.spawn(resolve_later(std::move(p), resolve_after, static_cast<int>(id), abandoned));
    auto r = co_await with_timeout(wait_future(std::move(f)), limit);
    bool ok = true;
    if (resolve_after + tick < limit) ok = r.has_value() && *r == static_cast<int>(id);
    if (resolve_after >= limit) ok = !r && r.error() == std::errc::timed_out;
    if (r && *r != static_cast<int>(id)) ok = false;
    if (!ok) ++wrong;
    ctx.note(id * 2 + (r ? 1 : 0));
}

task<result<void>> wait_event(event& e) {
    const bool was_set = co_await e.wait();
    if (was_set) co_return result<void>{};
    co_return std::make_error_code(std::errc::operation_canceled);
}

task<void> set_later(event& e, clock::duration after) {
    (void)co_await sleep(after);
    e.set();
}

task<void> awaited_event(sim::context& ctx, std::uint64_t id, std::size_t& wrong) {
    const auto set_after = whole_ms(ctx, 20);
    const auto limit = whole_ms(ctx, 20);
    event e;
    task_group setter;
    setter.spawn(set_later(e, set_after));
    auto r = co_await with_timeout(wait_event(e), limit);
    bool ok = true;
    if (set_after + tick < limit) ok = r.has_value();
    if (set_after >= limit) ok = !r && r.error() == std::errc::timed_out;
    if (!ok) ++wrong;
    co_await setter.join();
    ctx.note(id * 2 + (r ? 1 : 0));
}

sim::scenario deadlines(std::size_t count) {
    return [count](sim::context& ctx) -> task<void> {
        std::size_t wrong = 0;
        std::size_t abandoned = 0;
        {
            task_group group;
            for (std::size_t i = 0; i < count; ++i) {
                switch (ctx.random().below(4)) {
                case 0:
                    group.spawn(timed_nap(ctx, i, wrong));
                    break;
                case 1:
                    group.spawn(race(ctx, i, wrong));
                    break;
                case 2:
                    group.spawn(awaited_future(ctx, group, i, wrong, abandoned));
                    break;
                default:
                    group.spawn(awaited_event(ctx, i, wrong));
                    break;
                }
            }
            co_await group.join();
        }
        CHECK_MESSAGE(wrong == 0, wrong, " of ", count, " tasks ended at the wrong time");
        ctx.note(abandoned);
        ctx.count(sim::mark::future_orphaned, abandoned);
    };
}

struct worker_log {
    int endings = 0;
    int rounds = 0;
    bool finished = false; ///< did every round before the stop
    clock::time_point ended{};
};

task<void> worker(worker_log& log, int rounds, clock::duration step) {
    for (int i = 0; i < rounds; ++i) {
        const bool slept = co_await sleep(step);
        if (!slept) break;
        ++log.rounds;
    }
    log.finished = log.rounds == rounds;
    log.ended = clock::now();
    ++log.endings;
}

task<void> stop_at(task_group& group, clock::time_point at) {
    (void)co_await sleep_until(at);
    group.cancel();
}

/// `count` workers stopped together at a random instant: each ends once, the unfinished
/// ones right after the stop, and the group's join right after the last of them.
sim::scenario graceful_stop(std::size_t count) {
    return [count](sim::context& ctx) -> task<void> {
        auto logs = std::make_unique<worker_log[]>(count);
        const auto start = clock::now();
        const auto stop = start + ctx.any_duration(100ms);
        task_group group;
        task_group stopper;
        for (std::size_t i = 0; i < count; ++i) {
            const int rounds = 1 + static_cast<int>(ctx.random().below(10));
            group.spawn(
                worker(logs[i], rounds, std::chrono::microseconds(1 + ctx.random().below(20'000))));
        }
        stopper.spawn(stop_at(group, stop));
        co_await group.join();
        const auto joined = clock::now();
        std::size_t wrong = 0;
        for (std::size_t i = 0; i < count; ++i) {
            const worker_log& log = logs[i];
            bool ok = log.endings == 1 && log.ended <= joined;
            if (!log.finished) ok = ok && log.ended >= stop && log.ended - stop <= tick;
            if (!ok) ++wrong;
            ctx.note(static_cast<std::uint64_t>(log.rounds));
        }
        CHECK_MESSAGE(wrong == 0, wrong, " of ", count, " workers ended wrongly");
        CHECK(joined <= std::max(stop, start) + 200ms + tick);
        stopper.cancel();
        co_await stopper.join();
    };
}

} // namespace

TEST_CASE(
    "with_timeout, when_any, futures and events end at the earlier deadline, over 2,000 seeds") {
    sim::run_seeds("deadlines x200", 2000, deadlines(200), {sim::mark::future_orphaned});
}

TEST_CASE(
    "a task_group stopped at a random virtual instant ends every child once, over 1,000 seeds") {
    sim::run_seeds("graceful stop x100", 1000, graceful_stop(100));
}

TEST_SUITE_END();
