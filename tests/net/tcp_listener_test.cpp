// tests/net/tcp_listener_test.cpp: a tcp_listener destroyed under a task waiting in accept(): the
// waiter wakes with operation_canceled, and one the loop destroys before it resumes never
// reaches back into the freed listener. These once touched freed memory; the sanitizer builds
// turn a regression into a report.
#include "snow/net/tcp_listener.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <system_error>

#include "snow/io/run.hpp"
#include "support/run_test.hpp"

using namespace snow;
using namespace std::chrono_literals;
using testing::run_test;

TEST_SUITE_BEGIN("net.tcp_listener");

namespace {
task<void> accept_once(net::tcp_listener& listener, std::optional<std::error_code>& outcome) {
    auto conn = co_await listener.accept();
    outcome = conn ? std::error_code{} : conn.error();
}
} // namespace

TEST_CASE("a listener destroyed while a task waits in accept wakes it with operation_canceled") {
    std::optional<std::error_code> outcome;
    run_test([](std::optional<std::error_code>& out) -> task<void> {
        std::optional<net::tcp_listener> listener = net::tcp_listener::bind("127.0.0.1:0").value();
        spawn(accept_once(*listener, out));
        co_await yield(); // the spawned task is now suspended in accept()
        co_await yield();
        REQUIRE_FALSE(out.has_value());
        listener.reset();
        co_await yield();
        co_await yield();
    }(outcome));
    REQUIRE(outcome.has_value());
    CHECK(*outcome == std::errc::operation_canceled);
}

TEST_CASE("a listener destroyed under a waiter, with the loop torn down before it resumes") {
    // The waiter is woken but never resumed: loop teardown destroys it, and its awaiter must
    // not reach back into the freed listener.
    std::optional<std::error_code> outcome;
    run_test([](std::optional<std::error_code>& out) -> task<void> {
        auto* listener = new net::tcp_listener(net::tcp_listener::bind("127.0.0.1:0").value());
        spawn(accept_once(*listener, out));
        co_await yield();
        co_await yield();
        delete listener;
    }(outcome));
    CHECK_FALSE(outcome.has_value());
}

TEST_SUITE_END();
