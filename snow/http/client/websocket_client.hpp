// snow/http/client/websocket_client.hpp: WebSocket (RFC 6455) as a client. The opening handshake
// goes through the HTTP client (its connections, proxies, TLS and connect timeout); then
// messages are received and sent on the connection, pings answered, and the close handshake
// run within a bounded time.
//     auto ws = co_await snow::http::connect_websocket(http, "ws://127.0.0.1:8012/ws/echo", {});
//     if (ws) { co_await ws->send("hello"); auto m = co_await ws->recv(); }
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "snow/core/export.hpp"
#include "snow/core/result.hpp"
#include "snow/core/task.hpp"
#include "snow/http/client/client.hpp"
#include "snow/http/headers.hpp"
#include "snow/http/websocket/close.hpp"
#include "snow/http/websocket/deflate.hpp"
#include "snow/http/websocket/message.hpp"
#include "snow/net/stream.hpp"

namespace snow::http {

/// How a server can refuse a WebSocket client's opening handshake.
enum class websocket_client_error {
    upgrade_refused = 1, ///< the server answered with a status other than 101
    bad_handshake,       ///< a 101 without Upgrade: websocket, Connection: upgrade or the right
                         ///< Sec-WebSocket-Accept, or with an extension or subprotocol not offered
                         ///< (or permessage-deflate parameters the offer does not allow)
};

/// The "websocket client" error category.
SNOW_API const std::error_category& websocket_client_category() noexcept;

/// `e` as a std::error_code in the "websocket client" category.
inline std::error_code make_error_code(websocket_client_error e) noexcept {
    return {static_cast<int>(e), websocket_client_category()};
}

/// How connect_websocket() opens a connection and what the connection holds its server to.
struct websocket_client_options {
    /// Offered in Sec-WebSocket-Protocol, in order of preference; the server picks one or none.
    std::vector<std::string> subprotocols{};
    /// Sent with the upgrade request (fields the handshake sets itself are not sent).
    http::headers headers{};
    /// The largest message received, fragments together; a larger one closes the connection
    /// with 1009 (message too big) as soon as its frame headers announce it.
    std::size_t max_message_size = std::size_t{1} << 20;
    /// The opening handshake: connecting, TLS, the 101. None: the client's own timeout.
    std::optional<std::chrono::nanoseconds> open_timeout = std::chrono::seconds(30);
    /// Once this end has sent its close frame, the peer's must arrive within this; then the
    /// connection is closed regardless.
    std::chrono::milliseconds close_timeout = std::chrono::seconds(5);
    /// Bytes of frames waiting behind a write in flight before send() waits for them to go.
    std::size_t max_queued_bytes = std::size_t{1} << 20;
    /// permessage-deflate (RFC 7692), offered in the handshake; `enabled = false` offers
    /// nothing. An answer the offer does not allow fails the handshake (bad_handshake).
    /// max_message_size bounds a compressed message's inflated size. zlib's streams come
    /// with the first compressed message each way and go with the connection.
    ws::deflate_options deflate{};
};

/// A client's WebSocket connection, made by connect_websocket().
///
/// Receiving: recv() reads until a whole message has arrived, answering pings with pongs on
/// the way; a protocol violation by the server (an unmasked frame rule broken, bad UTF-8, a
/// message over max_message_size) closes the connection with the matching code. Sending:
/// each message goes as one masked frame; several tasks may send at once, and their frames go
/// out in the order of the calls. Closing: close() sends the close frame and waits (within
/// close_timeout) for the server's; a close frame from the server is answered with its code.
/// Either way the connection ends once, close_status() tells how, and recv() and send() fail
/// from then on.
///
/// One task receives at a time (recv() or close()), on the loop that made it.
class SNOW_API websocket_client {
public:
    /// A connection over `stream` whose first received bytes are `received`, as
    /// connect_websocket() makes it after a valid handshake.
    websocket_client(net::stream stream, std::string received, std::string subprotocol,
                     const websocket_client_options& options);
    /// The same, with the permessage-deflate parameters the handshake agreed on (none: no
    /// compression).
    websocket_client(net::stream stream, std::string received, std::string subprotocol,
                     const websocket_client_options& options,
                     std::optional<ws::deflate_params> deflate);
    /// Moves the connection (its state stays where it is, so even calls in flight go on).
    websocket_client(websocket_client&&) noexcept;
    /// Moves the connection, closing the one this held.
    websocket_client& operator=(websocket_client&&) noexcept;
    websocket_client(const websocket_client&) = delete;
    websocket_client& operator=(const websocket_client&) = delete;
    /// Closes the socket without a close handshake (call close() first for one).
    ~websocket_client();

    /// The next message. Errors, once no message can come any more: the connection close code
    /// in ws::close_category() (the server's, 1000 for a normal closure; 1006 when the
    /// connection ended without a close frame, with close_status().error saying why; or the
    /// code this end failed the connection with, for a frame that broke the protocol);
    /// std::errc::operation_canceled if the receiving task is cancelled (nothing is lost).
    task<result<ws::message>> recv();
    /// Sends `text` as a text message; resumes once it is written, or queued behind a write in
    /// flight. Errors: std::errc::invalid_argument for text that is not UTF-8 (nothing sent);
    /// std::errc::not_connected once a close has begun; the socket's (the connection is then
    /// unusable: recv() reports its end).
    task<result<void>> send(std::string_view text);
    /// Sends `bytes` as a binary message, like send().
    task<result<void>> send_binary(std::span<const std::byte> bytes);
    /// Sends `m` as a message of its kind, like send(): an echo is `send(*received)`.
    task<result<void>> send(const ws::message& m);
    /// Sends a close frame with `code` (sendable: 1000, or 4000..4999 for an application's
    /// own) and `reason` (UTF-8, cut to fit), waits for the server's close frame (skipping
    /// messages still arriving) for at most close_timeout, and closes the connection. Errors:
    /// std::errc::invalid_argument for a code that must not be sent or a reason that is not
    /// UTF-8 (nothing happens); close_status().error when the handshake did not complete.
    task<result<void>> close(std::uint16_t code, std::string_view reason);

    /// Whether messages may still be sent: no close has begun and the connection is up.
    bool is_open() const noexcept;
    /// How the connection ended; meaningful once recv() or close() has reported the end.
    const ws::close_status& close_status() const noexcept;
    /// The subprotocol the server picked; empty for none.
    const std::string& subprotocol() const noexcept;
    /// The permessage-deflate parameters agreed on; none when messages go uncompressed.
    const std::optional<ws::deflate_params>& deflate() const noexcept;

private:
    struct state;
    std::unique_ptr<state> state_;
};

/// Opens a WebSocket connection to `url` (ws://, wss://, or http:// and https:// alike)
/// through `http`, which must outlive the handshake (the connection itself leaves the
/// client's pool). Errors: the client's (connect, dns, tls, timeout…; url for another
/// scheme); websocket_client_error when the server refuses or answers wrongly.
SNOW_API task<result<websocket_client>> connect_websocket(client& http, std::string url,
                                                          websocket_client_options options);

} // namespace snow::http

template <>
struct std::is_error_code_enum<snow::http::websocket_client_error> : std::true_type {};
