// snow/event.hpp: a manual-reset event on one loop. set() wakes every waiting task (through
// the loop, in the order they began waiting); waiting on a set event does not suspend.
#pragma once

#include <coroutine>

#include "snow/detail/waiter_list.hpp"
#include "snow/task.hpp"

namespace snow {

class event {
public:
    event() = default;
    event(const event&) = delete;
    event& operator=(const event&) = delete;

    bool is_set() const noexcept { return set_; }

    void set() noexcept {
        set_ = true;
        while (detail::waiter_node* node = waiters_.pop()) {
            node->scheduled = true;
            io::event_loop::current().schedule(node->handle);
        }
    }
    void reset() noexcept { set_ = false; }

    class [[nodiscard]] awaiter {
    public:
        explicit awaiter(event& e) noexcept : event_(e) {}
        awaiter(const awaiter&) = delete;
        awaiter& operator=(const awaiter&) = delete;
        ~awaiter() {
            event_.waiters_.unlink(node_);
            if (node_.scheduled) io::event_loop::current().unschedule(node_.handle);
        }

        bool await_ready() const noexcept { return event_.set_; }
        template <typename Promise>
        bool await_suspend(std::coroutine_handle<Promise> waiter) noexcept {
            cancel_source* source = detail::cancellation_of(waiter);
            if (source != nullptr && source->requested()) return false;
            node_.handle = waiter;
            event_.waiters_.push(node_);
            on_cancel_.attach(
                source,
                [](void* self) noexcept {
                    auto* a = static_cast<awaiter*>(self);
                    if (!a->node_.linked) return;
                    a->event_.waiters_.unlink(a->node_);
                    a->node_.scheduled = true;
                    io::event_loop::current().schedule(a->node_.handle);
                },
                this);
            return true;
        }
        /// True when the event was set; false when the waiting task was cancelled.
        bool await_resume() noexcept {
            node_.scheduled = false;
            return event_.set_;
        }

    private:
        event& event_;
        detail::waiter_node node_;
        cancel_callback on_cancel_;
    };

    /// Waits until set() (or until the waiting task is cancelled).
    awaiter wait() noexcept { return awaiter{*this}; }

private:
    detail::waiter_list waiters_;
    bool set_ = false;
};

} // namespace snow
