// tests/io/wait_handle_test.cpp: io::wait_handle, which ends one wait from outside the task
// awaiting it: the wait alone is cancelled, bytes that won the race are kept, and a handle
// or a wait may go first.
#include <doctest/doctest.h>

#include <array>
#include <optional>

#include "snow/core/when_all.hpp"
#include "snow/io/operation.hpp"
#include "snow/io/ops.hpp"
#include "snow/io/run.hpp"
#include "snow/time/sleep.hpp"
#include "support/run_test.hpp"
#include "support/socket_pair.hpp"

using namespace snow;
using namespace std::chrono_literals;
using testing::run_test;

TEST_SUITE_BEGIN("io.wait_handle");

namespace {
task<result<std::size_t>> interruptible_recv(net::tcp_stream& s, io::wait_handle& handle) {
    std::array<std::byte, 16> buffer{};
    co_return co_await s.recv(buffer).interruptible(handle);
}

task<result<std::size_t>> plain_recv(net::tcp_stream& s) {
    std::array<std::byte, 16> buffer{};
    co_return co_await s.recv(buffer);
}
} // namespace

TEST_CASE("an interrupted wait ends with operation_canceled; the task's other waits go on") {
    auto [interrupted, other, waiting_after] =
        run_test([]() -> task<std::tuple<std::error_code, std::size_t, bool>> {
            auto [a, b] = testing::socket_pair();
            auto [c, d] = testing::socket_pair();
            io::wait_handle handle;
            auto interrupter = [](io::wait_handle& h, net::tcp_stream& peer) -> task<void> {
                co_await yield(); // both receives are in flight now
                REQUIRE(h.waiting());
                h.interrupt();
                auto sent = co_await peer.send_all("other");
                REQUIRE(sent);
            };
            auto [first, second, done] = co_await when_all(interruptible_recv(a, handle),
                                                           plain_recv(c), interrupter(handle, d));
            (void)done;
            co_return std::tuple{first ? std::error_code{} : first.error(), second.value_or(0),
                                 handle.waiting()};
        }());
    CHECK(interrupted == std::errc::operation_canceled);
    CHECK(other == 5);
    CHECK_FALSE(waiting_after);
}

TEST_CASE("interrupting a handle with no wait in flight does nothing to the next wait") {
    auto n = run_test([]() -> task<std::size_t> {
        auto [a, b] = testing::socket_pair();
        io::wait_handle handle;
        CHECK_FALSE(handle.waiting());
        handle.interrupt();
        auto sent = co_await b.send_all("hello");
        REQUIRE(sent);
        auto got = co_await interruptible_recv(a, handle);
        co_return got.value_or(0);
    }());
    CHECK(n == 5);
}

TEST_CASE("bytes that completed the wait before the interrupt reached the kernel are kept") {
    auto got = run_test([]() -> task<result<std::size_t>> {
        auto [a, b] = testing::socket_pair();
        auto sent = co_await b.send_all("early");
        REQUIRE(sent);
        io::wait_handle handle;
        auto interrupter = [](io::wait_handle& h) -> task<void> {
            // Runs in the same turn, before the loop submits: the recv's SQE goes to the
            // kernel ahead of the cancel, finds the bytes there and completes with them.
            h.interrupt();
            co_return;
        };
        auto [n, done] = co_await when_all(interruptible_recv(a, handle), interrupter(handle));
        (void)done;
        co_return n;
    }());
    REQUIRE(got.has_value());
    CHECK(*got == 5);
}

TEST_CASE("a handle destroyed while its wait is in flight lets go of the wait") {
    auto n = run_test([]() -> task<std::size_t> {
        auto [a, b] = testing::socket_pair();
        auto handle = std::make_optional<io::wait_handle>();
        auto closer = [](std::optional<io::wait_handle>& h, net::tcp_stream& peer) -> task<void> {
            co_await yield();
            h.reset(); // the wait must not write into the handle when it completes
            auto sent = co_await peer.send_all("after");
            REQUIRE(sent);
        };
        auto [got, done] = co_await when_all(interruptible_recv(a, *handle), closer(handle, b));
        (void)done;
        co_return got.value_or(0);
    }());
    CHECK(n == 5);
}

TEST_SUITE_END();
