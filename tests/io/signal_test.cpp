// tests/io/signal_test.cpp: io::signal_set, signals read as values on the ring. The signals
// are sent to the whole process, as kill(1) and Ctrl-C send them; every test reads what it
// sends, so nothing is left pending when a set unblocks its signals again.
#include "snow/io/signal.hpp"

#include <doctest/doctest.h>

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <set>

#include "snow/io/run.hpp"
#include "snow/time/timeout.hpp"
#include "support/run_test.hpp"

using namespace snow;
using namespace std::chrono_literals;
using testing::run_test;

TEST_SUITE_BEGIN("io.signal");

namespace {
bool is_blocked(int number) {
    sigset_t mask;
    ::pthread_sigmask(SIG_BLOCK, nullptr, &mask);
    return ::sigismember(&mask, number) == 1;
}

task<void> send_after_a_turn(int number) {
    co_await yield();
    ::kill(::getpid(), number);
}
} // namespace

TEST_CASE("a signal sent while next() waits is its value") {
    auto signals = io::signal_set::create({SIGUSR1});
    REQUIRE(signals.has_value());
    auto received = run_test([](io::signal_set* set) -> task<result<int>> {
        spawn(send_after_a_turn(SIGUSR1));
        co_return co_await set->next();
    }(&*signals));
    REQUIRE(received.has_value());
    CHECK(*received == SIGUSR1);
}

TEST_CASE("signals already pending are read one per next()") {
    auto signals = io::signal_set::create({SIGUSR1, SIGUSR2});
    REQUIRE(signals.has_value());
    ::kill(::getpid(), SIGUSR1);
    ::kill(::getpid(), SIGUSR2);
    auto received = run_test([](io::signal_set* set) -> task<std::set<int>> {
        std::set<int> numbers;
        for (int i = 0; i < 2; ++i) {
            auto number = co_await set->next();
            if (number) numbers.insert(*number);
        }
        co_return numbers;
    }(&*signals));
    CHECK(received == std::set<int>{SIGUSR1, SIGUSR2});
}

TEST_CASE("a wait cancelled by a timeout ends without a signal, and the set still works") {
    auto signals = io::signal_set::create({SIGUSR1});
    REQUIRE(signals.has_value());
    auto outcome = run_test([](io::signal_set* set) -> task<std::pair<result<int>, result<int>>> {
        auto timed_out = co_await with_timeout(set->next(), 20ms);
        spawn(send_after_a_turn(SIGUSR1));
        auto received = co_await set->next();
        co_return std::pair{timed_out, received};
    }(&*signals));
    REQUIRE_FALSE(outcome.first.has_value());
    CHECK(outcome.first.error() == std::errc::timed_out);
    REQUIRE(outcome.second.has_value());
    CHECK(*outcome.second == SIGUSR1);
}

TEST_CASE("destroying a set unblocks the signals it blocked and keeps those already blocked") {
    sigset_t usr2;
    ::sigemptyset(&usr2);
    ::sigaddset(&usr2, SIGUSR2);
    ::pthread_sigmask(SIG_BLOCK, &usr2, nullptr);
    {
        auto signals = io::signal_set::create({SIGUSR1, SIGUSR2});
        REQUIRE(signals.has_value());
        CHECK(is_blocked(SIGUSR1));
        io::signal_set moved = std::move(*signals); // the moved-from set restores nothing
    }
    CHECK_FALSE(is_blocked(SIGUSR1));
    CHECK(is_blocked(SIGUSR2));
    ::pthread_sigmask(SIG_UNBLOCK, &usr2, nullptr);
}

TEST_CASE("an invalid signal number fails and leaves the mask as it was") {
    auto signals = io::signal_set::create({SIGUSR1, 100000});
    REQUIRE_FALSE(signals.has_value());
    CHECK(signals.error() == std::errc::invalid_argument);
    CHECK_FALSE(is_blocked(SIGUSR1));
}

TEST_SUITE_END();
