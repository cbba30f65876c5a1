// snow/io/syscalls.hpp: the socket system calls snow makes outside the ring (creating,
// binding and naming sockets, options, close, a non-blocking peek), in one place, so that a
// thread running a simulated kernel (io::sim::kernel) answers them from its in-memory
// network instead. Outside a simulation each is the libc call after one thread-local test;
// none blocks. Each keeps libc's contract: -1 with errno on failure.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <cstddef>

#include "snow/core/export.hpp"

namespace snow::io::sys {

///@{
/// As the libc function of the same name.
SNOW_API int socket(int family, int type, int protocol) noexcept;
SNOW_API int bind(int fd, const sockaddr* address, socklen_t length) noexcept;
SNOW_API int listen(int fd, int backlog) noexcept;
SNOW_API int setsockopt(int fd, int level, int name, const void* value, socklen_t length) noexcept;
SNOW_API int getsockopt(int fd, int level, int name, void* value, socklen_t* length) noexcept;
SNOW_API int getsockname(int fd, sockaddr* address, socklen_t* length) noexcept;
SNOW_API int getpeername(int fd, sockaddr* address, socklen_t* length) noexcept;
SNOW_API int close(int fd) noexcept;
///@}
/// recv(2) that never blocks: MSG_DONTWAIT is added to `flags`.
SNOW_API ssize_t recv_now(int fd, void* buffer, std::size_t length, int flags) noexcept;

} // namespace snow::io::sys
