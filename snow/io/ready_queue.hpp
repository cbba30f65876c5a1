// snow/io/ready_queue.hpp: the coroutines the loop will resume next, in FIFO order. A
// power-of-two ring of handles: push and pop are a store and an index bump.
#pragma once

#include <coroutine>
#include <cstddef>
#include <memory>

namespace snow::io {

/// The loop's FIFO of coroutines to resume on this turn: a growable ring buffer.
class ready_queue {
public:
    /// Appends `handle`.
    void push(std::coroutine_handle<> handle) {
        if (size_ == capacity_) grow();
        slots_[(head_ + size_) & (capacity_ - 1)] = handle;
        ++size_;
    }
    /// Removes and returns the oldest handle; the queue must not be empty.
    std::coroutine_handle<> pop() noexcept {
        auto handle = slots_[head_];
        head_ = (head_ + 1) & (capacity_ - 1);
        --size_;
        return handle;
    }
    /// Replaces queued entries of `handle` with a no-op, for a coroutine destroyed after
    /// being scheduled but before being resumed. Linear, and only on that rare path.
    void remove(std::coroutine_handle<> handle) noexcept {
        for (std::size_t i = 0; i < size_; ++i) {
            auto& slot = slots_[(head_ + i) & (capacity_ - 1)];
            if (slot == handle) slot = std::noop_coroutine();
        }
    }
    /// Whether no handle is queued.
    bool empty() const noexcept { return size_ == 0; }
    /// The number of queued handles.
    std::size_t size() const noexcept { return size_; }

private:
    void grow() {
        std::size_t capacity = capacity_ ? capacity_ * 2 : 256;
        auto slots = std::make_unique<std::coroutine_handle<>[]>(capacity);
        for (std::size_t i = 0; i < size_; ++i) slots[i] = slots_[(head_ + i) & (capacity_ - 1)];
        slots_ = std::move(slots);
        capacity_ = capacity;
        head_ = 0;
    }

    std::unique_ptr<std::coroutine_handle<>[]> slots_;
    std::size_t capacity_ = 0;
    std::size_t head_ = 0;
    std::size_t size_ = 0;
};

} // namespace snow::io
