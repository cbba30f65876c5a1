// tests/io/event_loop_test.cpp: how the loop ends things: a task destroyed while it yields takes
// its queued wake-up back, a loop stopped mid-yield can run again, loop teardown destroys
// spawned tasks newest first, and a loop that a posted function ends may go at once. These
// once touched freed memory or a closed descriptor; the sanitizer builds turn a regression
// into a report.
#include "snow/io/event_loop.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "snow/io/run.hpp"
#include "snow/sync/event.hpp"
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

TEST_CASE("a loop that a posted function ends may be destroyed at once") {
    // The loop's thread destroys the loop, closing its eventfd, as soon as the posted
    // function has run; post() on the other thread must be done with the eventfd by then.
    // It once woke the loop after letting go of the lock: TSan reported that write racing
    // the close, and a reused descriptor number would have taken the 8 bytes.
    for (int round = 0; round < 20; ++round) {
        auto started = std::make_shared<std::promise<io::event_loop*>>();
        auto running = started->get_future();
        event finished;
        bool ended = false;
        std::thread owner([started, &finished, &ended] {
            auto loop = testing::make_loop();
            started->set_value(loop.get());
            loop->run([](event& done, bool& flag) -> task<void> {
                co_await done.wait();
                flag = true;
            }(finished, ended));
        });
        running.get()->post([&finished] { finished.set(); });
        owner.join();
        CHECK(ended);
    }
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
