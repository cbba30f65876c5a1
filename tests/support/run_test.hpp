// tests/support/run_test.hpp: runs a test's task on a fresh loop under a watchdog. A machine
// without io_uring skips the suite (exit 77, which meson reports as SKIP).
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "snow/io/event_loop.hpp"
#include "snow/io/run.hpp"
#include "snow/time/sleep.hpp"

namespace snow::testing {

inline std::unique_ptr<io::event_loop> make_loop(io::loop_options options = {}) {
    auto loop = io::event_loop::create(options);
    if (!loop) {
        std::fprintf(stderr, "io_uring unavailable (%s): skipping\n",
                     loop.error().message().c_str());
        std::exit(77);
    }
    return std::move(*loop);
}

inline task<void> watchdog(io::event_loop& loop, std::chrono::milliseconds limit) {
    const bool expired = co_await sleep(limit);
    if (expired) {
        FAIL_CHECK("watchdog: the test task did not finish in time");
        loop.stop();
    }
}

/// Runs `t` to completion on a new loop; fails the test if it takes longer than `limit`.
template <typename T>
T run_test(task<T> t, std::chrono::milliseconds limit = std::chrono::seconds(30),
           io::loop_options options = {}) {
    cancel_source stop_watchdog; // outlives the loop, whose destruction ends the watchdog
    auto loop = make_loop(options);
    auto guarded = [](task<T> inner, cancel_source& done) -> task<T> {
        if constexpr (std::is_void_v<T>) {
            co_await std::move(inner);
            done.request();
        } else {
            T value = co_await std::move(inner);
            done.request();
            co_return value;
        }
    };
    loop->spawn(with_cancellation(watchdog(*loop, limit), stop_watchdog));
    return loop->run(guarded(std::move(t), stop_watchdog));
}

} // namespace snow::testing
