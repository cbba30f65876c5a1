// snow/http/websocket/handshake.hpp: the opening handshake (RFC 6455 §4): for a server, is a
// request a valid upgrade to WebSocket, what Sec-WebSocket-Accept answers its key, and which
// subprotocol it picks; for a client, its random key and masking keys.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "snow/core/export.hpp"
#include "snow/core/result.hpp"
#include "snow/http/headers.hpp"
#include "snow/http/method.hpp"
#include "snow/http/websocket/frame.hpp"

namespace snow::http::ws {

/// Why a request is not a valid WebSocket upgrade (RFC 6455 §4.2.1).
enum class handshake_errc {
    not_get = 1,                ///< the method is not GET
    not_http11,                 ///< the request is HTTP/1.0
    missing_upgrade,            ///< no Upgrade field naming websocket
    missing_connection_upgrade, ///< no Connection field with the upgrade option
    unsupported_version,        ///< Sec-WebSocket-Version is missing or not 13
    invalid_key, ///< Sec-WebSocket-Key is missing, repeated, or not 16 bytes in base64
};

/// The "websocket handshake" error category.
SNOW_API const std::error_category& handshake_category() noexcept;

/// `e` as a std::error_code in the "websocket handshake" category.
inline std::error_code make_error_code(handshake_errc e) noexcept {
    return {static_cast<int>(e), handshake_category()};
}

/// The status a server answers a refused upgrade with: 426 Upgrade Required for an
/// unsupported version (sent with `Sec-WebSocket-Version: 13`), 400 otherwise.
SNOW_API int status_for(handshake_errc e) noexcept;

/// What the server answers a valid upgrade with.
struct handshake_reply {
    std::string accept{};      ///< the Sec-WebSocket-Accept value
    std::string subprotocol{}; ///< the Sec-WebSocket-Protocol to send; empty: none
};

/// Checks an upgrade request: GET, HTTP/1.1, Upgrade naming websocket, Connection with the
/// upgrade option (both compared case-insensitively, within lists), Sec-WebSocket-Version 13,
/// and one Sec-WebSocket-Key that is base64 of 16 bytes. `subprotocols` are the server's, in
/// its order of preference: the first one the client offers in Sec-WebSocket-Protocol is
/// picked, and none when they share none (the client then decides whether to go on).
/// Errors: handshake_errc.
SNOW_API result<handshake_reply> check_upgrade(http::method method, int version_minor,
                                               header_list headers,
                                               std::span<const std::string> subprotocols);

/// Whether `key` is base64 of 16 bytes (24 characters, the last two "=").
SNOW_API bool is_valid_key(std::string_view key) noexcept;

/// Sec-WebSocket-Accept for Sec-WebSocket-Key `key`: base64 of the SHA-1 of the key followed
/// by RFC 6455's GUID.
SNOW_API std::string accept_key(std::string_view key);

/// A client's Sec-WebSocket-Key: base64 of 16 random bytes (RFC 6455 §4.1), from OpenSSL's
/// generator. Empty if the generator fails.
SNOW_API std::string make_client_key();

/// A client's masking key, from OpenSSL's generator: unpredictable, as RFC 6455 §5.3 asks.
/// Errors: std::errc::resource_unavailable_try_again if the generator fails.
SNOW_API result<masking_key> make_masking_key() noexcept;

} // namespace snow::http::ws

/// Makes ws::handshake_errc usable where a std::error_code is expected.
template <>
struct std::is_error_code_enum<snow::http::ws::handshake_errc> : std::true_type {};
