// tests/time/timeout_test.cpp: timeouts at their edges: with_timeout destroyed while its task is
// in flight, durations that mean "never" saturating instead of firing at once, and a linked
// timeout on the smallest ring. The sanitizer builds turn a regression into a report.
#include "snow/time/timeout.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstddef>
#include <system_error>
#include <vector>

#include "snow/io/run.hpp"
#include "snow/net/tcp_stream.hpp"
#include "snow/time/sleep.hpp"
#include "support/run_test.hpp"
#include "support/socket_pair.hpp"

using namespace snow;
using namespace std::chrono_literals;
using testing::run_test;

TEST_SUITE_BEGIN("time.timeout");

namespace {
task<result<std::size_t>> receive_into(net::tcp_stream& s, std::vector<std::byte>& buffer) {
    co_return co_await s.recv(buffer);
}
} // namespace

TEST_CASE("with_timeout destroyed while its task is in flight cancels and reaps the task") {
    run_test([]() -> task<void> {
        auto [left, right] = testing::socket_pair();
        std::vector<std::byte> buffer(64);
        {
            auto guarded = with_timeout(receive_into(left, buffer), 10s);
            guarded.handle().resume(); // the recv is in flight under the timeout's scope
        }                              // destroyed: the scope and the recv must go in a safe order
        co_await yield();
        (void)right;
    }());
}

TEST_CASE("a duration meaning forever saturates instead of firing at once") {
    run_test(
        []() -> task<void> {
            const auto start = std::chrono::steady_clock::now();
            auto slept = co_await with_timeout(
                []() -> task<bool> { co_return co_await sleep(std::chrono::seconds::max()); }(),
                50ms);
            CHECK_FALSE(slept); // cancelled by the timeout, not expired
            CHECK(std::chrono::steady_clock::now() - start >= 50ms);

            // A deadline of hours::max() must not cancel a short sleep at once.
            auto expired =
                co_await with_timeout([]() -> task<bool> { co_return co_await sleep(20ms); }(),
                                      std::chrono::hours::max());
            CHECK(expired);
        }(),
        5s);
}

TEST_CASE("a recv with a linked timeout still times out on the smallest ring") {
    io::loop_options tiny;
    tiny.ring.entries = 1; // raised to 2: a linked pair must fit in one submission
    tiny.ring.cq_factor = 1;
    run_test(
        []() -> task<void> {
            auto [left, right] = testing::socket_pair();
            for (int i = 0; i < 20; ++i) {
                std::vector<std::byte> buffer(8);
                auto n = co_await left.recv(buffer).timeout(1ms);
                REQUIRE_FALSE(n.has_value());
                CHECK(n.error() == std::errc::timed_out);
            }
            (void)right;
        }(),
        5s, tiny);
}

TEST_SUITE_END();
