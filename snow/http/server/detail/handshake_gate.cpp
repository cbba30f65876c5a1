// snow/http/server/detail/handshake_gate.cpp: the line of connections waiting to begin a TLS
// handshake, and the hand-over of a place from one that finished to the first in line.
#include "snow/http/server/detail/handshake_gate.hpp"

namespace snow::http::detail {

handshake_gate::waiter::~waiter() {
    // A frame destroyed while in line (the server tearing down) leaves the line; one that was
    // handed a place and never ran gives the place on.
    if (linked) {
        gate.unlink(*this);
    } else if (admitted.is_set() && !refused) {
        gate.leave();
    }
}

void handshake_gate::push(waiter& w) noexcept {
    w.prev = tail_;
    w.next = nullptr;
    (tail_ != nullptr ? tail_->next : head_) = &w;
    tail_ = &w;
    w.linked = true;
    waiting_stat_.fetch_add(1, std::memory_order_relaxed);
}

void handshake_gate::unlink(waiter& w) noexcept {
    (w.prev != nullptr ? w.prev->next : head_) = w.next;
    (w.next != nullptr ? w.next->prev : tail_) = w.prev;
    w.prev = w.next = nullptr;
    w.linked = false;
    waiting_stat_.fetch_sub(1, std::memory_order_relaxed);
}

bool handshake_gate::try_enter() noexcept {
    if (active_ >= capacity_ || head_ != nullptr) return false;
    ++active_;
    return true;
}

task<bool> handshake_gate::wait_turn() {
    if (closed_) co_return false;
    waiter me(*this);
    push(me);
    const bool admitted = co_await me.admitted.wait();
    if (me.linked) unlink(me); // cancelled while in line
    if (me.refused) co_return false;
    if (admitted) {
        me.admitted.reset(); // the place is the caller's now, not the waiter's to give back
        co_return true;
    }
    // Cancelled; but if a place was handed over between the cancellation and this resumption
    // (the event set with nobody left waiting on it), it goes to the next in line.
    if (me.admitted.is_set()) {
        me.admitted.reset();
        leave();
    }
    co_return false;
}

void handshake_gate::leave() noexcept {
    if (head_ == nullptr) {
        if (active_ > 0) --active_;
        return;
    }
    waiter& first = *head_;
    unlink(first);
    first.admitted.set(); // active_ stays: the place passes straight to `first`
}

void handshake_gate::close_line() noexcept {
    closed_ = true;
    while (head_ != nullptr) {
        waiter& turned_away = *head_;
        unlink(turned_away);
        turned_away.refused = true;
        turned_away.admitted.set();
    }
}

} // namespace snow::http::detail
