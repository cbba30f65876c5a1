// snow/net/tcp_stream.cpp: connect (with resolution and address fallback) and send_all.
#include "snow/net/tcp_stream.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <algorithm>
#include <cerrno>

#include "snow/io/syscalls.hpp"
#include "snow/net/happy_eyeballs.hpp"
#include "snow/net/resolver.hpp"

namespace snow::net {

task<result<tcp_stream>> tcp_stream::connect(address peer, connect_options options) {
    file_descriptor fd(io::sys::socket(peer.family(), SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP));
    if (!fd.is_open()) co_return system_error_code(errno);
    // Awaited in statements of their own: GCC 12 mislays coroutine frames for some co_await
    // expressions inside conditions.
    result<void> connected;
    if (options.timeout) {
        connected =
            co_await io::connect_op(fd.get(), peer.data(), peer.size()).timeout(*options.timeout);
    } else {
        connected = co_await io::connect_op(fd.get(), peer.data(), peer.size());
    }
    if (!connected) co_return connected.error();
    tcp_stream stream(std::move(fd));
    if (options.no_delay) (void)stream.set_no_delay(true);
    co_return stream;
}

task<result<tcp_stream>> tcp_stream::connect(std::string host, std::uint16_t port,
                                             connect_options options) {
    auto addresses = co_await resolve(std::move(host), port);
    if (!addresses) co_return addresses.error();
    co_return co_await connect_first(std::move(*addresses), options, default_attempt_delay);
}

task<result<void>> tcp_stream::send_all(std::span<const std::byte> buffer) {
    while (!buffer.empty()) {
        auto sent = co_await send(buffer);
        if (!sent) co_return sent.error();
        buffer = buffer.subspan(*sent);
    }
    co_return result<void>{};
}

task<result<void>> tcp_stream::send_all(std::string_view text) {
    return send_all(as_bytes(text));
}

task<result<void>> tcp_stream::send_all(std::span<iovec> buffers) {
    while (!buffers.empty() && buffers.front().iov_len == 0) buffers = buffers.subspan(1);
    while (!buffers.empty()) {
        msghdr message{};
        message.msg_iov = buffers.data();
        message.msg_iovlen = buffers.size();
        auto sent = co_await io::sendmsg_op(fd_.get(), message);
        if (!sent) co_return sent.error();
        // Advance past what went out; the iovecs are the caller's to consume.
        std::size_t n = *sent;
        while (!buffers.empty() && n >= buffers.front().iov_len) {
            n -= buffers.front().iov_len;
            buffers = buffers.subspan(1);
        }
        if (n > 0) {
            buffers.front().iov_base = static_cast<char*>(buffers.front().iov_base) + n;
            buffers.front().iov_len -= n;
        }
    }
    co_return result<void>{};
}

result<void> tcp_stream::set_no_delay(bool on) noexcept {
    int value = on ? 1 : 0;
    if (io::sys::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &value, sizeof value) < 0)
        return system_error_code(errno);
    return {};
}

namespace {
template <typename Get>
result<address> socket_name(int fd, Get get) {
    address a;
    socklen_t length = address::capacity();
    if (get(fd, a.data(), &length) < 0) return system_error_code(errno);
    // A Unix socket's path does not fit, and the kernel reports the length it would need.
    a.set_size(std::min(length, address::capacity()));
    return a;
}
} // namespace

result<address> tcp_stream::local_address() const {
    return socket_name(fd_.get(), io::sys::getsockname);
}
result<address> tcp_stream::peer_address() const {
    return socket_name(fd_.get(), io::sys::getpeername);
}

} // namespace snow::net
