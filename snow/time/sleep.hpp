// snow/time/sleep.hpp: co_await snow::sleep(5s) / sleep_until(t). A sleeper is a node in the
// loop's timer heap, inside the sleeping frame: no allocation, no kernel request of its own.
#pragma once

#include <chrono>
#include <coroutine>

#include "snow/io/event_loop.hpp"
#include "snow/io/timer_queue.hpp"

namespace snow {

/// The clock of every sleep, timer and deadline: steady_clock (virtual time in a simulation).
using clock = io::clock;

/// Awaiting it suspends until `deadline` or until the task is cancelled, whichever is first.
/// Yields true when the deadline was reached, false when cancelled.
class [[nodiscard]] sleep_awaiter {
public:
    /// Sleeps until `deadline`; sleep() and sleep_until() make one.
    explicit sleep_awaiter(clock::time_point deadline) noexcept { node_.deadline = deadline; }
    sleep_awaiter(const sleep_awaiter&) = delete;
    sleep_awaiter& operator=(const sleep_awaiter&) = delete;
    ~sleep_awaiter() {
        if (node_.queued()) loop_->timers().remove(node_);
        if (scheduled_) loop_->unschedule(waiter_);
    }

    bool await_ready() const noexcept { return false; }

    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) {
        cancel_source* source = snow::detail::cancellation_of(waiter);
        if (source != nullptr && source->requested()) return false;
        loop_ = &io::event_loop::current();
        waiter_ = waiter;
        node_.context = this;
        node_.on_expire = [](io::timer_node* node) noexcept {
            auto* self = static_cast<sleep_awaiter*>(node->context);
            self->expired_ = true;
            self->on_cancel_.reset();
            self->scheduled_ = true;
            self->loop_->schedule(self->waiter_);
        };
        loop_->timers().push(node_);
        on_cancel_.attach(source, &sleep_awaiter::cancel, this);
        return true;
    }

    bool await_resume() noexcept {
        scheduled_ = false;
        return expired_;
    }

private:
    static void cancel(void* self) noexcept {
        auto* s = static_cast<sleep_awaiter*>(self);
        if (!s->node_.queued()) return;
        s->loop_->timers().remove(s->node_);
        s->scheduled_ = true;
        s->loop_->schedule(s->waiter_);
    }

    io::timer_node node_;
    io::event_loop* loop_ = nullptr;
    std::coroutine_handle<> waiter_;
    cancel_callback on_cancel_;
    bool expired_ = false;
    bool scheduled_ = false; // resumption queued but not yet run
};

/// `co_await sleep_until(t)` suspends until `t` or until the task is cancelled; it yields true
/// when `t` was reached, false when cancelled. Cancel-safe.
inline sleep_awaiter sleep_until(clock::time_point deadline) noexcept {
    return sleep_awaiter{deadline};
}

/// `co_await sleep(5s)` suspends for `duration` or until the task is cancelled; it yields true
/// when the time has passed, false when cancelled. A duration too long to represent means
/// forever. Cancel-safe.
template <typename Rep, typename Period>
sleep_awaiter sleep(std::chrono::duration<Rep, Period> duration) noexcept {
    return sleep_awaiter{io::deadline_after(clock::now(), duration)};
}

} // namespace snow
