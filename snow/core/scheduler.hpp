// snow/core/scheduler.hpp: what the core and sync primitives need of a loop, and nothing
// more: queue a coroutine to resume on a later turn, and take such a wake-up back. The
// io layer's event_loop is the implementation; this seam is why core/ and sync/ never
// include it.
#pragma once

#include <coroutine>

#include "snow/core/export.hpp"

namespace snow {

/// What the core and sync primitives need of an event loop: resume a coroutine on a later
/// turn, or take such a wake-up back. snow::io::event_loop implements it.
class SNOW_API scheduler {
public:
    /// Resumes `handle` on a later turn, in FIFO order. Loop thread only.
    virtual void schedule(std::coroutine_handle<> handle) = 0;
    /// Takes back a schedule() whose coroutine is being destroyed before it ran.
    virtual void unschedule(std::coroutine_handle<> handle) noexcept = 0;

    /// The scheduler running on the calling thread; there must be one.
    static scheduler& current() noexcept;
    /// The scheduler running on the calling thread, or null when there is none.
    static scheduler* current_or_null() noexcept;

protected:
    scheduler() noexcept = default;
    scheduler(const scheduler&) = delete;
    scheduler& operator=(const scheduler&) = delete;
    virtual ~scheduler() = default;
    /// For the implementation: make `s` the calling thread's scheduler (null to clear).
    static void set_current(scheduler* s) noexcept;
};

} // namespace snow
