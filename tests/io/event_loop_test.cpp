// tests/io/event_loop_test.cpp: how the loop ends things: a task destroyed while it yields takes
// its queued wake-up back, a loop stopped mid-yield can run again, and loop teardown destroys
// spawned tasks newest first. These once touched freed memory; the sanitizer builds turn a
// regression into a report.
#include "snow/io/event_loop.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <stdexcept>
#include <vector>

#include "snow/io/run.hpp"
#include "snow/time/sleep.hpp"
#include "support/run_test.hpp"

using namespace snow;
using namespace std::chrono_literals;
using testing::run_test;

TEST_SUITE_BEGIN("io.event_loop");

namespace {
task<void> yield_forever(int& rounds) {
    for (;;) {
        ++rounds;
        co_await yield();
    }
}
} // namespace

TEST_CASE("a task destroyed while it yields takes its wake-up back") {
    int rounds = 0;
    run_test([](int& counted) -> task<void> {
        {
            auto looping = yield_forever(counted);
            looping.handle().resume(); // now suspended in yield(), its wake-up queued
            REQUIRE(counted == 1);
        } // destroyed with the wake-up still queued
        co_await yield();
        co_await yield();
    }(rounds));
    CHECK(rounds == 1);
}

TEST_CASE("a loop stopped while a task yields can run again") {
    auto loop = testing::make_loop();
    int rounds = 0;
    auto stopper = [](io::event_loop& l) -> task<void> {
        co_await yield();
        l.stop();
    };
    loop->spawn(stopper(*loop));
    CHECK_THROWS_AS(loop->run(yield_forever(rounds)), std::runtime_error);
    const int before = rounds;
    CHECK(before >= 1);
    loop->run([]() -> task<void> {
        co_await yield();
        co_await yield();
    }());
    CHECK(rounds == before); // the destroyed task was not resumed by the second run
}

TEST_CASE("the loop destroys spawned tasks newest first, whatever finished meanwhile") {
    std::vector<int> order;
    struct recorder {
        std::vector<int>& order;
        int id;
        ~recorder() { order.push_back(id); }
    };
    {
        auto loop = testing::make_loop();
        auto held = [](std::vector<int>& out, int id) -> task<void> {
            recorder r{out, id};
            (void)co_await sleep(10s);
        };
        loop->spawn(held(order, 1));
        loop->spawn([]() -> task<void> { co_return; }()); // finishes at once
        loop->spawn(held(order, 2));
        loop->spawn(held(order, 3));
        loop->run([]() -> task<void> {
            co_await yield();
            co_await yield();
        }());
    }
    CHECK(order == std::vector<int>{3, 2, 1});
}

TEST_SUITE_END();
