// snow/io/syscalls.cpp: each socket call goes to the simulated network when this thread
// runs a simulated kernel and the descriptor is one of its sockets, else to libc.
#include "snow/io/syscalls.hpp"

#include <unistd.h>

#include "snow/io/sim/kernel.hpp"

namespace snow::io::sys {
namespace {

/// The simulated network that owns `fd`, or null for a real descriptor.
sim::network* simulated(int fd) noexcept {
    if (!sim::network::is_simulated(fd)) [[likely]]
        return nullptr;
    sim::kernel* k = sim::kernel::on_this_thread();
    return k != nullptr ? &k->network() : nullptr;
}

} // namespace

int socket(int family, int type, int protocol) noexcept {
    if (sim::kernel* k = sim::kernel::on_this_thread(); k != nullptr) [[unlikely]]
        return k->network().socket(family, type, protocol);
    return ::socket(family, type, protocol);
}

int bind(int fd, const sockaddr* address, socklen_t length) noexcept {
    if (sim::network* n = simulated(fd)) return n->bind(fd, address, length);
    return ::bind(fd, address, length);
}

int listen(int fd, int backlog) noexcept {
    if (sim::network* n = simulated(fd)) return n->listen(fd, backlog);
    return ::listen(fd, backlog);
}

int setsockopt(int fd, int level, int name, const void* value, socklen_t length) noexcept {
    if (sim::network* n = simulated(fd)) return n->setsockopt(fd, level, name, value, length);
    return ::setsockopt(fd, level, name, value, length);
}

int getsockopt(int fd, int level, int name, void* value, socklen_t* length) noexcept {
    if (sim::network* n = simulated(fd)) return n->getsockopt(fd, level, name, value, length);
    return ::getsockopt(fd, level, name, value, length);
}

int getsockname(int fd, sockaddr* address, socklen_t* length) noexcept {
    if (sim::network* n = simulated(fd)) return n->getsockname(fd, address, length);
    return ::getsockname(fd, address, length);
}

int getpeername(int fd, sockaddr* address, socklen_t* length) noexcept {
    if (sim::network* n = simulated(fd)) return n->getpeername(fd, address, length);
    return ::getpeername(fd, address, length);
}

int close(int fd) noexcept {
    if (sim::network* n = simulated(fd)) return n->close(fd);
    return ::close(fd);
}

ssize_t recv_now(int fd, void* buffer, std::size_t length, int flags) noexcept {
    if (sim::network* n = simulated(fd)) return n->recv_now(fd, buffer, length, flags);
    return ::recv(fd, buffer, length, flags | MSG_DONTWAIT);
}

} // namespace snow::io::sys
