// snow/http/websocket/message.hpp: a whole WebSocket message, text or binary, as the receiving
// side hands it over once its last fragment has arrived.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace snow::http::ws {

/// The two kinds of data message.
enum class message_kind : unsigned char {
    text,   ///< UTF-8 text (checked on receipt)
    binary, ///< any bytes
};

/// A received (or to be sent) message: its kind and its whole payload, fragments joined.
struct message {
    message_kind kind = message_kind::text; ///< text or binary
    std::string payload{};                  ///< the bytes, unmasked

    /// Whether it is a text message.
    bool is_text() const noexcept { return kind == message_kind::text; }
    /// The payload as text (UTF-8 for a text message).
    std::string_view text() const noexcept { return payload; }
    /// The payload as bytes.
    std::span<const std::byte> bytes() const noexcept {
        return std::as_bytes(std::span<const char>(payload.data(), payload.size()));
    }
};

} // namespace snow::http::ws
