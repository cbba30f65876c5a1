// snow/http/server/detail/idle_queue.hpp: a first-in, first-out queue that holds no memory until
// something is queued and gives its storage back once a burst is over, for the queues of
// long-lived connections that spend most of their life idle (std::deque allocates a map and a
// 512-byte block as soon as it is constructed).
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace snow::http::detail {

/// A FIFO over a vector: taken items are skipped by an index, and the taken prefix is dropped
/// once it is half the vector. When it empties it keeps a few slots (a connection that
/// trades one message at a time allocates once) and frees anything bigger.
template <class T>
class idle_queue {
public:
    bool empty() const noexcept { return head_ == items_.size(); }
    std::size_t size() const noexcept { return items_.size() - head_; }
    T& front() noexcept { return items_[head_]; }
    void push_back(T item) { items_.push_back(std::move(item)); }
    void pop_front() {
        items_[head_] = T();
        ++head_;
        if (head_ == items_.size()) {
            head_ = 0;
            if (items_.capacity() > kept_when_empty)
                std::vector<T>().swap(items_);
            else
                items_.clear();
        } else if (head_ * 2 >= items_.size()) {
            items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
            head_ = 0;
        }
    }
    /// Drops every item and frees the storage.
    void clear() noexcept {
        std::vector<T>().swap(items_);
        head_ = 0;
    }

private:
    static constexpr std::size_t kept_when_empty = 4;
    std::vector<T> items_;
    std::size_t head_ = 0;
};

} // namespace snow::http::detail
