// snow/net/udp_socket.hpp: a UDP socket: bind, send_to, recv_from, each one io_uring request
// (sendmsg/recvmsg) whose message header lives in the awaiting frame.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <span>
#include <string_view>

#include "snow/core/export.hpp"
#include "snow/core/result.hpp"
#include "snow/io/operation.hpp"
#include "snow/net/address.hpp"
#include "snow/net/file_descriptor.hpp"

namespace snow::net {

/// What recv_from() received: its size and who sent it.
struct datagram {
    std::size_t size; ///< bytes received (truncated to the buffer if larger)
    /// The address the datagram came from.
    address sender;
};

/// A UDP socket: one datagram per send_to() or recv_from(), each an io_uring request.
class SNOW_API udp_socket {
public:
    udp_socket() noexcept = default;

    /// A socket bound to `local` (port 0 picks one). Errors: the kernel's.
    static result<udp_socket> bind(const address& local);
    /// A socket bound to "host:port" (port 0 picks one). Errors: errc::invalid_address,
    /// the kernel's.
    static result<udp_socket> bind(std::string_view local);
    /// An unbound socket of `family` (AF_INET or AF_INET6).
    static result<udp_socket> open(int family);

    /// The operation send_to() returns: `co_await` it for the bytes sent.
    class [[nodiscard]] send_to_op : public io::operation<send_to_op> {
    public:
        /// Sends `data` from socket `fd` to `peer`; made by send_to().
        send_to_op(int fd, std::span<const std::byte> data, const address& peer) noexcept;
        /// Fills the submission entry (a sendmsg); called by the operation machinery.
        void prepare(io_uring_sqe& sqe) noexcept;
        /// Turns the completion's result into the bytes sent or an error.
        result<std::size_t> finish(int res) noexcept { return io::size_from_cqe(res); }

    private:
        int fd_;
        address peer_;
        iovec iov_;
        msghdr message_{};
    };

    /// The operation recv_from() returns: `co_await` it for a datagram.
    class [[nodiscard]] recv_from_op : public io::operation<recv_from_op> {
    public:
        /// Receives into `buffer` from socket `fd`; made by recv_from().
        recv_from_op(int fd, std::span<std::byte> buffer) noexcept;
        /// Fills the submission entry (a recvmsg); called by the operation machinery.
        void prepare(io_uring_sqe& sqe) noexcept;
        /// Turns the completion's result into a datagram or an error.
        result<datagram> finish(int res) noexcept;

    private:
        int fd_;
        address sender_;
        iovec iov_;
        msghdr message_{};
    };

    /// Sends one datagram to `peer`; the bytes sent.
    send_to_op send_to(std::span<const std::byte> data, const address& peer) noexcept {
        return {fd_.get(), data, peer};
    }
    /// Receives one datagram into `buffer`.
    recv_from_op recv_from(std::span<std::byte> buffer) noexcept { return {fd_.get(), buffer}; }

    /// The bound address, with the real port when bound to port 0.
    result<address> local_address() const;
    /// The socket's descriptor, still owned by the socket.
    int native_handle() const noexcept { return fd_.get(); }

private:
    explicit udp_socket(file_descriptor fd) noexcept : fd_(std::move(fd)) {}
    file_descriptor fd_;
};

} // namespace snow::net
