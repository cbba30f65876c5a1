// tests/core/task_test.cpp: task<T> semantics: laziness, values, exceptions, constant stack.
#include "snow/core/task.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "support/run_test.hpp"

using namespace snow;
using testing::run_test;

TEST_SUITE_BEGIN("core.task");

namespace {
task<int> answer(int* started) {
    ++*started;
    co_return 42;
}
task<int> immediate(int i) {
    co_return i;
}
task<void> thrower() {
    throw std::runtime_error("boom");
    co_return;
}
task<std::unique_ptr<std::string>> move_only() {
    co_return std::make_unique<std::string>("moved");
}
} // namespace

TEST_CASE("a task does not start until it is awaited") {
    int started = 0;
    auto t = answer(&started);
    CHECK(started == 0);
    CHECK(run_test(std::move(t)) == 42);
    CHECK(started == 1);
}

TEST_CASE("a task carries move-only values to its awaiter") {
    auto value = run_test([]() -> task<std::string> { co_return *co_await move_only(); }());
    CHECK(value == "moved");
}

TEST_CASE("an exception thrown in a task reaches the awaiter") {
    auto caught = run_test([]() -> task<std::string> {
        try {
            co_await thrower();
        } catch (const std::runtime_error& e) {
            co_return e.what();
        }
        co_return "nothing";
    }());
    CHECK(caught == "boom");
}

TEST_CASE("run rethrows an exception that escapes the task") {
    CHECK_THROWS_WITH_AS(run_test(thrower()), "boom", std::runtime_error);
}

TEST_CASE("a million immediately-completing awaits run in constant stack") {
    // Symmetric transfer turns each await into a jump; without it this overflows the stack.
    auto sum = run_test([]() -> task<long> {
        long total = 0;
        for (int i = 0; i < 1'000'000; ++i) total += co_await immediate(i & 1);
        co_return total;
    }());
    CHECK(sum == 500'000);
}

TEST_CASE("a task can be moved, and a moved-from task is empty") {
    int started = 0;
    auto a = answer(&started);
    auto b = std::move(a);
    CHECK_FALSE(a.valid());
    CHECK(b.valid());
    CHECK(run_test(std::move(b)) == 42);
}

TEST_CASE("destroying a task that never started runs none of its body") {
    int started = 0;
    { auto t = answer(&started); }
    CHECK(started == 0);
}

TEST_SUITE_END();
