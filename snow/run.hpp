// snow/run.hpp: the entry points a program starts from: snow::run drives a fresh loop on
// the calling thread until a task completes; snow::spawn starts a detached task on the
// current loop; snow::run_threads runs one loop per thread.
#pragma once

#include <cstddef>
#include <functional>
#include <system_error>

#include "snow/io/event_loop.hpp"

namespace snow {

/// Creates a loop on this thread, runs `t` to completion and returns its value (or rethrows
/// its exception). Throws std::system_error when io_uring is unavailable.
template <typename T>
T run(task<T> t, io::loop_options options = {}) {
    auto loop = io::event_loop::create(options);
    if (!loop) throw std::system_error(loop.error(), "snow: cannot create an io_uring event loop");
    return (*loop)->run(std::move(t));
}

/// Starts `t` detached on the current thread's loop. Escaping exceptions are reported on
/// stderr; the loop goes on.
inline void spawn(task<void> t) {
    io::event_loop::current().spawn(std::move(t));
}

/// Runs `body(index)` on `threads` threads, each with its own loop (index 0 on the calling
/// thread), and returns when all have finished. The first exception is rethrown.
void run_threads(std::size_t threads, const std::function<task<void>(std::size_t index)>& body,
                 io::loop_options options = {});

/// Yields to other ready coroutines and pending I/O: resumes on the next loop turn.
inline auto yield() noexcept {
    struct awaiter {
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<> h) { io::event_loop::current().schedule(h); }
        void await_resume() const noexcept {}
    };
    return awaiter{};
}

} // namespace snow
