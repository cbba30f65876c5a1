// tests/core/when_test.cpp: when_all joins everything; when_any keeps the first and cancels
// the rest in the kernel before it returns, keeping the bytes a losing recv had already taken.
#include "snow/core/when_all.hpp"
#include "snow/core/when_any.hpp"

#include <doctest/doctest.h>

#include <sys/socket.h>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "snow/time/sleep.hpp"
#include "support/run_test.hpp"
#include "support/socket_pair.hpp"

using namespace snow;
using namespace std::chrono_literals;
using testing::run_test;

TEST_SUITE_BEGIN("core.when");

namespace {
task<int> after(std::chrono::milliseconds d, int value) {
    co_await sleep(d);
    co_return value;
}
task<void> fail_after(std::chrono::milliseconds d) {
    co_await sleep(d);
    throw std::runtime_error("child failed");
}
} // namespace

TEST_CASE("when_all runs tasks concurrently and returns their values in order") {
    auto [values, elapsed] =
        run_test([]() -> task<std::pair<std::tuple<int, int, std::monostate>, clock::duration>> {
            auto start = clock::now();
            auto all = co_await when_all(after(60ms, 1), after(10ms, 2),
                                         []() -> task<void> { co_await sleep(30ms); }());
            co_return std::pair{all, clock::now() - start};
        }());
    CHECK(std::get<0>(values) == 1);
    CHECK(std::get<1>(values) == 2);
    CHECK(elapsed >= 60ms);
    CHECK(elapsed < 60ms * 3); // concurrent, not 100 ms in sequence (generous slack)
}

TEST_CASE("when_all over a vector keeps the order of the vector") {
    auto values = run_test([]() -> task<std::vector<int>> {
        std::vector<task<int>> tasks;
        for (int i = 0; i < 10; ++i) tasks.push_back(after(std::chrono::milliseconds(10 - i), i));
        co_return co_await when_all(std::move(tasks));
    }());
    REQUIRE(values.size() == 10);
    for (int i = 0; i < 10; ++i) CHECK(values[static_cast<std::size_t>(i)] == i);
}

TEST_CASE("when_all rethrows a child's exception only after every child has finished") {
    bool slow_finished = false;
    CHECK_THROWS_WITH(run_test([](bool& finished) -> task<void> {
                          auto slow = [](bool& done) -> task<void> {
                              co_await sleep(40ms);
                              done = true;
                          };
                          co_await when_all(fail_after(1ms), slow(finished));
                      }(slow_finished)),
                      "child failed");
    CHECK(slow_finished);
}

TEST_CASE("when_any returns the first to finish and cancels the others") {
    auto result = run_test(
        []() -> task<any_result<int>> {
            co_return co_await when_any(after(5s, 1), after(5ms, 2), after(10s, 3));
        }(),
        3s);
    CHECK(result.index == 1);
    CHECK(result.value == 2);
}

TEST_CASE("when_any cancels a losing recv in the kernel before it returns") {
    auto [pending, loser_error] = run_test([]() -> task<std::pair<std::size_t, std::error_code>> {
        auto [a, b] = testing::socket_pair();
        std::array<std::byte, 64> buffer{};
        auto reader = [](net::tcp_stream& s, std::span<std::byte> buf) -> task<std::error_code> {
            auto n = co_await s.recv(buf);
            co_return n ? std::error_code{} : n.error();
        };
        auto quick = []() -> task<std::error_code> {
            co_await sleep(5ms);
            co_return std::make_error_code(std::errc::timed_out);
        };
        std::vector<task<std::error_code>> race;
        race.push_back(reader(a, buffer));
        race.push_back(quick());
        auto winner = co_await when_any(std::move(race));
        CHECK(winner.index == 1);
        // The loser's recv is gone from the kernel: bytes sent now stay in the socket.
        auto sent = co_await b.send_all("late");
        REQUIRE(sent);
        co_await sleep(5ms);
        co_return std::pair{testing::pending_bytes(a), std::error_code{}};
    }());
    CHECK(pending == 4);
    (void)loser_error;
}

TEST_CASE("when_any keeps the bytes a losing recv had already taken") {
    const std::size_t total = run_test([]() -> task<std::size_t> {
        auto [left, right] = testing::socket_pair();
        std::size_t received = 0;
        std::size_t sent = 0;
        for (int round = 0; round < 300; ++round) {
            const std::string chunk(10, 'x');
            REQUIRE(::send(right.native_handle(), chunk.data(), chunk.size(), 0) == 10);
            sent += 10;
            std::vector<std::byte> buffer(64);
            auto recv_task = [](net::tcp_stream& s,
                                std::vector<std::byte>& b) -> task<std::size_t> {
                auto n = co_await s.recv(b);
                co_return n ? *n : 0;
            };
            auto timer = []() -> task<std::size_t> {
                (void)co_await sleep(0ms);
                co_return 0;
            };
            auto raced = co_await when_any(recv_task(left, buffer), timer());
            received += raced.index == 0 ? raced.value : raced.others[0].value_or(0);
        }
        // Whatever no round took is still in the socket.
        while (received < sent) {
            std::vector<std::byte> buffer(4096);
            auto n = co_await left.recv(buffer).timeout(100ms);
            if (!n || *n == 0) break;
            received += *n;
        }
        CHECK(received == sent);
        co_return received;
    }());
    CHECK(total == 3000);
}

TEST_SUITE_END();
