// tests/http/support/blocking_client.hpp: a plain blocking HTTP client over loopback for tests
// that drive a server in another process (the demo). Sockets and poll(2) only, plus the
// independent response parser, so these tests share nothing with snow but the bytes.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "support/blocking_send.hpp"

#include "http/support/response_reader.hpp"

namespace snow::testing {

class blocking_client {
public:
    using clock = std::chrono::steady_clock;
    using milliseconds = std::chrono::milliseconds;

    /// Connects to 127.0.0.1:`port`; is_open() tells whether it worked.
    explicit blocking_client(std::uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) return;
        int on = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        sockaddr_in peer{};
        peer.sin_family = AF_INET;
        peer.sin_port = htons(port);
        peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<const sockaddr*>(&peer), sizeof peer) < 0) close();
    }
    blocking_client(const blocking_client&) = delete;
    blocking_client& operator=(const blocking_client&) = delete;
    blocking_client(blocking_client&& other) noexcept
        : fd_(std::exchange(other.fd_, -1))
        , buffer_(std::move(other.buffer_))
        , eof_(other.eof_) {}
    ~blocking_client() { close(); }

    bool is_open() const noexcept { return fd_ >= 0; }
    int native_handle() const noexcept { return fd_; }
    void close() noexcept {
        if (fd_ >= 0) ::close(std::exchange(fd_, -1));
    }

    bool send_all(std::string_view data) { return snow::testing::blocking_send_all(fd_, data); }

    /// One complete response within `timeout`; nothing on timeout, malformed bytes, or a
    /// close before the response was complete.
    std::optional<raw_response> read_response(milliseconds timeout = milliseconds(5000),
                                              bool head_request = false) {
        const auto deadline = clock::now() + timeout;
        for (;;) {
            auto parsed = parse_response(buffer_, head_request, eof_);
            if (parsed.state == parse_state::complete) {
                buffer_.erase(0, parsed.consumed);
                return std::move(parsed.response);
            }
            if (parsed.state == parse_state::malformed || eof_) return std::nullopt;
            if (!fill(deadline)) return std::nullopt;
        }
    }

    /// True once the peer closes within `timeout`.
    bool closed_by_peer(milliseconds timeout = milliseconds(3000)) {
        const auto deadline = clock::now() + timeout;
        while (!eof_)
            if (!fill(deadline)) break;
        return eof_;
    }

    /// True if bytes (or the end of the stream) are waiting right now.
    bool readable_now() const {
        if (!buffer_.empty() || eof_) return true;
        pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
        return ::poll(&p, 1, 0) > 0;
    }

private:
    bool fill(clock::time_point deadline) {
        for (;;) {
            auto left = std::chrono::duration_cast<milliseconds>(deadline - clock::now());
            if (left.count() <= 0) return false;
            pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
            int ready = ::poll(&p, 1, static_cast<int>(left.count()));
            if (ready < 0 && errno == EINTR) continue;
            if (ready <= 0) return false;
            char chunk[16 * 1024];
            ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == ECONNRESET) n = 0;
            if (n < 0) return false;
            if (n == 0) {
                eof_ = true;
                return true;
            }
            buffer_.append(chunk, static_cast<std::size_t>(n));
            return true;
        }
    }

    int fd_ = -1;
    std::string buffer_;
    bool eof_ = false;
};

} // namespace snow::testing
