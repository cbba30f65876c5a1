// snow/http/server/detail/deadline.cpp: arming a connection's deadline, and its expiry.
#include "snow/http/server/detail/deadline.hpp"

namespace snow::http::detail {

void deadline::arm_queueing(std::chrono::milliseconds from_now) {
    // A connection stays on the loop that accepted it: the loop is looked up once, not on
    // each of the several arms of every request.
    if (loop_ == nullptr) loop_ = &io::event_loop::current();
    when_ = io::deadline_after(loop_->now(), from_now); // max() ("never") stays disarmed
    if (!node_.queued()) {
        node_.deadline = when_;
        loop_->timers().push(node_);
    } else if (node_.deadline > when_) {
        loop_->timers().remove(node_);
        node_.deadline = when_;
        loop_->timers().push(node_);
    }
}

void deadline::expire(io::timer_node* node) noexcept {
    auto* self = static_cast<deadline*>(node->context);
    if (self->when_ == io::clock::time_point::max()) return; // disarmed
    if (self->when_ > self->loop_->now()) {                  // moved later meanwhile
        node->deadline = self->when_;
        self->loop_->timers().push(*node);
        return;
    }
    self->expired_ = true;
    self->scope_.request();
}

} // namespace snow::http::detail
