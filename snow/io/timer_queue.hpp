// snow/io/timer_queue.hpp: the loop's deadlines in user space: an intrusive binary min-heap
// ordered by (deadline, insertion order), so one kernel wait covers every timer and equal
// deadlines fire in the order they were set. Nodes live in the waiting coroutine's frame.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "snow/io/clock.hpp"

namespace snow::io {

/// One timer, owned by whoever waits on it (a sleep, a deadline): a deadline and what to run
/// when it passes. The queue links it by address, so it must stay put while queued.
struct timer_node {
    /// What runs when the deadline passes.
    using handler = void (*)(timer_node* self) noexcept;
    /// When the timer fires.
    clock::time_point deadline{};
    /// Called with the node once its deadline has passed; the node is no longer queued then.
    handler on_expire = nullptr;
    void* context = nullptr; ///< for on_expire: the object that owns the node
    /// Set by the queue: timers with equal deadlines fire in the order they were pushed.
    std::uint64_t sequence = 0;
    std::size_t index = npos; ///< position in the heap; npos when not queued

    /// The index of a node that is not queued.
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);
    /// Whether the node is in a queue.
    bool queued() const noexcept { return index != npos; }
};

/// The loop's timers: a binary heap of timer_node by deadline, with O(log n) push and
/// remove.
class timer_queue {
public:
    /// Queues `node`, which must not be queued already.
    void push(timer_node& node) {
        node.sequence = next_sequence_++;
        node.index = heap_.size();
        heap_.push_back(&node);
        sift_up(node.index);
    }

    /// Removes a queued node in O(log n), e.g. when its waiter is cancelled or destroyed.
    void remove(timer_node& node) noexcept {
        std::size_t i = node.index;
        node.index = timer_node::npos;
        timer_node* last = heap_.back();
        heap_.pop_back();
        if (last == &node) return;
        heap_[i] = last;
        last->index = i;
        sift_up(i);
        sift_down(last->index);
    }

    /// Whether no timer is queued.
    bool empty() const noexcept { return heap_.empty(); }
    /// The number of queued timers.
    std::size_t size() const noexcept { return heap_.size(); }
    /// The earliest deadline; the queue must not be empty.
    clock::time_point next_deadline() const noexcept { return heap_.front()->deadline; }

    /// Removes and fires every node due at `now`, earliest first.
    std::size_t expire(clock::time_point now) noexcept {
        std::size_t fired = 0;
        while (!heap_.empty() && heap_.front()->deadline <= now) {
            timer_node* node = heap_.front();
            remove(*node);
            node->on_expire(node);
            ++fired;
        }
        return fired;
    }

private:
    static bool before(const timer_node* a, const timer_node* b) noexcept {
        return a->deadline < b->deadline ||
               (a->deadline == b->deadline && a->sequence < b->sequence);
    }
    void place(std::size_t i, timer_node* node) noexcept {
        heap_[i] = node;
        node->index = i;
    }
    void sift_up(std::size_t i) noexcept {
        timer_node* node = heap_[i];
        while (i > 0) {
            std::size_t parent = (i - 1) / 2;
            if (!before(node, heap_[parent])) break;
            place(i, heap_[parent]);
            i = parent;
        }
        place(i, node);
    }
    void sift_down(std::size_t i) noexcept {
        timer_node* node = heap_[i];
        const std::size_t n = heap_.size();
        for (;;) {
            std::size_t child = 2 * i + 1;
            if (child >= n) break;
            if (child + 1 < n && before(heap_[child + 1], heap_[child])) ++child;
            if (!before(heap_[child], node)) break;
            place(i, heap_[child]);
            i = child;
        }
        place(i, node);
    }

    std::vector<timer_node*> heap_;
    std::uint64_t next_sequence_ = 0;
};

} // namespace snow::io
