// tests/core/teardown_test.cpp: the paths that end things. Destroying a task, a listener, an
// event or a loop while others still wait on it; cancellation racing completion; durations
// that mean "never". Each case here once touched freed memory or lost data; the sanitizer
// builds turn a regression into a report.
#include <doctest/doctest.h>

#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "snow/sync/event.hpp"
#include "snow/net/resolver.hpp"
#include "snow/net/tcp_listener.hpp"
#include "snow/net/tcp_stream.hpp"
#include "snow/io/run.hpp"
#include "snow/core/task_group.hpp"
#include "snow/time/sleep.hpp"
#include "snow/time/timeout.hpp"
#include "snow/core/when_any.hpp"
#include "support/run_test.hpp"
#include "support/socket_pair.hpp"

using namespace snow;
using namespace std::chrono_literals;
using testing::run_test;

TEST_SUITE_BEGIN("core.teardown");

namespace {
task<void> accept_once(net::tcp_listener& listener, std::optional<std::error_code>& outcome) {
    auto conn = co_await listener.accept();
    outcome = conn ? std::error_code{} : conn.error();
}

task<void> wait_for(event& e, std::optional<bool>& outcome) {
    outcome = co_await e.wait();
}

task<void> yield_forever(int& rounds) {
    for (;;) {
        ++rounds;
        co_await yield();
    }
}

task<result<std::size_t>> receive_into(net::tcp_stream& s, std::vector<std::byte>& buffer) {
    co_return co_await s.recv(buffer);
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

TEST_CASE("localhost and names under .localhost are loopback, without a lookup") {
    for (const char* name : {"localhost", "LocalHost.", "app.localhost", "a.b.localhost"}) {
        auto addresses = run_test(net::resolve(name, 8080));
        REQUIRE_MESSAGE(addresses.has_value(), name);
        REQUIRE(addresses->size() == 2);
        CHECK((*addresses)[0].to_string() == "127.0.0.1:8080");
        CHECK((*addresses)[1].to_string() == "[::1]:8080");
    }
}

// ---------------------------------------------------------------------------------------
// task_group: the owner joins or destroys its children

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
