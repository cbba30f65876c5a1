// snow/io/ops.hpp: the single-shot io_uring requests snow awaits, one small type each: it
// holds what the kernel points at (buffers by span, sockaddr, msghdr) for the request's life.
#pragma once

#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <span>

#include "snow/io/buffer_pool.hpp"
#include "snow/io/operation.hpp"

namespace snow::io {

/// IORING_OP_NOP: a round trip through the ring and nothing else.
class [[nodiscard]] nop_op : public operation<nop_op> {
public:
    ///@{
    /// The operation protocol, called by io::operation: prepare() fills the submission entry,
    /// finish() turns the completion's result into what `co_await` yields.
    void prepare(io_uring_sqe& sqe) noexcept { io_uring_prep_nop(&sqe); }
    result<void> finish(int res) noexcept { return void_from_cqe(res); }
    ///@}
};

/// recv(2): bytes received, 0 at end of stream.
class [[nodiscard]] recv_op : public operation<recv_op> {
public:
    /// Receives into `buffer` from socket `fd` with recv(2) `flags`.
    recv_op(int fd, std::span<std::byte> buffer, int flags = 0) noexcept
        : fd_(fd)
        , buffer_(buffer)
        , flags_(flags) {}
    ///@{
    /// The operation protocol, called by io::operation: prepare() fills the submission entry,
    /// finish() turns the completion's result into what `co_await` yields.
    void prepare(io_uring_sqe& sqe) noexcept {
        io_uring_prep_recv(&sqe, fd_, buffer_.data(), buffer_.size(), flags_);
    }
    result<std::size_t> finish(int res) noexcept { return size_from_cqe(res); }
    ///@}

private:
    int fd_;
    std::span<std::byte> buffer_;
    int flags_;
};

/// recv(2) into a buffer the kernel picks from `pool` when data arrives; empty at end of
/// stream. Fails with std::errc::no_buffer_space when the pool has no free buffer.
class [[nodiscard]] recv_pooled_op : public operation<recv_pooled_op> {
public:
    /// Receives from socket `fd` into a buffer of `pool`.
    recv_pooled_op(int fd, buffer_pool& pool) noexcept : fd_(fd), pool_(pool) {}
    ~recv_pooled_op() {
        auto flags = settle_unclaimed();
        if (flags && (*flags & IORING_CQE_F_BUFFER) != 0) pool_.give_back(buffer_id(*flags));
    }
    ///@{
    /// The operation protocol, called by io::operation: prepare() fills the submission entry,
    /// finish() turns the completion's result into what `co_await` yields.
    void prepare(io_uring_sqe& sqe) noexcept {
        io_uring_prep_recv(&sqe, fd_, nullptr, 0, 0);
        sqe.flags |= IOSQE_BUFFER_SELECT;
        sqe.buf_group = pool_.group();
    }
    result<pooled_bytes> finish(int res) noexcept {
        if (res == -ENOBUFS) pool_.note_exhausted();
        if (res < 0) return system_error_code(-res);
        if ((cqe_flags() & IORING_CQE_F_BUFFER) == 0) return pooled_bytes{};
        // Bytes that beat a cancel are the caller's like any others: the buffer the kernel
        // picked for them goes back to the ring only when they are dropped.
        if (cancel_requested()) [[unlikely]] {
            if (detail::planted_bug == detail::plant::drop_pooled_buffer) [[unlikely]]
                return std::make_error_code(std::errc::operation_canceled);
        }
        return pooled_bytes(pool_, buffer_id(cqe_flags()), static_cast<std::size_t>(res));
    }
    ///@}

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
    /// Sends `buffer` on socket `fd` with send(2) `flags` (MSG_NOSIGNAL is added).
    send_op(int fd, std::span<const std::byte> buffer, int flags = 0) noexcept
        : fd_(fd)
        , buffer_(buffer)
        , flags_(flags | MSG_NOSIGNAL) {}
    ///@{
    /// The operation protocol, called by io::operation: prepare() fills the submission entry,
    /// finish() turns the completion's result into what `co_await` yields.
    void prepare(io_uring_sqe& sqe) noexcept {
        io_uring_prep_send(&sqe, fd_, buffer_.data(), buffer_.size(), flags_);
    }
    result<std::size_t> finish(int res) noexcept { return size_from_cqe(res); }
    ///@}

private:
    int fd_;
    std::span<const std::byte> buffer_;
    int flags_;
};

/// sendmsg(2) / recvmsg(2): scatter-gather and datagrams. The caller's msghdr, iovecs and
/// address must live until the operation completes (they do, in the awaiting frame).
class [[nodiscard]] sendmsg_op : public operation<sendmsg_op> {
public:
    /// Sends `message` on socket `fd` with sendmsg(2) `flags` (MSG_NOSIGNAL is added).
    sendmsg_op(int fd, const msghdr& message, int flags = 0) noexcept
        : fd_(fd)
        , message_(&message)
        , flags_(flags | MSG_NOSIGNAL) {}
    ///@{
    /// The operation protocol, called by io::operation: prepare() fills the submission entry,
    /// finish() turns the completion's result into what `co_await` yields.
    void prepare(io_uring_sqe& sqe) noexcept {
        io_uring_prep_sendmsg(&sqe, fd_, message_, static_cast<unsigned>(flags_));
    }
    result<std::size_t> finish(int res) noexcept { return size_from_cqe(res); }
    ///@}

private:
    int fd_;
    const msghdr* message_;
    int flags_;
};

/// recvmsg(2): bytes received into the caller's msghdr, which must live until the operation
/// completes.
class [[nodiscard]] recvmsg_op : public operation<recvmsg_op> {
public:
    /// Receives into `message` from socket `fd` with recvmsg(2) `flags`.
    recvmsg_op(int fd, msghdr& message, int flags = 0) noexcept
        : fd_(fd)
        , message_(&message)
        , flags_(flags) {}
    ///@{
    /// The operation protocol, called by io::operation: prepare() fills the submission entry,
    /// finish() turns the completion's result into what `co_await` yields.
    void prepare(io_uring_sqe& sqe) noexcept {
        io_uring_prep_recvmsg(&sqe, fd_, message_, static_cast<unsigned>(flags_));
    }
    result<std::size_t> finish(int res) noexcept { return size_from_cqe(res); }
    ///@}

private:
    int fd_;
    msghdr* message_;
    int flags_;
};

/// connect(2) on a non-blocking socket: completes when the handshake does.
class [[nodiscard]] connect_op : public operation<connect_op> {
public:
    /// Connects socket `fd` to the `length`-byte address at `address`, which must stay valid
    /// until the operation completes.
    connect_op(int fd, const sockaddr* address, socklen_t length) noexcept
        : fd_(fd)
        , address_(address)
        , length_(length) {}
    ///@{
    /// The operation protocol, called by io::operation: prepare() fills the submission entry,
    /// finish() turns the completion's result into what `co_await` yields.
    void prepare(io_uring_sqe& sqe) noexcept {
        io_uring_prep_connect(&sqe, fd_, address_, length_);
    }
    result<void> finish(int res) noexcept { return void_from_cqe(res); }
    ///@}

private:
    int fd_;
    const sockaddr* address_;
    socklen_t length_;
};

/// shutdown(2): stops sending, receiving or both on a socket.
class [[nodiscard]] shutdown_op : public operation<shutdown_op> {
public:
    /// Shuts down direction `how` (SHUT_RD, SHUT_WR, SHUT_RDWR) of socket `fd`.
    shutdown_op(int fd, int how) noexcept : fd_(fd), how_(how) {}
    ///@{
    /// The operation protocol, called by io::operation: prepare() fills the submission entry,
    /// finish() turns the completion's result into what `co_await` yields.
    void prepare(io_uring_sqe& sqe) noexcept { io_uring_prep_shutdown(&sqe, fd_, how_); }
    result<void> finish(int res) noexcept { return void_from_cqe(res); }
    ///@}

private:
    int fd_;
    int how_;
};

/// close(2) on the ring.
class [[nodiscard]] close_op : public operation<close_op> {
public:
    /// Closes `fd`, which the operation now owns.
    explicit close_op(int fd) noexcept : fd_(fd) {}
    ///@{
    /// The operation protocol, called by io::operation: prepare() fills the submission entry,
    /// finish() turns the completion's result into what `co_await` yields.
    void prepare(io_uring_sqe& sqe) noexcept { io_uring_prep_close(&sqe, fd_); }
    result<void> finish(int res) noexcept { return void_from_cqe(res); }
    ///@}

private:
    int fd_;
};

/// IORING_OP_POLL_ADD for one descriptor, one-shot: the events that became ready. For
/// sockets a library outside snow reads and writes itself (c-ares), so that the loop learns
/// when to call it without a readiness loop of its own.
class [[nodiscard]] poll_op : public operation<poll_op> {
public:
    /// Waits until `fd` has one of `events` (POLLIN, POLLOUT…) ready.
    poll_op(int fd, unsigned events) noexcept : fd_(fd), events_(events) {}
    ///@{
    /// The operation protocol, called by io::operation: prepare() fills the submission entry,
    /// finish() turns the completion's result into what `co_await` yields.
    void prepare(io_uring_sqe& sqe) noexcept { io_uring_prep_poll_add(&sqe, fd_, events_); }
    result<unsigned> finish(int res) noexcept {
        if (res < 0) return system_error_code(-res);
        return static_cast<unsigned>(res);
    }
    ///@}

private:
    int fd_;
    unsigned events_;
};

/// read(2) at the file's current position (eventfds, pipes).
class [[nodiscard]] read_op : public operation<read_op> {
public:
    /// Reads into `buffer` from `fd`.
    read_op(int fd, std::span<std::byte> buffer) noexcept : fd_(fd), buffer_(buffer) {}
    ///@{
    /// The operation protocol, called by io::operation: prepare() fills the submission entry,
    /// finish() turns the completion's result into what `co_await` yields.
    void prepare(io_uring_sqe& sqe) noexcept {
        io_uring_prep_read(&sqe, fd_, buffer_.data(), static_cast<unsigned>(buffer_.size()),
                           static_cast<__u64>(-1));
    }
    result<std::size_t> finish(int res) noexcept { return size_from_cqe(res); }
    ///@}

private:
    int fd_;
    std::span<std::byte> buffer_;
};

/// write(2) at the file's current position, or at its end for O_APPEND (log files, pipes,
/// terminals). The kernel takes a regular file's write to its own workers, so the loop never
/// waits on the disk.
class [[nodiscard]] write_op : public operation<write_op> {
public:
    /// Writes `buffer` to `fd`.
    write_op(int fd, std::span<const std::byte> buffer) noexcept : fd_(fd), buffer_(buffer) {}
    ///@{
    /// The operation protocol, called by io::operation: prepare() fills the submission entry,
    /// finish() turns the completion's result into what `co_await` yields.
    void prepare(io_uring_sqe& sqe) noexcept {
        io_uring_prep_write(&sqe, fd_, buffer_.data(), static_cast<unsigned>(buffer_.size()),
                            static_cast<__u64>(-1));
    }
    result<std::size_t> finish(int res) noexcept { return size_from_cqe(res); }
    ///@}

private:
    int fd_;
    std::span<const std::byte> buffer_;
};

/// openat(2) relative to the working directory: the new descriptor. The kernel resolves the
/// path on its own workers, so the loop does not wait on the file system.
class [[nodiscard]] openat_op : public operation<openat_op> {
public:
    /// `path` must stay valid until the operation completes.
    openat_op(const char* path, int flags, mode_t mode) noexcept
        : path_(path)
        , flags_(flags)
        , mode_(mode) {}
    ///@{
    /// The operation protocol, called by io::operation: prepare() fills the submission entry,
    /// finish() turns the completion's result into what `co_await` yields.
    void prepare(io_uring_sqe& sqe) noexcept {
        io_uring_prep_openat(&sqe, AT_FDCWD, path_, flags_, mode_);
    }
    result<int> finish(int res) noexcept {
        if (res < 0) return system_error_code(-res);
        return res;
    }
    ///@}

private:
    const char* path_;
    int flags_;
    mode_t mode_;
};

} // namespace snow::io
