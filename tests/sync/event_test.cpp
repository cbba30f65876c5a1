// tests/sync/event_test.cpp: an event destroyed while a task waits on it wakes the task as not
// set rather than leaving it parked on freed memory.
#include "snow/sync/event.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <optional>

#include "snow/io/run.hpp"
#include "support/run_test.hpp"

using namespace snow;
using namespace std::chrono_literals;
using testing::run_test;

TEST_SUITE_BEGIN("sync.event");

namespace {
task<void> wait_for(event& e, std::optional<bool>& outcome) {
    outcome = co_await e.wait();
}
} // namespace

TEST_CASE("an event destroyed while a task waits on it wakes the task as not set") {
    std::optional<bool> outcome;
    run_test([](std::optional<bool>& out) -> task<void> {
        auto* e = new event;
        spawn(wait_for(*e, out));
        co_await yield();
        co_await yield();
        delete e;
        co_await yield();
        co_await yield();
    }(outcome));
    REQUIRE(outcome.has_value());
    CHECK_FALSE(*outcome);
}

TEST_SUITE_END();
