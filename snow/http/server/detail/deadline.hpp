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

    void arm(std::chrono::milliseconds from_now);
    void disarm() noexcept { when_ = io::clock::time_point::max(); }
    bool expired() const noexcept { return expired_; }

private:
    static void expire(io::timer_node* node) noexcept;

    cancel_source& scope_;
    io::event_loop* loop_ = nullptr;
    io::timer_node node_;
    io::clock::time_point when_ = io::clock::time_point::max();
    bool expired_ = false;
};

} // namespace snow::http::detail
