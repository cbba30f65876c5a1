// examples/stop_signal.hpp: a clean stop on Ctrl-C or SIGTERM. The signals are blocked and
// read from a signalfd through the ring; serve_until_stopped races the server against that
// read (when_any), so the server is cancelled, returns, and main exits normally.
#pragma once

#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <span>
#include <system_error>
#include <utility>

#include <fmt/format.h>

#include "snow/io/ops.hpp"
#include "snow/net/file_descriptor.hpp"
#include "snow/core/task.hpp"
#include "snow/core/when_any.hpp"

namespace snow::examples {

class stop_signal {
public:
    /// Blocks SIGINT and SIGTERM in this thread and every thread it starts later (so call it
    /// before starting any) and opens a signalfd for them; exits if that fails.
    static stop_signal install() {
        sigset_t signals;
        ::sigemptyset(&signals);
        ::sigaddset(&signals, SIGINT);
        ::sigaddset(&signals, SIGTERM);
        net::file_descriptor fd(::signalfd(-1, &signals, SFD_CLOEXEC));
        if (!fd.is_open()) {
            fmt::print(stderr, "signalfd: {}\n", std::system_category().message(errno));
            std::exit(1);
        }
        ::pthread_sigmask(SIG_BLOCK, &signals, nullptr);
        return stop_signal(std::move(fd));
    }

    /// Completes with 0 when SIGINT or SIGTERM arrives (1 if the read fails or is cancelled).
    task<int> wait() {
        signalfd_siginfo info{};
        auto n = co_await io::read_op(fd_.get(), std::as_writable_bytes(std::span(&info, 1)));
        if (!n) co_return 1;
        fmt::print(stderr, "{}: stopping\n", info.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
        co_return 0;
    }

private:
    explicit stop_signal(net::file_descriptor fd) noexcept : fd_(std::move(fd)) {}
    net::file_descriptor fd_;
};

/// Runs `server` until it returns or a stop signal arrives; a signal cancels the server (its
/// pending accept or recv ends with operation_canceled) and waits for it to return.
/// Connections it spawned are torn down with the loop when snow::run returns.
inline task<int> serve_until_stopped(task<int> server, stop_signal& stop) {
    auto first = co_await snow::when_any(std::move(server), stop.wait());
    co_return first.value;
}

} // namespace snow::examples
