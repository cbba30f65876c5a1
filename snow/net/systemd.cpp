// snow/net/systemd.cpp: LISTEN_FDS parsing and the notify datagram.
#include "snow/net/systemd.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <charconv>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

namespace snow::net::systemd {

namespace {
/// A whole decimal number, or -1.
long parse_number(const char* text) noexcept {
    if (text == nullptr || *text == '\0') return -1;
    long value = -1;
    const char* end = text + std::strlen(text);
    auto [ptr, error] = std::from_chars(text, end, value);
    if (error != std::errc{} || ptr != end) return -1;
    return value;
}
} // namespace

std::vector<file_descriptor> take_listen_fds() {
    std::vector<file_descriptor> fds;
    const long pid = parse_number(std::getenv("LISTEN_PID"));
    const long count = parse_number(std::getenv("LISTEN_FDS"));
    if (pid == static_cast<long>(::getpid()) && count > 0) {
        for (long i = 0; i < count; ++i) {
            const int fd = listen_fds_start + static_cast<int>(i);
            if (::fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) continue; // not open after all
            fds.emplace_back(fd);
        }
    }
    ::unsetenv("LISTEN_PID");
    ::unsetenv("LISTEN_FDS");
    ::unsetenv("LISTEN_FDNAMES");
    return fds;
}

bool notify(std::string_view state) noexcept {
    const char* path = std::getenv("NOTIFY_SOCKET");
    if (path == nullptr || path[0] == '\0') return false;
    sockaddr_un to{};
    to.sun_family = AF_UNIX;
    const std::size_t length = std::strlen(path);
    if (length >= sizeof to.sun_path) return false;
    std::memcpy(to.sun_path, path, length);
    if (to.sun_path[0] == '@') to.sun_path[0] = '\0'; // abstract namespace
    const auto size = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + length);
    const file_descriptor fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd.is_open()) return false;
    const ssize_t sent = ::sendto(fd.get(), state.data(), state.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                                  reinterpret_cast<const sockaddr*>(&to), size);
    return sent == static_cast<ssize_t>(state.size());
}

} // namespace snow::net::systemd
