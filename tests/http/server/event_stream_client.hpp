// tests/http/server/event_stream_client.hpp: a raw-socket client for the event-stream tests. It
// reads a response head, then the chunked body as it arrives, handing out one event block
// (the text up to a blank line) at a time. Every read is bounded by a timeout, so a server
// that stays silent fails the test instead of hanging it; the tests synchronise on the bytes
// it receives, never on sleeps. The socket and the whole responses are raw_client's.
#pragma once

#include <charconv>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "snow/core/result.hpp"
#include "snow/core/task.hpp"
#include "snow/net/address.hpp"
#include "snow/net/tcp_stream.hpp"

#include "http/support/raw_client.hpp"
#include "http/support/response_reader.hpp"

namespace snow::testing {

class event_stream_client : public raw_client {
public:
    using raw_client::raw_client;

    static task<result<event_stream_client>> connect(net::address server) {
        auto stream = co_await net::tcp_stream::connect(server);
        if (!stream) co_return stream.error();
        co_return event_stream_client(std::move(*stream));
    }

    /// Sends `GET path` with `extra` header lines ("Name: value\r\n"), then reads the head.
    /// (No defaulted string arguments: GCC 12 mishandles them on coroutines.)
    task<std::optional<raw_response>> open(std::string path, std::string extra,
                                           milliseconds timeout = milliseconds(5000)) {
        std::string request = "GET " + path +
                              " HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\n" + extra +
                              "\r\n";
        const bool sent = co_await send(std::move(request));
        if (!sent) co_return std::nullopt;
        co_return co_await read_head(timeout);
    }

    /// The response head (no body); the body is read with next_block().
    task<std::optional<raw_response>> read_head(milliseconds timeout = milliseconds(5000)) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            const auto end = buffer_.find("\r\n\r\n");
            if (end != std::string::npos) {
                // The independent parser reads the head; it sees no body yet.
                auto parsed =
                    parse_response(buffer_.substr(0, end + 4) + "0\r\n\r\n", false, false);
                buffer_.erase(0, end + 4);
                if (parsed.state != parse_state::complete) co_return std::nullopt;
                chunked_ = parsed.response.chunked;
                co_return std::move(parsed.response);
            }
            const bool more = co_await fill(deadline);
            if (!more || eof_) co_return std::nullopt;
        }
    }

    /// The next block of the body up to and including its blank line ("data: x\n\n"), or
    /// nothing if none is complete within `timeout` (or the body ended first).
    task<std::optional<std::string>> next_block(milliseconds timeout = milliseconds(5000)) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            dechunk();
            const auto end = body_.find("\n\n");
            if (end != std::string::npos) {
                std::string block = body_.substr(0, end + 2);
                body_.erase(0, end + 2);
                co_return block;
            }
            if (ended_ || eof_) co_return std::nullopt;
            const bool more = co_await fill(deadline);
            if (!more) co_return std::nullopt;
        }
    }

    /// The next block that is not a comment (a heartbeat), within `timeout` overall.
    task<std::optional<std::string>> next_event(milliseconds timeout = milliseconds(5000)) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            const auto left = std::chrono::duration_cast<milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) co_return std::nullopt;
            auto block = co_await next_block(left);
            if (!block || !block->starts_with(":")) co_return block;
        }
    }

    /// True once the body has ended with its last chunk within `timeout`.
    task<bool> body_ended(milliseconds timeout = milliseconds(3000)) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            dechunk();
            if (ended_) co_return true;
            if (eof_) co_return false;
            const bool more = co_await fill(deadline);
            if (!more) co_return false;
        }
    }

    /// Leaves: a FIN, or with `reset` a RST (SO_LINGER with a zero timeout).
    task<void> leave(bool reset = false) {
        if (reset) reset_on_close();
        co_await close();
    }

    /// The body's text received and not yet handed out (dechunked).
    const std::string& pending_body() const noexcept { return body_; }
    /// Whether the last chunk has been read.
    bool body_complete() const noexcept { return ended_; }
    /// Bytes after the body (the next response on the connection).
    const std::string& after_body() const noexcept { return buffer_; }

private:
    /// Moves complete chunks from buffer_ to body_; after the last chunk buffer_ holds what
    /// follows.
    void dechunk() {
        if (!chunked_) {
            body_ += buffer_;
            buffer_.clear();
            return;
        }
        while (!ended_) {
            const auto line_end = buffer_.find("\r\n");
            if (line_end == std::string::npos) return;
            std::size_t size = 0;
            auto [ptr, ec] = std::from_chars(buffer_.data(), buffer_.data() + line_end, size, 16);
            if (ec != std::errc{}) return;
            if (size == 0) {
                if (buffer_.size() < line_end + 4) return;
                buffer_.erase(0, line_end + 4); // "0\r\n\r\n": no trailers from this server
                ended_ = true;
                return;
            }
            if (buffer_.size() < line_end + 2 + size + 2) return;
            body_.append(buffer_, line_end + 2, size);
            buffer_.erase(0, line_end + 2 + size + 2);
        }
    }

    // buffer_ holds what was received and not yet dechunked
    std::string body_; // dechunked, not yet handed out
    bool chunked_ = false;
    bool ended_ = false;
    bool eof_ = false;
};

} // namespace snow::testing
