// snow/io/run.hpp: the entry points a program starts from: snow::run drives a fresh loop on
// the calling thread until a task completes; snow::spawn starts a detached task on the
// current loop; snow::run_threads runs one loop per thread, optionally one per CPU.
#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>

#include "snow/core/export.hpp"
#include "snow/io/event_loop.hpp"

namespace snow {

namespace detail {

/// A std::system_error whose what() is exactly the line io::describe_ring_failure wrote:
/// std::system_error's own what() would append the code's message, which the line already
/// names. The line is kept in a std::runtime_error so that copying never throws.
class loop_start_error : public std::system_error {
public:
    loop_start_error(std::error_code code, const std::string& line)
        : std::system_error(code)
        , line_(line) {}
    const char* what() const noexcept override { return line_.what(); }

private:
    std::runtime_error line_;
};

} // namespace detail

/// Creates a loop on this thread, runs `t` to completion and returns its value (or rethrows
/// its exception). Throws std::system_error when io_uring is unavailable; its what() is one
/// line naming the cause and the remedy (io::describe_ring_failure), ready for stderr.
template <typename T>
T run(task<T> t, io::loop_options options = {}) {
    auto loop = io::event_loop::create(options);
    if (!loop)
        throw detail::loop_start_error(loop.error(), io::describe_ring_failure(loop.error()));
    return (*loop)->run(std::move(t));
}

/// Starts `t` detached on the current thread's loop. Escaping exceptions are reported on
/// stderr; the loop goes on.
inline void spawn(task<void> t) {
    io::event_loop::current().spawn(std::move(t));
}

/// For main(): runs `t` like run() and returns its value as the exit status. A loop that
/// cannot start (no io_uring) or an exception escaping `t` is printed on one line, and the
/// status is 1; nothing escapes to the caller.
SNOW_API int run_main(task<int> t, io::loop_options options = {}) noexcept;

/// Runs `body(index)` on `threads` threads, each with its own loop (index 0 on the calling
/// thread), and returns when all have finished. The first exception is rethrown.
/// Thread i is pinned to `cpus[i]` before its loop is made, so the ring's memory is allocated
/// near that CPU; threads past the end of `cpus` (all, when it is empty) are not pinned. A
/// thread that cannot be pinned says so (log::warn) and runs unpinned; the calling thread
/// gets its own CPUs back on return.
SNOW_API void run_threads(std::size_t threads,
                          const std::function<task<void>(std::size_t index)>& body,
                          io::loop_options options = {}, std::span<const int> cpus = {});

/// Yields to other ready coroutines and pending I/O: resumes on the next loop turn. A task
/// destroyed while it yields (or a loop stopped and run again) takes its wake-up back.
class [[nodiscard]] yield_awaiter {
public:
    yield_awaiter() noexcept = default;
    yield_awaiter(const yield_awaiter&) = delete;
    yield_awaiter& operator=(const yield_awaiter&) = delete;
    ~yield_awaiter() {
        if (loop_ != nullptr) loop_->unschedule(waiter_);
    }

    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> waiter) {
        loop_ = &io::event_loop::current();
        waiter_ = waiter;
        loop_->schedule(waiter);
    }
    void await_resume() noexcept { loop_ = nullptr; }

private:
    io::event_loop* loop_ = nullptr; // set while the wake-up is queued
    std::coroutine_handle<> waiter_;
};

/// `co_await snow::yield()` lets the other ready coroutines and pending I/O run, and resumes
/// on the next loop turn.
inline yield_awaiter yield() noexcept {
    return {};
}

} // namespace snow
