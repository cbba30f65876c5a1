// snow/http/websocket/close.hpp: WebSocket close codes (RFC 6455 §7.4), the close frame's payload
// (a code and a UTF-8 reason), the "websocket close" error category, and how a connection ended.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "snow/core/export.hpp"
#include "snow/core/result.hpp"

namespace snow::http::ws {

/// The close codes RFC 6455 §7.4.1 defines, and those IANA registered after it (1012..1014).
/// Applications may use 4000..4999 as well (std::uint16_t values).
enum class close_code : std::uint16_t {
    normal = 1000,              ///< the purpose of the connection has been fulfilled
    going_away = 1001,          ///< a server stopping, a browser leaving the page
    protocol_error = 1002,      ///< a frame broke the protocol
    unsupported_data = 1003,    ///< a kind of message the endpoint cannot take
    no_status = 1005,           ///< never sent: the close frame carried no code
    abnormal = 1006,            ///< never sent: the connection ended without a close frame
    invalid_payload = 1007,     ///< a text message (or close reason) that is not UTF-8
    policy_violation = 1008,    ///< a message against the endpoint's policy
    message_too_big = 1009,     ///< a message over the endpoint's limit
    mandatory_extension = 1010, ///< sent by a client: the server did not agree an extension
    internal_error = 1011,      ///< the server failed on its side
    service_restart = 1012,     ///< the server restarts
    try_again_later = 1013,     ///< the server is overloaded
    bad_gateway = 1014,         ///< a gateway's upstream failed
    tls_handshake = 1015,       ///< never sent: the TLS handshake failed
};

/// Whether `code` may travel in a close frame: 1000..1003, 1007..1014 and 3000..4999. 1005,
/// 1006 and 1015 only describe what happened, and the rest of 1000..2999 is reserved; a
/// close frame carrying one of them breaks the protocol (RFC 6455 §7.4).
constexpr bool is_sendable_close_code(std::uint16_t code) noexcept {
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

/// The "websocket close" category: an error_code's value is a close code (any number, so
/// application codes 4000..4999 fit), and its message names it.
SNOW_API const std::error_category& close_category() noexcept;

/// `c` as a std::error_code in the "websocket close" category.
inline std::error_code make_error_code(close_code c) noexcept {
    return {static_cast<int>(c), close_category()};
}

/// The payload of a close frame, read: its code (1005 when it had none) and reason.
struct close_payload {
    std::uint16_t code = static_cast<std::uint16_t>(close_code::no_status); ///< the close code
    std::string reason{}; ///< the reason text, UTF-8, at most 123 bytes
};

/// Reads a close frame's payload (already unmasked). Errors, each in close_category() as the
/// code to close with: protocol_error for a payload of one byte or a code that must not be
/// sent, invalid_payload for a reason that is not UTF-8.
SNOW_API result<close_payload> parse_close_payload(std::span<const std::byte> payload);

/// A close frame's payload for `code` and `reason`: nothing for 1005 (no_status), otherwise
/// the code in network order and the reason, cut at a code point's end so that the payload
/// fits in a control frame (125 bytes). `reason` must be UTF-8.
SNOW_API std::string format_close_payload(std::uint16_t code, std::string_view reason);

/// How a WebSocket connection ended, once it has.
struct close_status {
    /// The connection close code (RFC 6455 §7.1.5): the code of the peer's close frame, 1005
    /// when that frame carried none, 1006 when no close frame arrived.
    std::uint16_t code = static_cast<std::uint16_t>(close_code::abnormal);
    /// The reason in the peer's close frame.
    std::string reason{};
    /// The code of the close frame this end sent, if it sent one.
    std::optional<std::uint16_t> sent{};
    /// Empty when the close handshake went as either side asked; otherwise what ended the
    /// connection: snow::errc::eof (the peer's end of stream without a close frame),
    /// std::errc::connection_reset, std::errc::timed_out (no answer to a ping, a write or the
    /// close handshake took too long), std::errc::operation_canceled (the server stopped),
    /// std::errc::no_buffer_space (a hub dropped a subscriber that could not keep up), the
    /// socket's error, or, when this end failed the connection for what the peer sent, that
    /// close code in close_category() (protocol_error, invalid_payload, message_too_big).
    std::error_code error{};

    /// Whether the close handshake went as asked (no error).
    bool clean() const noexcept { return !error; }
};

} // namespace snow::http::ws

/// Makes ws::close_code usable where a std::error_code is expected.
template <>
struct std::is_error_code_enum<snow::http::ws::close_code> : std::true_type {};
