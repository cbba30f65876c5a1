// snow/io/ops.hpp: the single-shot io_uring requests snow awaits, one small type each: it
// holds what the kernel points at (buffers by span, sockaddr, msghdr) for the request's life.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <span>

#include "snow/io/buffer_pool.hpp"
#include "snow/io/operation.hpp"

namespace snow::io {

/// IORING_OP_NOP: a round trip through the ring and nothing else.
class [[nodiscard]] nop_op : public operation<nop_op> {
public:
    void prepare(io_uring_sqe& sqe) noexcept { io_uring_prep_nop(&sqe); }
    result<void> finish(int res) noexcept { return void_from_cqe(res); }
};

/// recv(2): bytes received, 0 at end of stream.
class [[nodiscard]] recv_op : public operation<recv_op> {
public:
    recv_op(int fd, std::span<std::byte> buffer, int flags = 0) noexcept
        : fd_(fd)
        , buffer_(buffer)
        , flags_(flags) {}
    void prepare(io_uring_sqe& sqe) noexcept {
        io_uring_prep_recv(&sqe, fd_, buffer_.data(), buffer_.size(), flags_);
    }
    result<std::size_t> finish(int res) noexcept { return size_from_cqe(res); }

private:
    int fd_;
    std::span<std::byte> buffer_;
    int flags_;
};

/// recv(2) into a buffer the kernel picks from `pool` when data arrives; empty at end of
/// stream. Fails with std::errc::no_buffer_space when the pool has no free buffer.
class [[nodiscard]] recv_pooled_op : public operation<recv_pooled_op> {
public:
    recv_pooled_op(int fd, buffer_pool& pool) noexcept : fd_(fd), pool_(pool) {}
    ~recv_pooled_op() {
        auto flags = settle_unclaimed();
        if (flags && (*flags & IORING_CQE_F_BUFFER) != 0) pool_.give_back(buffer_id(*flags));
    }
    void prepare(io_uring_sqe& sqe) noexcept {
        io_uring_prep_recv(&sqe, fd_, nullptr, 0, 0);
        sqe.flags |= IOSQE_BUFFER_SELECT;
        sqe.buf_group = pool_.group();
    }
    result<pooled_bytes> finish(int res) noexcept {
        if (res < 0) return system_error_code(-res);
        if ((cqe_flags() & IORING_CQE_F_BUFFER) == 0) return pooled_bytes{};
        return pooled_bytes(pool_, buffer_id(cqe_flags()), static_cast<std::size_t>(res));
    }

private:
    static std::uint16_t buffer_id(std::uint32_t flags) noexcept {
        return static_cast<std::uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
    }

    int fd_;
    buffer_pool& pool_;
};

/// send(2) with MSG_NOSIGNAL: bytes sent, possibly fewer than asked.
class [[nodiscard]] send_op : public operation<send_op> {
public:
    send_op(int fd, std::span<const std::byte> buffer, int flags = 0) noexcept
        : fd_(fd)
        , buffer_(buffer)
        , flags_(flags | MSG_NOSIGNAL) {}
    void prepare(io_uring_sqe& sqe) noexcept {
        io_uring_prep_send(&sqe, fd_, buffer_.data(), buffer_.size(), flags_);
    }
    result<std::size_t> finish(int res) noexcept { return size_from_cqe(res); }

private:
    int fd_;
    std::span<const std::byte> buffer_;
    int flags_;
};

/// sendmsg(2) / recvmsg(2): scatter-gather and datagrams. The caller's msghdr, iovecs and
/// address must live until the operation completes (they do, in the awaiting frame).
class [[nodiscard]] sendmsg_op : public operation<sendmsg_op> {
public:
    sendmsg_op(int fd, const msghdr& message, int flags = 0) noexcept
        : fd_(fd)
        , message_(&message)
        , flags_(flags | MSG_NOSIGNAL) {}
    void prepare(io_uring_sqe& sqe) noexcept {
        io_uring_prep_sendmsg(&sqe, fd_, message_, static_cast<unsigned>(flags_));
    }
    result<std::size_t> finish(int res) noexcept { return size_from_cqe(res); }

private:
    int fd_;
    const msghdr* message_;
    int flags_;
};

class [[nodiscard]] recvmsg_op : public operation<recvmsg_op> {
public:
    recvmsg_op(int fd, msghdr& message, int flags = 0) noexcept
        : fd_(fd)
        , message_(&message)
        , flags_(flags) {}
    void prepare(io_uring_sqe& sqe) noexcept {
        io_uring_prep_recvmsg(&sqe, fd_, message_, static_cast<unsigned>(flags_));
    }
    result<std::size_t> finish(int res) noexcept { return size_from_cqe(res); }

private:
    int fd_;
    msghdr* message_;
    int flags_;
};

/// connect(2) on a non-blocking socket: completes when the handshake does.
class [[nodiscard]] connect_op : public operation<connect_op> {
public:
    connect_op(int fd, const sockaddr* address, socklen_t length) noexcept
        : fd_(fd)
        , address_(address)
        , length_(length) {}
    void prepare(io_uring_sqe& sqe) noexcept {
        io_uring_prep_connect(&sqe, fd_, address_, length_);
    }
    result<void> finish(int res) noexcept { return void_from_cqe(res); }

private:
    int fd_;
    const sockaddr* address_;
    socklen_t length_;
};

class [[nodiscard]] shutdown_op : public operation<shutdown_op> {
public:
    shutdown_op(int fd, int how) noexcept : fd_(fd), how_(how) {}
    void prepare(io_uring_sqe& sqe) noexcept { io_uring_prep_shutdown(&sqe, fd_, how_); }
    result<void> finish(int res) noexcept { return void_from_cqe(res); }

private:
    int fd_;
    int how_;
};

class [[nodiscard]] close_op : public operation<close_op> {
public:
    explicit close_op(int fd) noexcept : fd_(fd) {}
    void prepare(io_uring_sqe& sqe) noexcept { io_uring_prep_close(&sqe, fd_); }
    result<void> finish(int res) noexcept { return void_from_cqe(res); }

private:
    int fd_;
};

/// read(2) at the file's current position (eventfds, pipes).
class [[nodiscard]] read_op : public operation<read_op> {
public:
    read_op(int fd, std::span<std::byte> buffer) noexcept : fd_(fd), buffer_(buffer) {}
    void prepare(io_uring_sqe& sqe) noexcept {
        io_uring_prep_read(&sqe, fd_, buffer_.data(), static_cast<unsigned>(buffer_.size()),
                           static_cast<__u64>(-1));
    }
    result<std::size_t> finish(int res) noexcept { return size_from_cqe(res); }

private:
    int fd_;
    std::span<std::byte> buffer_;
};

} // namespace snow::io
