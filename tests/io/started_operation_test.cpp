// tests/io/started_operation_test.cpp: operation::start, a request begun with no coroutine
// awaiting it. Its callback runs on a later turn and never inside a reap; cancellation, a
// wait_handle and destruction end it as they end an awaited request; the callback may
// destroy the operation; and one destroyed before its callback ran is never called.
#include <doctest/doctest.h>

#include <array>
#include <memory>
#include <optional>

#include "snow/core/cancel.hpp"
#include "snow/io/operation.hpp"
#include "snow/io/ops.hpp"
#include "snow/io/run.hpp"
#include "support/run_test.hpp"
#include "support/socket_pair.hpp"

using namespace snow;
using testing::run_test;

TEST_SUITE_BEGIN("io.started_operation");

namespace {
/// A recv begun with start(), recording what its callback saw.
struct started_recv : io::recv_op {
    explicit started_recv(net::tcp_stream& s) : recv_op(s.native_handle(), buffer) {}

    bool start(cancel_source* source = nullptr, io::wait_handle* handle = nullptr) {
        return recv_op::start(source, handle, [](io::recv_op& op) noexcept {
            auto& self = static_cast<started_recv&>(op);
            ++self.calls;
            self.got = op.take();
            if (self.on_done) self.on_done(self);
        });
    }

    std::array<std::byte, 16> buffer{};
    int calls = 0;
    std::optional<result<std::size_t>> got;
    void (*on_done)(started_recv&) = nullptr;
};
} // namespace

TEST_CASE("a started recv calls back with its bytes, on a later turn") {
    auto [calls, n, text] = run_test([]() -> task<std::tuple<int, std::size_t, std::string>> {
        auto [a, b] = testing::socket_pair();
        started_recv op(a);
        REQUIRE(op.start());
        CHECK(op.calls == 0);
        auto sent = co_await b.send_all("hello");
        REQUIRE(sent);
        for (int turn = 0; turn < 1000 && op.calls == 0; ++turn) co_await yield();
        std::string received(reinterpret_cast<const char*>(op.buffer.data()), 5);
        co_return std::tuple{op.calls, op.got && *op.got ? **op.got : 0, received};
    }());
    CHECK(calls == 1);
    CHECK(n == 5);
    CHECK(text == "hello");
}

TEST_CASE("a started recv can be started again once its callback has run") {
    auto sum = run_test([]() -> task<std::size_t> {
        auto [a, b] = testing::socket_pair();
        started_recv op(a);
        std::size_t total = 0;
        for (int round = 0; round < 3; ++round) {
            REQUIRE(op.start());
            auto sent = co_await b.send_all("abc");
            REQUIRE(sent);
            const int before = op.calls;
            for (int turn = 0; turn < 1000 && op.calls == before; ++turn) co_await yield();
            REQUIRE(op.got);
            total += op.got->value_or(0);
        }
        co_return total;
    }());
    CHECK(sum == 9);
}

TEST_CASE("cancelling its source ends a started recv with operation_canceled") {
    auto [calls, error] = run_test([]() -> task<std::pair<int, std::error_code>> {
        auto [a, b] = testing::socket_pair();
        cancel_source source;
        started_recv op(a);
        REQUIRE(op.start(&source));
        co_await yield(); // in the kernel now
        source.request();
        CHECK(op.calls == 0); // the callback waits for the kernel's completion
        for (int turn = 0; turn < 1000 && op.calls == 0; ++turn) co_await yield();
        co_return std::pair{op.calls, op.got && !*op.got ? op.got->error() : std::error_code{}};
    }());
    CHECK(calls == 1);
    CHECK(error == std::errc::operation_canceled);
}

TEST_CASE("a source cancelled already starts nothing") {
    auto began = run_test([]() -> task<bool> {
        auto [a, b] = testing::socket_pair();
        cancel_source source;
        source.request();
        started_recv op(a);
        const bool started = op.start(&source);
        co_await yield();
        CHECK(op.calls == 0);
        co_return started;
    }());
    CHECK_FALSE(began);
}

TEST_CASE("a wait_handle interrupts a started recv") {
    auto [error, waiting] = run_test([]() -> task<std::pair<std::error_code, bool>> {
        auto [a, b] = testing::socket_pair();
        io::wait_handle handle;
        started_recv op(a);
        REQUIRE(op.start(nullptr, &handle));
        CHECK(handle.waiting());
        co_await yield();
        handle.interrupt();
        for (int turn = 0; turn < 1000 && op.calls == 0; ++turn) co_await yield();
        co_return std::pair{op.got && !*op.got ? op.got->error() : std::error_code{},
                            handle.waiting()};
    }());
    CHECK(error == std::errc::operation_canceled);
    CHECK_FALSE(waiting);
}

TEST_CASE("the callback may destroy the operation") {
    auto destroyed = run_test([]() -> task<bool> {
        auto [a, b] = testing::socket_pair();
        static bool gone = false;
        gone = false;
        struct owner {
            std::unique_ptr<started_recv> op;
        };
        static owner* holder = nullptr;
        owner o;
        holder = &o;
        o.op = std::make_unique<started_recv>(a);
        o.op->on_done = [](started_recv&) {
            holder->op.reset(); // the operation goes from inside its own callback
            gone = true;
        };
        REQUIRE(o.op->start());
        auto sent = co_await b.send_all("x");
        REQUIRE(sent);
        for (int turn = 0; turn < 1000 && !gone; ++turn) co_await yield();
        co_return gone&& o.op == nullptr;
    }());
    CHECK(destroyed);
}

TEST_CASE("destroying a started recv in flight reaps it, and its callback never runs") {
    auto [calls_seen, later_bytes] = run_test([]() -> task<std::pair<int, std::size_t>> {
        auto [a, b] = testing::socket_pair();
        static int calls = 0;
        calls = 0;
        {
            auto op = std::make_unique<started_recv>(a);
            op->on_done = [](started_recv&) { ++calls; };
            REQUIRE(op->start());
            co_await yield(); // in the kernel now
        }                     // destroyed in flight: cancelled and reaped here
        auto sent = co_await b.send_all("later");
        REQUIRE(sent);
        // The bytes are still in the socket: the cancelled recv took none of them.
        std::array<std::byte, 16> buffer{};
        auto n = co_await a.recv(buffer);
        for (int turn = 0; turn < 3; ++turn) co_await yield();
        co_return std::pair{calls, n.value_or(0)};
    }());
    CHECK(calls_seen == 0);
    CHECK(later_bytes == 5);
}

TEST_CASE("a started recv destroyed after completing but before its callback is never called") {
    // Destroying one request in flight reaps the ring, which can take another's completion
    // with it (a worker deleting its parked connections one after the other): that one's
    // callback is queued for the next turn, and destroying it takes the call back.
    auto calls_seen = run_test([]() -> task<int> {
        auto [a, b] = testing::socket_pair();
        auto [c, d] = testing::socket_pair();
        static int calls = 0;
        calls = 0;
        auto first = std::make_unique<started_recv>(a);
        auto second = std::make_unique<started_recv>(c);
        first->on_done = second->on_done = [](started_recv&) { ++calls; };
        REQUIRE(first->start());
        REQUIRE(second->start());
        co_await yield(); // both in the kernel now
        REQUIRE(::send(d.native_handle(), "x", 1, MSG_NOSIGNAL) == 1);
        first.reset();  // cancelled and reaped; the reap may complete `second` too
        second.reset(); // completed or not, its callback must not run
        for (int turn = 0; turn < 3; ++turn) co_await yield();
        co_return calls;
    }());
    CHECK(calls_seen == 0);
}
