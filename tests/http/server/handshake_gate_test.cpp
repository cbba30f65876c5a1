// tests/http/server/handshake_gate_test.cpp: the server's per-loop cap on TLS handshakes, on
// its own: places handed over in arrival order, a waiter cancelled in line (even as a place
// reaches it) passing the place on instead of keeping it, and the line closed for a stop.
#include "snow/http/server/detail/handshake_gate.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "snow/core/cancel.hpp"
#include "snow/core/task_group.hpp"
#include "snow/io/run.hpp"
#include "support/run_test.hpp"

using namespace snow;
using http::detail::handshake_gate;
using testing::run_test;

TEST_SUITE_BEGIN("http.server");

namespace {

task<void> take_turn(handshake_gate& gate, std::vector<std::string>& seen, std::string name) {
    if (gate.try_enter()) {
        seen.push_back(name + " at once");
        co_return;
    }
    const bool admitted = co_await gate.wait_turn();
    seen.push_back(name + (admitted ? " after waiting" : " turned away"));
}

/// Yields until `waiting` reads `count`: the spawned tasks have joined the line.
task<void> until_waiting(const std::atomic<std::uint64_t>& waiting, std::uint64_t count) {
    while (waiting.load() != count) co_await yield();
}

} // namespace

TEST_CASE("the handshake gate admits in arrival order once places are given back") {
    std::atomic<std::uint64_t> waiting{0};
    auto seen = run_test([](std::atomic<std::uint64_t>& in_line) -> task<std::vector<std::string>> {
        handshake_gate gate(2, in_line);
        std::vector<std::string> order;
        task_group line;
        static const char* const names[] = {"a", "b", "c", "d"};
        for (const char* name : names) line.spawn(take_turn(gate, order, name));
        co_await until_waiting(in_line, 2);
        gate.leave(); // a's place goes to c
        gate.leave(); // b's to d
        co_await line.join();
        gate.leave();
        gate.leave();
        co_return order;
    }(waiting));
    const std::vector<std::string> expected{"a at once", "b at once", "c after waiting",
                                            "d after waiting"};
    CHECK(seen == expected);
    CHECK(waiting.load() == 0);
}

TEST_CASE("a waiter cancelled as a place reaches it passes the place to the next in line") {
    std::atomic<std::uint64_t> waiting{0};
    auto seen = run_test([](std::atomic<std::uint64_t>& in_line) -> task<std::vector<std::string>> {
        handshake_gate gate(1, in_line);
        std::vector<std::string> order;
        CHECK(gate.try_enter());
        cancel_source give_up;
        task_group line;
        line.spawn(with_cancellation(take_turn(gate, order, "cancelled one"), give_up));
        line.spawn(take_turn(gate, order, "next one"));
        co_await until_waiting(in_line, 2);
        // The cancelled waiter is woken but has not run when the place is handed to it, as
        // when a deadline and a finished handshake land in the same loop turn.
        give_up.request();
        gate.leave();
        co_await line.join();
        gate.leave();
        // The gate is free again.
        CHECK(gate.try_enter());
        gate.leave();
        co_return order;
    }(waiting));
    const std::vector<std::string> expected{"cancelled one turned away", "next one after waiting"};
    CHECK(seen == expected);
    CHECK(waiting.load() == 0);
}

TEST_CASE("closing the line turns away those in it and those who come later, not the holders") {
    std::atomic<std::uint64_t> waiting{0};
    auto seen = run_test([](std::atomic<std::uint64_t>& in_line) -> task<std::vector<std::string>> {
        handshake_gate gate(1, in_line);
        std::vector<std::string> order;
        CHECK(gate.try_enter());
        task_group line;
        line.spawn(take_turn(gate, order, "first"));
        line.spawn(take_turn(gate, order, "second"));
        co_await until_waiting(in_line, 2);
        gate.close_line();
        co_await line.join();
        co_await take_turn(gate, order, "latecomer");
        gate.leave(); // the holder's place, given back with nobody left to take it
        co_return order;
    }(waiting));
    const std::vector<std::string> expected{"first turned away", "second turned away",
                                            "latecomer turned away"};
    CHECK(seen == expected);
    CHECK(waiting.load() == 0);
}

TEST_SUITE_END();
