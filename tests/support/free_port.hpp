// tests/support/free_port.hpp: a loopback port that was free a moment ago, for the programs
// and peers a test starts that bind a port themselves and cannot be told to pick one.
#pragma once

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>

namespace snow::testing {

/// A TCP port on 127.0.0.1 that was free a moment ago. Another process may take it first;
/// the caller retries then.
inline std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    const bool bound = ::bind(fd, reinterpret_cast<const sockaddr*>(&address), size) == 0 &&
                       ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0;
    ::close(fd);
    REQUIRE(bound);
    return ntohs(address.sin_port);
}

} // namespace snow::testing
