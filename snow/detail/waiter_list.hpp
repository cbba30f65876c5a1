// snow/detail/waiter_list.hpp: an intrusive FIFO of suspended coroutines waiting for
// something on the loop (an event, an accept). A waiter unlinks itself when cancelled or
// destroyed; waking schedules through the loop, never resumes inline.
#pragma once

#include <coroutine>

#include "snow/cancel.hpp"
#include "snow/io/event_loop.hpp"

namespace snow::detail {

struct waiter_node {
    waiter_node* prev = nullptr;
    waiter_node* next = nullptr;
    std::coroutine_handle<> handle;
    void* context = nullptr; ///< the awaiter that owns the node
    bool linked = false;
    bool scheduled = false; ///< woken and queued on the loop, not yet resumed
};

class waiter_list {
public:
    void push(waiter_node& node) noexcept {
        node.prev = tail_;
        node.next = nullptr;
        (tail_ ? tail_->next : head_) = &node;
        tail_ = &node;
        node.linked = true;
    }
    void unlink(waiter_node& node) noexcept {
        if (!node.linked) return;
        (node.prev ? node.prev->next : head_) = node.next;
        (node.next ? node.next->prev : tail_) = node.prev;
        node.prev = node.next = nullptr;
        node.linked = false;
    }
    waiter_node* pop() noexcept {
        waiter_node* node = head_;
        if (node) unlink(*node);
        return node;
    }
    bool empty() const noexcept { return head_ == nullptr; }

private:
    waiter_node* head_ = nullptr;
    waiter_node* tail_ = nullptr;
};

} // namespace snow::detail
