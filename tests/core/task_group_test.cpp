// tests/core/task_group_test.cpp: task_group, the owner that joins or destroys its children:
// join waits for every child, cancelling the joiner cancels the children and still waits, and
// destroying the group destroys children suspended or never started.
#include "snow/core/task_group.hpp"

#include <doctest/doctest.h>

#include <chrono>

#include "snow/io/run.hpp"
#include "snow/time/sleep.hpp"
#include "snow/time/timeout.hpp"
#include "support/run_test.hpp"

using namespace snow;
using namespace std::chrono_literals;
using testing::run_test;

TEST_SUITE_BEGIN("core.task_group");

namespace {
task<void> nap_then_count(std::chrono::milliseconds d, int& finished) {
    const bool expired = co_await sleep(d); // not inside the if: GCC 12 miscompiles that
    if (expired) ++finished;
}
} // namespace

TEST_CASE("a task_group joins every child before its owner goes on") {
    int finished = 0;
    run_test([](int& done) -> task<void> {
        task_group group;
        for (int i = 0; i < 5; ++i) group.spawn(nap_then_count(std::chrono::milliseconds(i), done));
        CHECK(group.size() == 5);
        co_await group.join();
        CHECK(group.empty());
        CHECK(done == 5);
    }(finished));
    CHECK(finished == 5);
}

TEST_CASE("cancelling a task that joins cancels the children, and the join still waits") {
    int finished = 0;
    run_test([](int& done) -> task<void> {
        auto joining = [](int& count) -> task<void> {
            task_group group;
            group.spawn(nap_then_count(10s, count));
            group.spawn(nap_then_count(10s, count));
            co_await group.join();
            CHECK(group.empty());
        };
        const auto start = std::chrono::steady_clock::now();
        co_await with_timeout(joining(done), 20ms);
        CHECK(std::chrono::steady_clock::now() - start < 5s);
    }(finished));
    CHECK(finished == 0);
}

TEST_CASE("destroying a task_group destroys its suspended children, also ones never started") {
    int finished = 0;
    run_test([](int& done) -> task<void> {
        {
            task_group group;
            group.spawn(nap_then_count(10s, done));
            co_await yield();                       // the first child now sleeps
            group.spawn(nap_then_count(0ms, done)); // queued, never started
        }
        co_await yield();
        co_await yield();
    }(finished));
    CHECK(finished == 0);
}

TEST_SUITE_END();
