// tests/sim/posts_test.cpp: work posted to a loop through its handle, as another loop or a
// worker thread posts it, at random virtual instants and in bursts, each post answered
// through a promise whose waiter has a deadline of its own. Every post must run exactly
// once, in the order its poster made them, and a handle that outlives its loop must refuse
// work. The posts here come from the loop's own thread, so a seed replays exactly; the
// cross-thread path is the same eventfd, exercised under TSan by tests/io/spawn_test.cpp.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "sim/harness.hpp"
#include "snow/core/task_group.hpp"
#include "snow/io/event_loop.hpp"
#include "snow/sync/future.hpp"
#include "snow/time/sleep.hpp"
#include "snow/time/timeout.hpp"

using namespace snow;
using namespace std::chrono_literals;
namespace sim = snow::testing::sim;

TEST_SUITE_BEGIN("sim");

namespace {

/// What the posts of all seeds did.
struct post_totals {
    std::uint64_t posted = 0;   ///< post() calls that returned true
    std::uint64_t ran = 0;      ///< posted functions that ran
    std::uint64_t nested = 0;   ///< posts made from inside a posted function, that ran
    std::uint64_t answered = 0; ///< waiters that got their post's value
    std::uint64_t late = 0;     ///< waiters whose deadline came first
    std::uint64_t out_of_order = 0;
    std::uint64_t wrong_value = 0;
    /// The handle of the last seed's loop, kept past the loop's end.
    std::shared_ptr<io::loop_handle> stale;
};

/// What one poster's posts saw, in the order they ran.
struct poster_log {
    std::vector<std::uint64_t> ran;
};

task<result<std::uint64_t>> wait_for(future<std::uint64_t> f) {
    auto value = co_await f;
    co_return value;
}

/// Waits for post `index` of one poster, with a deadline that may come before it runs.
task<void> waiter(sim::context& ctx, future<std::uint64_t> answer, std::uint64_t index,
                  clock::duration limit, post_totals& totals) {
    auto r = co_await with_timeout(wait_for(std::move(answer)), limit);
    if (r) {
        ++totals.answered;
        if (*r != index) ++totals.wrong_value;
    } else {
        ++totals.late;
    }
    ctx.note(index * 2 + (r ? 1 : 0));
}

/// Posts `count` functions through `handle` at random instants: some in the same turn, some
/// posting again from inside the loop's drain of posted work.
task<void> poster(sim::context& ctx, std::shared_ptr<io::loop_handle> handle, std::uint64_t id,
                  std::uint64_t count, poster_log& log, post_totals& totals, task_group& waiters) {
    for (std::uint64_t i = 0; i < count; ++i) {
        const auto pause = std::chrono::microseconds(ctx.random().below(3) * 500);
        if (pause > 0us) (void)co_await sleep(pause);
        auto answer = std::make_shared<promise<std::uint64_t>>();
        const clock::duration limit = std::chrono::microseconds(ctx.random().below(4) * 50);
        waiters.spawn(waiter(ctx, answer->get_future(), i, limit, totals));
        const bool again = ctx.random().below(8) == 0;
        const bool posted = handle->post([&log, &totals, &ctx, answer, i, id, again, handle] {
            ++totals.ran;
            if (!log.ran.empty() && log.ran.back() >= i) ++totals.out_of_order;
            log.ran.push_back(i);
            if (answer->abandoned()) ctx.count(sim::mark::future_orphaned);
            answer->set_value(i);
            ctx.note(id << 32 | i);
            // A post made while the loop drains its posted work runs on a later turn.
            if (again && handle->post([&totals] { ++totals.nested; })) ++totals.posted;
        });
        if (posted) ++totals.posted;
    }
}

sim::scenario posts(post_totals& totals) {
    return [&totals](sim::context& ctx) -> task<void> {
        auto handle = io::event_loop::current().handle();
        totals.stale = handle;
        const std::uint64_t posters = 1 + ctx.random().below(8);
        std::vector<poster_log> logs(posters);
        task_group waiters;
        task_group senders;
        for (std::uint64_t p = 0; p < posters; ++p)
            senders.spawn(
                poster(ctx, handle, p, 1 + ctx.random().below(20), logs[p], totals, waiters));
        co_await senders.join();
        co_await waiters.join();
        // Posts still queued must all run before the loop ends: wait for the last of them.
        const auto drained = std::make_shared<promise<std::uint64_t>>();
        auto last = drained->get_future();
        (void)handle->post([drained] { drained->set_value(0); });
        (void)co_await last;
    };
}

post_totals listed_totals;
const sim::listed posts_listed("posts", [] { return posts(listed_totals); });

} // namespace

TEST_CASE("posts through a loop's handle run once each, in order, and not after the loop") {
    post_totals totals;
    const sim::totals seen =
        sim::run_seeds("posts", 1000, posts(totals),
                       {sim::mark::future_orphaned, sim::mark::timer_and_completion});
    std::printf("sim posts: %llu posted, %llu ran (%llu nested), %llu answered, %llu late\n",
                static_cast<unsigned long long>(totals.posted),
                static_cast<unsigned long long>(totals.ran + totals.nested),
                static_cast<unsigned long long>(totals.nested),
                static_cast<unsigned long long>(totals.answered),
                static_cast<unsigned long long>(totals.late));
    CHECK(totals.posted == totals.ran + totals.nested);
    CHECK(totals.out_of_order == 0);
    CHECK(totals.wrong_value == 0);
    CHECK(totals.answered > 0);
    CHECK(totals.nested > 0);
    if (seen.seeds >= 200) CHECK(totals.late > 0);

    // The loop is gone: its handle refuses work and drops it unrun.
    REQUIRE(totals.stale);
    bool ran = false;
    auto guard = std::make_shared<int>(0);
    std::weak_ptr<int> watch = guard;
    CHECK_FALSE(totals.stale->post([&ran, guard = std::move(guard)] { ran = true; }));
    CHECK_FALSE(ran);
    CHECK(watch.expired());
}

TEST_SUITE_END();
