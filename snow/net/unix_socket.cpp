// snow/net/unix_socket.cpp: the sockaddr_un of a path, and connecting or listening on it.
#include "snow/net/unix_socket.hpp"

#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <optional>
#include <utility>

#include "snow/core/error.hpp"
#include "snow/io/ops.hpp"
#include "snow/io/syscalls.hpp"

namespace snow::net {
namespace {

static_assert(max_unix_path_bytes + 1 == sizeof(sockaddr_un::sun_path));

/// The address of `path`, with its length; none for a path no sockaddr_un can hold.
std::optional<std::pair<sockaddr_un, socklen_t>> unix_address(const std::string& path) {
    if (path.empty() || path.size() > max_unix_path_bytes || path.find('\0') != std::string::npos)
        return std::nullopt;
    sockaddr_un at{};
    at.sun_family = AF_UNIX;
    std::memcpy(at.sun_path, path.data(), path.size());
    return std::pair{at, static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1)};
}

} // namespace

task<result<tcp_stream>> connect_unix(std::string path,
                                      std::optional<std::chrono::nanoseconds> timeout) {
    const auto at = unix_address(path);
    if (!at) co_return std::make_error_code(std::errc::invalid_argument);
    file_descriptor fd(io::sys::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.is_open()) co_return system_error_code(errno);
    const auto* peer = reinterpret_cast<const sockaddr*>(&at->first);
    // Awaited in statements of their own: GCC 12 mislays coroutine frames for some co_await
    // expressions inside conditions.
    result<void> connected;
    if (timeout) {
        connected = co_await io::connect_op(fd.get(), peer, at->second).timeout(*timeout);
    } else {
        connected = co_await io::connect_op(fd.get(), peer, at->second);
    }
    if (!connected) co_return connected.error();
    co_return tcp_stream(std::move(fd));
}

result<tcp_listener> listen_unix(const std::string& path, listen_options options) {
    const auto at = unix_address(path);
    if (!at) return std::make_error_code(std::errc::invalid_argument);
    file_descriptor fd(io::sys::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.is_open()) return system_error_code(errno);
    if (io::sys::bind(fd.get(), reinterpret_cast<const sockaddr*>(&at->first), at->second) < 0)
        return system_error_code(errno);
    if (io::sys::listen(fd.get(), options.backlog) < 0) return system_error_code(errno);
    options.no_delay = false; // no TCP here
    return tcp_listener::adopt(std::move(fd), options);
}

} // namespace snow::net
