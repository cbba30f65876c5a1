// snow/net/receive_buffer.hpp: the one compacting input buffer of every protocol reader.
// Bytes arrive at the back and are consumed from the front; the unconsumed bytes move to
// the front only when a receive needs the room, and the storage grows geometrically only
// when compacting is not enough.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

namespace snow::net {

/// A growable byte buffer for received data: bytes are appended at the back (prepare() and
/// commit(), or append()) and consumed from the front.
class receive_buffer {
public:
    /// An empty buffer with `initial_capacity` bytes of storage.
    explicit receive_buffer(std::size_t initial_capacity = 0) : storage_(initial_capacity) {}

    ///@{
    /// The unconsumed bytes. prepare() and append() may move them: a view taken before
    /// must be rebased by the distance data() moved.
    char* data() noexcept { return storage_.data() + begin_; }
    const char* data() const noexcept { return storage_.data() + begin_; }
    ///@}
    /// The number of unconsumed bytes.
    std::size_t size() const noexcept { return end_ - begin_; }
    /// Whether there are no unconsumed bytes.
    bool empty() const noexcept { return begin_ == end_; }
    /// The unconsumed bytes as text.
    std::string_view view() const noexcept { return {data(), size()}; }
    /// The unconsumed bytes as bytes.
    std::span<const std::byte> bytes() const noexcept {
        return std::as_bytes(std::span<const char>(data(), size()));
    }
    /// The size of the storage.
    std::size_t capacity() const noexcept { return storage_.size(); }

    /// Drops `n` bytes from the front. An emptied buffer starts again at its beginning.
    void consume(std::size_t n) noexcept {
        begin_ += n;
        if (begin_ == end_) begin_ = end_ = 0;
    }
    /// Keeps only the first `n` unconsumed bytes (after decoding in place shrank them).
    void truncate(std::size_t n) noexcept { end_ = begin_ + n; }
    /// Drops every unconsumed byte, keeping the storage.
    void clear() noexcept { begin_ = end_ = 0; }

    /// Room to receive into: at least `min_room` free bytes after the data, and space for
    /// `total` bytes from the front (the whole of a message whose length is known), moving
    /// the data to the front first and growing the storage only if that is not enough.
    std::span<std::byte> prepare(std::size_t total, std::size_t min_room = 1) {
        const std::size_t wanted = std::max(total, size() + min_room);
        if (storage_.size() - begin_ < wanted || storage_.size() - end_ < min_room) {
            if (begin_ > 0) {
                std::memmove(storage_.data(), storage_.data() + begin_, size());
                end_ -= begin_;
                begin_ = 0;
            }
            if (storage_.size() < wanted)
                storage_.resize(std::max({wanted, storage_.size() * 2, min_capacity}));
        }
        return std::as_writable_bytes(
            std::span<char>(storage_.data() + end_, storage_.size() - end_));
    }
    /// Counts `n` bytes received into the span prepare() returned.
    void commit(std::size_t n) noexcept { end_ += n; }

    /// Appends `bytes`. Into an empty buffer that lacks the room, they go into storage of
    /// exactly their size: a connection that received one small request and then waits
    /// (a long poll) keeps no more than that request.
    void append(std::span<const std::byte> bytes) {
        if (empty() && storage_.size() < bytes.size()) {
            clear();
            std::vector<char>(bytes.size()).swap(storage_);
        }
        auto room = prepare(0, bytes.size());
        std::memcpy(room.data(), bytes.data(), bytes.size());
        commit(bytes.size());
    }

    /// Frees storage over `max_capacity` when empty, so a buffer kept for reuse stays small.
    void shrink_if_over(std::size_t max_capacity) {
        if (storage_.size() > max_capacity && empty()) std::vector<char>().swap(storage_);
    }

private:
    static constexpr std::size_t min_capacity = 4096;

    std::vector<char> storage_;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
};

} // namespace snow::net
