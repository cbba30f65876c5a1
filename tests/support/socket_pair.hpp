// tests/support/socket_pair.hpp: two connected stream sockets (AF_UNIX) wrapped as streams,
// for tests of operations that need a peer but not TCP.
#pragma once

#include <sys/socket.h>

#include <array>
#include <utility>

#include "snow/net/tcp_stream.hpp"

namespace snow::testing {

inline std::pair<net::tcp_stream, net::tcp_stream> socket_pair() {
    std::array<int, 2> fds{};
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds.data()) == 0);
    return {net::tcp_stream(net::file_descriptor(fds[0])),
            net::tcp_stream(net::file_descriptor(fds[1]))};
}

/// Bytes available to read right now, without consuming them.
inline std::size_t pending_bytes(const net::tcp_stream& s) {
    char buf[4096];
    auto n = ::recv(s.native_handle(), buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 ? 0 : static_cast<std::size_t>(n);
}

} // namespace snow::testing
