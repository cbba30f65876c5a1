// snow/io/buffer_pool.hpp: a provided-buffer ring. A receive that selects from it is given a
// buffer only when data arrives, so a socket waiting for input holds no memory of its own.
// Buffers go back to the kernel as soon as their owner (a pooled_bytes) lets go of them.
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>

#include "snow/core/export.hpp"
#include "snow/core/result.hpp"

namespace snow::io {

class ring;

/// A ring of provided buffers registered with the kernel under a group id: a pooled receive
/// waits without a buffer, and the kernel picks one of these when data arrives. Each loop
/// has one (event_loop::receive_buffers()).
class SNOW_API buffer_pool {
public:
    /// Registers `count` buffers (a power of two) of `size` bytes each under `group`.
    /// Errors: the kernel's (EINVAL before Linux 5.19, ENOMEM).
    static result<std::unique_ptr<buffer_pool>> create(ring& r, unsigned count, std::size_t size,
                                                       std::uint16_t group);
    buffer_pool(const buffer_pool&) = delete;
    buffer_pool& operator=(const buffer_pool&) = delete;
    ~buffer_pool();

    /// The buffer group id receives name in their submission.
    std::uint16_t group() const noexcept { return group_; }
    /// The size of each buffer in bytes.
    std::size_t buffer_size() const noexcept { return size_; }
    /// The first `length` bytes of buffer `id`.
    std::span<const std::byte> bytes(std::uint16_t id, std::size_t length) const noexcept {
        return {memory_.get() + std::size_t{id} * size_, length};
    }
    /// Hands buffer `id` back to the kernel for the next receive.
    void give_back(std::uint16_t id) noexcept;
    /// Counts a receive that completed with -ENOBUFS: every buffer was taken, so its owner
    /// tries again on a later turn or falls back to a buffer of its own.
    void note_exhausted() noexcept { ++exhausted_; }
    /// How many receives found the pool empty so far (event_loop::stats() reports it).
    std::uint64_t exhausted() const noexcept { return exhausted_; }

private:
    buffer_pool(ring& r, io_uring_buf_ring* shared, unsigned count, std::size_t size,
                std::uint16_t group);

    ring& ring_;
    io_uring_buf_ring* shared_;
    std::unique_ptr<std::byte[]> memory_;
    unsigned count_;
    std::size_t size_;
    std::uint16_t group_;
    std::uint64_t exhausted_ = 0;
};

/// Received bytes in a pool's buffer; the buffer returns to the pool when this is dropped.
/// Empty (no buffer) at end of stream.
class SNOW_API pooled_bytes {
public:
    pooled_bytes() noexcept = default;
    /// Holds buffer `id` of `pool`, of which `length` bytes were received.
    pooled_bytes(buffer_pool& pool, std::uint16_t id, std::size_t length) noexcept
        : pool_(&pool)
        , id_(id)
        , length_(length) {}
    /// Takes the buffer of `other`, which is left empty.
    pooled_bytes(pooled_bytes&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr))
        , id_(other.id_)
        , length_(std::exchange(other.length_, 0)) {}
    /// Gives the current buffer back and takes the one of `other`.
    pooled_bytes& operator=(pooled_bytes&& other) noexcept {
        if (this != &other) {
            release();
            pool_ = std::exchange(other.pool_, nullptr);
            id_ = other.id_;
            length_ = std::exchange(other.length_, 0);
        }
        return *this;
    }
    ~pooled_bytes() { release(); }

    /// The received bytes; valid until release() or destruction.
    std::span<const std::byte> bytes() const noexcept {
        return pool_ ? pool_->bytes(id_, length_) : std::span<const std::byte>{};
    }
    /// The number of bytes received.
    std::size_t size() const noexcept { return length_; }
    /// Whether nothing was received (end of stream).
    bool empty() const noexcept { return length_ == 0; }

    /// Gives the buffer back to its pool now; the object is empty afterwards.
    void release() noexcept {
        if (pool_) std::exchange(pool_, nullptr)->give_back(id_);
        length_ = 0;
    }

private:
    buffer_pool* pool_ = nullptr;
    std::uint16_t id_ = 0;
    std::size_t length_ = 0;
};

} // namespace snow::io
