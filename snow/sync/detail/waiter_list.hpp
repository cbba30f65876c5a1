// snow/sync/detail/waiter_list.hpp: an intrusive FIFO of suspended coroutines waiting for
// something on the loop (an event, an accept). A waiter unlinks itself when cancelled or
// destroyed; waking schedules through the loop, never resumes inline. Destroying the list
// while coroutines still wait on it wakes each of them as abandoned, so no waiter is left
// pointing at the object that owned the list.
#pragma once

#include <coroutine>

#include "snow/core/cancel.hpp"
#include "snow/core/scheduler.hpp"

namespace snow::detail {

class waiter_list;

struct waiter_node {
    waiter_node* prev = nullptr;
    waiter_node* next = nullptr;
    waiter_list* list = nullptr; ///< the list it is linked in; null once woken
    std::coroutine_handle<> handle;
    scheduler* loop = nullptr; ///< the loop the waiter is suspended on
    void* context = nullptr;   ///< the awaiter that owns the node
    bool scheduled = false;    ///< woken and queued on the loop, not yet resumed
    bool abandoned = false;    ///< woken because the list's owner was destroyed

    bool linked() const noexcept { return list != nullptr; }

    /// Queues the waiter's resumption on its loop.
    void wake() noexcept {
        scheduled = true;
        loop->schedule(handle);
    }

    /// For the awaiter's destructor: leaves the list, and takes back a wake-up that has not
    /// run, so a destroyed coroutine is never resumed. Touches nothing but the node, its
    /// list (alive while linked) and its loop.
    void detach() noexcept;
};

class waiter_list {
public:
    waiter_list() noexcept = default;
    waiter_list(const waiter_list&) = delete;
    waiter_list& operator=(const waiter_list&) = delete;
    ~waiter_list() {
        while (waiter_node* node = pop()) {
            node->abandoned = true;
            node->wake();
        }
    }

    void push(waiter_node& node) noexcept {
        node.prev = tail_;
        node.next = nullptr;
        (tail_ ? tail_->next : head_) = &node;
        tail_ = &node;
        node.list = this;
    }
    void unlink(waiter_node& node) noexcept {
        if (node.list != this) return;
        (node.prev ? node.prev->next : head_) = node.next;
        (node.next ? node.next->prev : tail_) = node.prev;
        node.prev = node.next = nullptr;
        node.list = nullptr;
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

inline void waiter_node::detach() noexcept {
    if (list != nullptr) list->unlink(*this);
    if (scheduled) {
        scheduled = false;
        loop->unschedule(handle);
    }
}

} // namespace snow::detail
