// snow/net/udp_socket.cpp
#include "snow/net/udp_socket.hpp"

#include <netinet/in.h>

#include <cerrno>

namespace snow::net {

result<udp_socket> udp_socket::open(int family) {
    file_descriptor fd(::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP));
    if (!fd.is_open()) return system_error_code(errno);
    return udp_socket(std::move(fd));
}

result<udp_socket> udp_socket::bind(const address& local) {
    auto s = open(local.family());
    if (!s) return s.error();
    if (::bind(s->fd_.get(), local.data(), local.size()) < 0) return system_error_code(errno);
    return s;
}

result<udp_socket> udp_socket::bind(std::string_view local) {
    auto a = address::parse(local);
    if (!a) return a.error();
    return bind(*a);
}

result<address> udp_socket::local_address() const {
    address a;
    socklen_t length = address::capacity();
    if (::getsockname(fd_.get(), a.data(), &length) < 0) return system_error_code(errno);
    a.set_size(length);
    return a;
}

udp_socket::send_to_op::send_to_op(int fd, std::span<const std::byte> data,
                                   const address& peer) noexcept
    : fd_(fd)
    , peer_(peer)
    , iov_{const_cast<std::byte*>(data.data()), data.size()} {}

void udp_socket::send_to_op::prepare(io_uring_sqe& sqe) noexcept {
    // The header points into this object, which stays put in the awaiting frame.
    message_.msg_name = peer_.data();
    message_.msg_namelen = peer_.size();
    message_.msg_iov = &iov_;
    message_.msg_iovlen = 1;
    io_uring_prep_sendmsg(&sqe, fd_, &message_, MSG_NOSIGNAL);
}

udp_socket::recv_from_op::recv_from_op(int fd, std::span<std::byte> buffer) noexcept
    : fd_(fd)
    , iov_{buffer.data(), buffer.size()} {}

void udp_socket::recv_from_op::prepare(io_uring_sqe& sqe) noexcept {
    message_.msg_name = sender_.data();
    message_.msg_namelen = address::capacity();
    message_.msg_iov = &iov_;
    message_.msg_iovlen = 1;
    io_uring_prep_recvmsg(&sqe, fd_, &message_, 0);
}

result<datagram> udp_socket::recv_from_op::finish(int res) noexcept {
    if (res < 0) return system_error_code(-res);
    sender_.set_size(message_.msg_namelen);
    return datagram{static_cast<std::size_t>(res), sender_};
}

} // namespace snow::net
