// tests/examples/blocking_socket.hpp: a plain blocking TCP client over loopback with a receive
// timeout, so the example tests check the servers with code that shares nothing with snow.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "support/blocking_send.hpp"

namespace snow::testing {

class blocking_socket {
public:
    /// Connects to 127.0.0.1:`port`; is_open() tells whether it worked.
    explicit blocking_socket(std::uint16_t port,
                             std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) return;
        timeval tv{.tv_sec = static_cast<time_t>(timeout.count() / 1000),
                   .tv_usec = static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        sockaddr_in peer{};
        peer.sin_family = AF_INET;
        peer.sin_port = htons(port);
        peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<const sockaddr*>(&peer), sizeof peer) < 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }
    blocking_socket(const blocking_socket&) = delete;
    blocking_socket& operator=(const blocking_socket&) = delete;
    ~blocking_socket() { close(); }

    bool is_open() const noexcept { return fd_ >= 0; }
    void close() noexcept {
        if (fd_ >= 0) ::close(std::exchange(fd_, -1));
    }

    /// "127.0.0.1:PORT" of this end, as the servers print their peers.
    std::string local_name() const {
        sockaddr_in self{};
        socklen_t length = sizeof self;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&self), &length);
        return "127.0.0.1:" + std::to_string(ntohs(self.sin_port));
    }

    bool send_all(std::string_view data) { return snow::testing::blocking_send_all(fd_, data); }

    /// Exactly `n` bytes, or nothing on end of stream, error or timeout.
    std::optional<std::string> read_exact(std::size_t n) {
        std::string data(n, '\0');
        std::size_t got = 0;
        while (got < n) {
            ssize_t r = ::recv(fd_, data.data() + got, n - got, 0);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) return std::nullopt;
            got += static_cast<std::size_t>(r);
        }
        return data;
    }

    /// A frame of framed_server's protocol: 4-byte big-endian length, then the payload.
    bool send_frame(std::string_view payload) {
        return send_all(frame_header(static_cast<std::uint32_t>(payload.size()))) &&
               send_all(payload);
    }
    std::optional<std::string> read_frame() {
        auto header = read_exact(4);
        if (!header) return std::nullopt;
        std::uint32_t length = 0;
        for (char c : *header) length = (length << 8) | static_cast<unsigned char>(c);
        return read_exact(length);
    }
    static std::string frame_header(std::uint32_t length) {
        return {static_cast<char>(length >> 24), static_cast<char>(length >> 16),
                static_cast<char>(length >> 8), static_cast<char>(length)};
    }

    /// True when the peer has closed or reset the connection (discarding any data still
    /// arriving); false if it stays open past the receive timeout.
    bool closed_by_peer() {
        char sink[4096];
        for (;;) {
            ssize_t r = ::recv(fd_, sink, sizeof sink, 0);
            if (r > 0) continue;
            if (r == 0) return true;
            if (errno == EINTR) continue;
            return errno == ECONNRESET || errno == EPIPE;
        }
    }

private:
    int fd_ = -1;
};

} // namespace snow::testing
