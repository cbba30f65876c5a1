// snow/http/server/detail/deadline.hpp: one deadline per connection, lazy in the loop's timer
// heap, that cancels the connection's I/O scope when it really expires.
#pragma once

#include <chrono>

#include "snow/core/cancel.hpp"
#include "snow/io/event_loop.hpp"
#include "snow/io/timer_queue.hpp"

namespace snow::http::detail {

/// One deadline per connection, kept lazily in the loop's timer heap: moving it later only
/// stores the new time, and the heap entry is re-queued when the old one expires. When it
/// really expires it cancels the connection's I/O scope.
class deadline {
public:
    explicit deadline(cancel_source& scope) noexcept : scope_(scope) {
        node_.context = this;
        node_.on_expire = &deadline::expire;
    }
    deadline(const deadline&) = delete;
    deadline& operator=(const deadline&) = delete;
    ~deadline() {
        if (node_.queued()) loop_->timers().remove(node_);
    }

    /// Moves the deadline to `from_now` after the loop's time of this turn.
    void arm(std::chrono::milliseconds from_now) {
        // Inline for the usual arm, several per request: the node is queued at this time or
        // earlier, and only the new time is stored (expire() re-queues it when it passes).
        if (loop_ != nullptr && node_.queued()) [[likely]] {
            const io::clock::time_point when = io::deadline_after(loop_->now(), from_now);
            if (node_.deadline <= when) {
                when_ = when;
                return;
            }
        }
        arm_queueing(from_now);
    }
    void disarm() noexcept { when_ = io::clock::time_point::max(); }
    bool expired() const noexcept { return expired_; }

private:
    void arm_queueing(std::chrono::milliseconds from_now); // the first arm, or an earlier one
    static void expire(io::timer_node* node) noexcept;

    cancel_source& scope_;
    io::event_loop* loop_ = nullptr;
    io::timer_node node_;
    io::clock::time_point when_ = io::clock::time_point::max();
    bool expired_ = false;
};

} // namespace snow::http::detail
