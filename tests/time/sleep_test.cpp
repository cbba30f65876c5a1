// tests/time/sleep_test.cpp: sleepers, deadlines in order, and task-level timeouts.
#include "snow/time/sleep.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "snow/core/when_any.hpp"
#include "snow/sync/event.hpp"
#include "snow/time/timeout.hpp"
#include "support/run_test.hpp"
#include "support/socket_pair.hpp"

using namespace snow;
using namespace std::chrono_literals;
using testing::run_test;

TEST_SUITE_BEGIN("time");

namespace {
struct wake_log {
    std::vector<std::pair<clock::time_point, int>> order; // (deadline, id) in wake order
    int remaining = 0;
    event all_woke;
};

task<void> sleeper(clock::time_point deadline, int id, wake_log& log) {
    bool expired = co_await sleep_until(deadline);
    CHECK(expired);
    CHECK(clock::now() >= deadline);
    log.order.emplace_back(deadline, id);
    if (--log.remaining == 0) log.all_woke.set();
}
} // namespace

TEST_CASE("100,000 concurrent sleepers each wake exactly once, in deadline order") {
    constexpr int count = 100'000;
    auto log = run_test(
        []() -> task<std::unique_ptr<wake_log>> {
            auto wakes = std::make_unique<wake_log>();
            wakes->remaining = count;
            std::mt19937 random(12345);
            std::uniform_int_distribution<int> offset_us(0, 200'000);
            auto base = clock::now() + 20ms;
            for (int id = 0; id < count; ++id)
                spawn(sleeper(base + std::chrono::microseconds(offset_us(random)), id, *wakes));
            co_await wakes->all_woke.wait();
            co_return wakes;
        }(),
        60s);
    REQUIRE(log->order.size() == count);
    CHECK(std::is_sorted(log->order.begin(), log->order.end(),
                         [](auto& a, auto& b) { return a.first < b.first; }));
    std::vector<int> ids;
    for (auto& [deadline, id] : log->order) ids.push_back(id);
    std::sort(ids.begin(), ids.end());
    CHECK(std::adjacent_find(ids.begin(), ids.end()) == ids.end()); // nobody woke twice
}

TEST_CASE("sleepers with equal deadlines wake in the order they began") {
    auto order = run_test([]() -> task<std::vector<int>> {
        wake_log log;
        log.remaining = 5;
        auto deadline = clock::now() + 5ms;
        for (int id = 0; id < 5; ++id) spawn(sleeper(deadline, id, log));
        co_await log.all_woke.wait();
        std::vector<int> ids;
        for (auto& entry : log.order) ids.push_back(entry.second);
        co_return ids;
    }());
    CHECK(order == std::vector<int>{0, 1, 2, 3, 4});
}

TEST_CASE("sleep waits at least its duration") {
    auto elapsed = run_test([]() -> task<clock::duration> {
        auto start = clock::now();
        co_await sleep(25ms);
        co_return clock::now() - start;
    }());
    CHECK(elapsed >= 25ms);
}

TEST_CASE("sleep_until a past deadline returns on the next turn") {
    auto expired =
        run_test([]() -> task<bool> { co_return co_await sleep_until(clock::now() - 1s); }());
    CHECK(expired);
}

TEST_CASE("a cancelled sleep returns false at once") {
    auto outcome = run_test([]() -> task<std::pair<std::size_t, clock::duration>> {
        auto start = clock::now();
        auto long_sleep = []() -> task<bool> { co_return co_await sleep(10s); };
        auto short_sleep = []() -> task<bool> { co_return co_await sleep(5ms); };
        auto first = co_await when_any(long_sleep(), short_sleep());
        co_return std::pair{first.index, clock::now() - start};
    }());
    CHECK(outcome.first == 1);
    CHECK(outcome.second < 5s);
}

TEST_CASE("with_timeout on a task cancels its in-flight recv and reports timed_out") {
    auto [error, pending] = run_test([]() -> task<std::pair<std::error_code, std::size_t>> {
        auto [a, b] = testing::socket_pair();
        auto read_some = [](net::tcp_stream& s) -> task<result<std::size_t>> {
            std::array<std::byte, 32> buffer{};
            co_return co_await s.recv(buffer);
        };
        auto r = co_await with_timeout(read_some(a), 20ms);
        auto sent = co_await b.send_all("still here");
        REQUIRE(sent);
        co_await sleep(5ms);
        co_return std::pair{r.error(), testing::pending_bytes(a)};
    }());
    CHECK(error == std::errc::timed_out);
    CHECK(error.message().find("timed out") != std::string::npos);
    CHECK(pending == 10);
}

TEST_CASE("with_timeout does not disturb a task that finishes in time") {
    auto value = run_test([]() -> task<result<int>> {
        auto quick = []() -> task<result<int>> {
            co_await sleep(1ms);
            co_return 7;
        };
        co_return co_await with_timeout(quick(), 5s);
    }());
    REQUIRE(value.has_value());
    CHECK(*value == 7);
}

TEST_CASE("an inner timeout shorter than the outer one reports timed_out to the inner task") {
    auto [inner, outer] = run_test([]() -> task<std::pair<std::error_code, std::error_code>> {
        std::error_code inner_error;
        auto nested = [](std::error_code& out) -> task<result<void>> {
            auto forever = []() -> task<result<void>> {
                auto [a, b] = testing::socket_pair();
                std::array<std::byte, 8> buf{};
                auto n = co_await a.recv(buf);
                if (!n) co_return n.error();
                co_return result<void>{};
            };
            auto r = co_await with_timeout(forever(), 10ms);
            out = r.error();
            co_return r;
        };
        auto r = co_await with_timeout(nested(inner_error), 5s);
        co_return std::pair{inner_error, r.error()};
    }());
    CHECK(inner == std::errc::timed_out);
    CHECK(outer == std::errc::timed_out); // passed through unchanged
}

TEST_SUITE_END();
