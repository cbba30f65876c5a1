// tests/http/support/raw_client.hpp: a raw-socket HTTP client for the server tests. It
// sends exactly the bytes it is given and reads responses with the independent parser of
// response_reader.hpp, on the test's own loop (so it runs beside the server under test).
// Every read is bounded by a timeout: a server that never answers fails the test instead
// of hanging it. The WebSocket and event-stream clients build on it.
#pragma once

#include <sys/socket.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>

#include "snow/core/result.hpp"
#include "snow/core/task.hpp"
#include "snow/net/address.hpp"
#include "snow/net/tcp_stream.hpp"

#include "http/support/response_reader.hpp"

namespace snow::testing {

class raw_client {
public:
    using milliseconds = std::chrono::milliseconds;

    raw_client() = default;
    explicit raw_client(net::tcp_stream stream) noexcept : stream_(std::move(stream)) {}

    /// Connects to `server`; the error is connect's (connection_refused once it is gone).
    static task<result<raw_client>> connect(net::address server) {
        auto stream = co_await net::tcp_stream::connect(server);
        if (!stream) co_return stream.error();
        co_return raw_client(std::move(*stream));
    }

    /// Sends every byte of `bytes`; false if the connection refused them.
    task<bool> send(std::string bytes) {
        auto sent = co_await stream_.send_all(std::string_view(bytes));
        co_return sent.has_value();
    }

    /// Reads one complete response (bytes after it stay buffered for the next call).
    /// Nothing on timeout, on a malformed response, or if the peer closed before one was
    /// complete; `closed()` tells the last apart.
    task<std::optional<raw_response>> read_response(bool head_request = false,
                                                    milliseconds timeout = milliseconds(5000)) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            auto parsed = parse_response(buffer_, head_request, eof_);
            if (parsed.state == parse_state::complete) {
                buffer_.erase(0, parsed.consumed);
                co_return std::move(parsed.response);
            }
            if (parsed.state == parse_state::malformed || eof_) co_return std::nullopt;
            const bool more = co_await fill(deadline);
            if (!more) co_return std::nullopt;
        }
    }

    /// True once the peer has closed (EOF or reset) within `timeout`; whatever arrives
    /// first is kept and readable through received().
    task<bool> closed(milliseconds timeout = milliseconds(5000)) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!eof_) {
            const bool more = co_await fill(deadline);
            if (!more) break;
        }
        co_return eof_;
    }

    /// True if nothing arrives and the connection stays open for `quiet`.
    task<bool> stays_silent(milliseconds quiet) {
        const auto deadline = std::chrono::steady_clock::now() + quiet;
        const std::size_t before = buffer_.size();
        while (!eof_ && buffer_.size() == before) {
            const bool more = co_await fill(deadline);
            if (!more) break;
        }
        co_return !eof_ && buffer_.size() == before;
    }

    /// Bytes received and not yet taken by read_response().
    const std::string& received() const noexcept { return buffer_; }
    bool saw_eof() const noexcept { return eof_; }
    bool saw_reset() const noexcept { return reset_; }

    /// Closes the socket now (a client that leaves).
    task<void> close() { (void)co_await stream_.close(); }
    /// Makes close() send RST instead of FIN (SO_LINGER with a zero timeout): a client that
    /// resets.
    void reset_on_close() noexcept {
        const linger now{.l_onoff = 1, .l_linger = 0};
        (void)::setsockopt(stream_.native_handle(), SOL_SOCKET, SO_LINGER, &now, sizeof now);
    }
    /// Half-closes: no more requests, but responses may still come.
    task<bool> shutdown_write() { co_return (co_await stream_.shutdown(SHUT_WR)).has_value(); }

    net::tcp_stream& stream() noexcept { return stream_; }

protected:
    /// One recv bounded by `deadline` into received(); false on timeout (or an error other
    /// than reset).
    task<bool> fill(std::chrono::steady_clock::time_point deadline) {
        auto left = deadline - std::chrono::steady_clock::now();
        if (left <= std::chrono::steady_clock::duration::zero()) co_return false;
        auto n = co_await stream_.recv(chunk_).timeout(
            std::chrono::duration_cast<std::chrono::nanoseconds>(left));
        if (!n) {
            // A reset is the peer leaving too, abruptly.
            if (n.error() == std::errc::connection_reset) {
                eof_ = true;
                reset_ = true;
                co_return true;
            }
            co_return false;
        }
        if (*n == 0) {
            eof_ = true;
            co_return true;
        }
        buffer_.append(net::as_text(std::span(chunk_).first(*n)));
        co_return true;
    }

    net::tcp_stream stream_;
    std::string buffer_; // received, not yet taken
    bool eof_ = false;
    bool reset_ = false;

private:
    std::array<std::byte, 16 * 1024> chunk_{};
};

} // namespace snow::testing
