// examples/stop_signal.hpp: a clean stop on Ctrl-C or SIGTERM. The signals are taken through
// an io::signal_set (a signalfd read on the ring); serve_until_stopped races the server against
// that wait (when_any), so the server is cancelled, returns, and main exits normally.
#pragma once

#include <signal.h>

#include <cstdlib>
#include <utility>

#include <fmt/format.h>

#include "snow/core/task.hpp"
#include "snow/core/when_any.hpp"
#include "snow/io/signal.hpp"

namespace snow::examples {

class stop_signal {
public:
    /// Blocks SIGINT and SIGTERM in this thread and every thread it starts later (so call it
    /// before starting any) and opens a signalfd for them; exits if that fails.
    static stop_signal install() {
        auto signals = io::signal_set::create({SIGINT, SIGTERM});
        if (!signals) {
            fmt::print(stderr, "cannot take SIGINT and SIGTERM: {}\n", signals.error().message());
            std::exit(1);
        }
        return stop_signal(std::move(*signals));
    }

    /// Completes with 0 when SIGINT or SIGTERM arrives (1 if the read fails or is cancelled).
    task<int> wait() {
        auto received = co_await signals_.next();
        if (!received) co_return 1;
        fmt::print(stderr, "{}: stopping\n", *received == SIGINT ? "SIGINT" : "SIGTERM");
        co_return 0;
    }

private:
    explicit stop_signal(io::signal_set signals) noexcept : signals_(std::move(signals)) {}
    io::signal_set signals_;
};

/// Runs `server` until it returns or a stop signal arrives; a signal cancels the server (its
/// pending accept or recv ends with operation_canceled) and waits for it to return.
/// Connections it spawned are torn down with the loop when snow::run returns.
inline task<int> serve_until_stopped(task<int> server, stop_signal& stop) {
    auto first = co_await snow::when_any(std::move(server), stop.wait());
    co_return first.value;
}

} // namespace snow::examples
