// snow/sync/event.hpp: a manual-reset event on one loop. set() wakes every waiting task (through
// the loop, in the order they began waiting); waiting on a set event does not suspend.
#pragma once

#include <coroutine>

#include "snow/core/task.hpp"
#include "snow/sync/detail/waiter_list.hpp"

namespace snow {

/// A flag tasks can wait for: wait() resumes once set() has been called, at once if it is
/// already set. Stays set until reset(). Loop-thread only.
class event {
public:
    event() = default;
    event(const event&) = delete;
    event& operator=(const event&) = delete;
    /// Tasks still waiting are woken as if cancelled (their wait yields false).
    ~event() = default;

    /// Whether the event is set.
    bool is_set() const noexcept { return set_; }

    /// Sets the event and wakes every waiting task.
    void set() noexcept {
        set_ = true;
        while (detail::waiter_node* node = waiters_.pop()) {
            static_cast<awaiter*>(node->context)->was_set_ = true;
            node->wake();
        }
    }
    /// Clears the event; later waits suspend again.
    void reset() noexcept { set_ = false; }

    /// What wait() returns: `co_await` it for true once set, false if the waiting task was
    /// cancelled or the event destroyed. Cancel-safe: a cancelled wait consumes nothing.
    class [[nodiscard]] awaiter {
    public:
        /// Made by wait().
        explicit awaiter(event& e) noexcept : event_(e) {}
        awaiter(const awaiter&) = delete;
        awaiter& operator=(const awaiter&) = delete;
        ~awaiter() { node_.detach(); }

        bool await_ready() noexcept {
            was_set_ = event_.set_;
            return was_set_;
        }
        template <typename Promise>
        bool await_suspend(std::coroutine_handle<Promise> waiter) noexcept {
            cancel_source* source = detail::cancellation_of(waiter);
            if (source != nullptr && source->requested()) return false;
            node_.handle = waiter;
            node_.loop = &scheduler::current();
            node_.context = this;
            event_.waiters_.push(node_);
            on_cancel_.attach(
                source,
                [](void* self) noexcept {
                    auto* a = static_cast<awaiter*>(self);
                    if (!a->node_.linked()) return;
                    a->node_.list->unlink(a->node_);
                    a->node_.wake();
                },
                this);
            return true;
        }
        /// True when the event was set; false when the waiting task was cancelled or the
        /// event was destroyed. Reads only the awaiter: the event may be gone.
        bool await_resume() noexcept {
            node_.scheduled = false;
            on_cancel_.reset();
            return was_set_;
        }

    private:
        friend class event;
        event& event_;
        detail::waiter_node node_;
        cancel_callback on_cancel_;
        bool was_set_ = false;
    };

    /// Waits until set() (or until the waiting task is cancelled).
    awaiter wait() noexcept { return awaiter{*this}; }

private:
    detail::waiter_list waiters_;
    bool set_ = false;
};

} // namespace snow
