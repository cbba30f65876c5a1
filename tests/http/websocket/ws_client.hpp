// tests/http/websocket/ws_client.hpp: a raw-socket WebSocket client for the server tests. It
// writes exactly the bytes it is given (masked frames are built with frames.hpp), reads the
// handshake's response head, then the server's frames as they arrive. Every read is bounded
// by a timeout, so a silent server fails the test instead of hanging it.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "snow/core/result.hpp"
#include "snow/core/task.hpp"
#include "snow/http/grammar.hpp"
#include "snow/http/websocket/frame.hpp"
#include "snow/net/address.hpp"
#include "snow/net/tcp_stream.hpp"

#include "http/support/raw_client.hpp"
#include "http/websocket/frames.hpp"

namespace snow::testing {

/// A response head, as the client read it.
struct ws_head {
    int status = 0;
    std::vector<std::pair<std::string, std::string>> fields;
    std::string body; ///< for a refusal with Content-Length: its body

    std::optional<std::string> header(std::string_view name) const {
        for (const auto& [n, v] : fields)
            if (http::iequals(n, name)) return v;
        return std::nullopt;
    }
};

/// A frame the server sent.
struct ws_frame {
    http::ws::opcode op = http::ws::opcode::text;
    bool fin = true;
    bool rsv1 = false; ///< set by permessage-deflate on a compressed message's first frame
    bool masked = false;
    std::string payload;

    /// The close code of a close frame (1005 when it has none).
    int close_code() const {
        if (payload.size() < 2) return 1005;
        return (static_cast<unsigned char>(payload[0]) << 8) |
               static_cast<unsigned char>(payload[1]);
    }
    std::string close_reason() const { return payload.size() > 2 ? payload.substr(2) : ""; }
};

/// The handshake request for `path` with `extra` header lines ("Name: value\r\n").
inline std::string upgrade_request(std::string_view path, std::string_view extra = "") {
    return "GET " + std::string(path) +
           " HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
           std::string(extra) + "\r\n";
}

class ws_client : public raw_client {
public:
    using raw_client::raw_client;

    static task<result<ws_client>> connect(net::address server) {
        auto stream = co_await net::tcp_stream::connect(server);
        if (!stream) co_return stream.error();
        co_return ws_client(std::move(*stream));
    }

    /// Sends a masked frame.
    task<bool> send_frame(http::ws::opcode op, std::string payload) {
        return send(client_frame(op, payload));
    }

    /// Reads a response head (and a Content-Length body, for a refusal).
    task<std::optional<ws_head>> read_head(milliseconds timeout = milliseconds(5000)) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        std::size_t end = std::string::npos;
        while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
            const bool more = co_await fill(deadline);
            if (!more || eof_) co_return std::nullopt;
        }
        ws_head head;
        const std::string text = buffer_.substr(0, end);
        buffer_.erase(0, end + 4);
        std::size_t line_end = text.find("\r\n");
        const std::string status_line = text.substr(0, line_end);
        if (status_line.size() < 12 || !status_line.starts_with("HTTP/1.1 "))
            co_return std::nullopt;
        head.status = std::stoi(status_line.substr(9, 3));
        while (line_end != std::string::npos) {
            const std::size_t start = line_end + 2;
            line_end = text.find("\r\n", start);
            const std::string line = text.substr(start, line_end - start);
            const auto colon = line.find(':');
            if (colon == std::string::npos) continue;
            std::string value = line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ') value.erase(0, 1);
            head.fields.emplace_back(line.substr(0, colon), value);
        }
        if (auto length = head.header("Content-Length")) {
            const std::size_t n = std::stoul(*length);
            while (buffer_.size() < n) {
                const bool more = co_await fill(deadline);
                if (!more || eof_) break;
            }
            head.body = buffer_.substr(0, n);
            buffer_.erase(0, std::min(n, buffer_.size()));
        }
        co_return head;
    }

    /// The next frame the server sent, or nothing if none is whole within `timeout` (or the
    /// connection ended first; see closed()).
    task<std::optional<ws_frame>> next_frame(milliseconds timeout = milliseconds(5000)) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            const auto* data = reinterpret_cast<const std::byte*>(buffer_.data());
            const auto h = http::ws::parse_frame_header(
                std::span<const std::byte>(data, buffer_.size()),
                {.receiver = http::ws::role::client, .rsv1_allowed = true});
            if (h.failed()) co_return std::nullopt;
            if (h.complete() && buffer_.size() - h.size >= h.header.payload_length) {
                ws_frame f;
                f.op = h.header.op;
                f.fin = h.header.fin;
                f.rsv1 = h.header.rsv1;
                f.masked = h.header.masked;
                f.payload = buffer_.substr(h.size, h.header.payload_length);
                buffer_.erase(0, h.size + h.header.payload_length);
                co_return f;
            }
            if (eof_) co_return std::nullopt;
            const bool more = co_await fill(deadline);
            if (!more) co_return std::nullopt;
        }
    }

    /// Opens the handshake for `path` (with `after` sent in the same write), and expects 101.
    task<std::optional<ws_head>> open(std::string path, std::string extra, std::string after) {
        const bool sent = co_await send(upgrade_request(path, extra) + after);
        if (!sent) co_return std::nullopt;
        co_return co_await read_head();
    }

    /// Leaves: a FIN (shutdown of the sending side only), or with `reset` a RST.
    task<void> leave(bool reset) {
        if (reset) {
            reset_on_close();
            co_await close();
        } else {
            (void)co_await shutdown_write();
        }
    }
};

} // namespace snow::testing
