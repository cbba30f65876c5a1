// tests/support/blocking_send.hpp: writes every byte on a blocking socket, for the test
// clients that check snow's servers with plain syscalls and nothing of snow.
#pragma once

#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <string_view>

namespace snow::testing {

/// Sends all of `data` (retrying on EINTR); false once the peer is gone or the send fails.
inline bool blocking_send_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

} // namespace snow::testing
