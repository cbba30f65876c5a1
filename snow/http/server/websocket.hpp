// snow/http/server/websocket.hpp: WebSocket (RFC 6455) on the server. A handler answers an
// upgrade request with websocket_response(); the function it gives then receives and sends
// messages on the connection, while pings, the close handshake and graceful stops are handled.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "snow/core/export.hpp"
#include "snow/core/result.hpp"
#include "snow/core/task.hpp"
#include "snow/http/server/request.hpp"
#include "snow/http/server/response.hpp"
#include "snow/http/websocket/close.hpp"
#include "snow/http/websocket/deflate.hpp"
#include "snow/http/websocket/message.hpp"
#include "snow/sync/event.hpp"

namespace snow::http {

namespace detail {
class websocket_session;
}
class websocket_hub;

/// Limits and timings of a WebSocket connection. Every field has a safe default: every limit
/// is finite and every wait bounded.
struct websocket_options {
    /// The largest message received, fragments together. A bigger one closes the connection
    /// with 1009 (message too big) as soon as its frames' headers announce it.
    std::size_t max_message_size = std::size_t{1} << 20;
    /// Received messages not yet taken by recv(). While this many (or max_message_size bytes
    /// of them) wait, the connection reads nothing more, so a peer that sends faster than the
    /// handler takes is held back by TCP. A handler must therefore call recv() if its peer
    /// sends: reading (and with it noticing pings and a close) waits for it.
    std::size_t max_queued_messages = 16;
    /// Frames accepted by send() and not yet written; send() waits while this many are, and a
    /// hub drops a subscriber whose queue is full.
    std::size_t max_queued_frames = 64;
    /// For each frame to be written, so a peer that stops reading cannot hold a connection.
    std::chrono::milliseconds write_timeout = std::chrono::seconds(10);
    /// With nothing received for this long, the server sends a ping. milliseconds::max()
    /// sends none.
    std::chrono::milliseconds ping_interval = std::chrono::seconds(30);
    /// After a ping, something (the pong or any frame) must arrive within this, or the
    /// connection is cut off (std::errc::timed_out).
    std::chrono::milliseconds pong_timeout = std::chrono::seconds(15);
    /// Once a close handshake begins (either side), it must be over within this: queued
    /// frames written, the close frames exchanged. Then the connection is cut off regardless.
    std::chrono::milliseconds close_timeout = std::chrono::seconds(5);
    /// The subprotocols the server speaks, in its order of preference: the first one the
    /// client offers (Sec-WebSocket-Protocol) is agreed on; none if they share none.
    std::vector<std::string> subprotocols{};
    /// permessage-deflate (RFC 7692), accepted when a client offers it; `enabled = false`
    /// declines every offer. A compressed message's inflated size is what max_message_size
    /// bounds, checked while inflating. zlib's streams are allocated at a connection's first
    /// compressed message in each direction (about 256 KiB to send and 40 KiB to receive at
    /// 15-bit windows), freed with the connection, and after every message in a direction
    /// without context takeover; an idle connection that never compressed holds none.
    /// server_no_context_takeover lets a hub compress a broadcast once for all connections
    /// of a loop, instead of once per connection.
    ws::deflate_options deflate{};
};

/// One WebSocket connection, as its function sees it (see websocket_response()).
///
/// Receiving: a receive stays in flight while the connection is open, from the loop's provided
/// buffers (so an idle connection holds no receive buffer), so a peer that leaves is noticed at
/// once, and pings are answered with pongs without the handler's help. Messages wait for
/// recv() in a bounded queue (websocket_options::max_queued_messages).
///
/// Sending: send() queues a whole message as one frame; one writer sends the queue in order, a
/// frame at a time, each within write_timeout, so tasks may send at once.
///
/// Closing: the connection ends exactly once, whichever way: the peer's close frame (echoed),
/// close() or the function returning (normal closure, after what is queued), a frame that
/// breaks the protocol (1002, 1007 or 1009 sent), no answer to a ping, the peer's end of
/// stream or reset, or a graceful stop of the server (1001 sent). A close handshake lasts at
/// most close_timeout; then the server closes TCP. From then on recv() and send() fail,
/// closed() resumes, close_status() tells how it ended, and the function's task is
/// cancelled, so its sleeps and waits end early.
///
/// Loop thread only: the function, and tasks it joins before it returns, may use it; tasks on
/// other loops reach it through a websocket_hub.
class SNOW_API websocket {
public:
    /// What runs on the connection once it is upgraded; the connection closes (normal
    /// closure) when it returns, with 1011 (internal error) if it throws.
    using handler = std::function<task<void>(websocket&)>;

    /// The next message. Errors, once no message can come any more: close_status().error if
    /// set, otherwise the connection close code in ws::close_category() (the peer's, 1000 for
    /// a normal closure; or the one this end sent while its own close handshake runs);
    /// std::errc::operation_canceled if the receiving task is cancelled (nothing is lost).
    task<result<ws::message>> recv();
    /// Queues `text` as a text message; resumes once it is queued (at once while there is
    /// room). Errors: std::errc::invalid_argument for text that is not UTF-8 (nothing sent);
    /// once a close has begun, what recv() would fail with; operation_canceled if the task is
    /// cancelled while it waits for room. A write that fails later ends the connection.
    task<result<void>> send(std::string_view text);
    /// Queues `bytes` as a binary message, like send().
    task<result<void>> send_binary(std::span<const std::byte> bytes);
    /// Queues `m` as a message of its kind, like send(): an echo is `send(*received)`.
    task<result<void>> send(const ws::message& m);
    /// Begins the close handshake with `code` (sendable: 1000, or 4000..4999 for an
    /// application's own) and `reason` (UTF-8, cut to fit), after the frames already queued,
    /// and resumes once the connection has ended. Errors: std::errc::invalid_argument for a
    /// code that must not be sent or a reason that is not UTF-8 (nothing happens);
    /// close_status().error when the handshake did not complete as asked.
    task<result<void>> close(std::uint16_t code, std::string_view reason);
    /// close(1000, ""): a normal closure.
    task<result<void>> close() { return close(1000, {}); }

    /// `co_await ws.closed()` resumes once the connection has ended (at once if it has), with
    /// true; with false if the waiting task is cancelled first.
    [[nodiscard]] snow::event::awaiter closed() noexcept;
    /// Whether messages may still be sent: no close has begun.
    bool is_open() const noexcept;
    /// How the connection ended; meaningful once closed() has resumed.
    const ws::close_status& close_status() const noexcept;
    /// The subprotocol agreed on in the handshake; empty for none.
    std::string_view subprotocol() const noexcept;
    /// The permessage-deflate parameters agreed on in the handshake; none when messages go
    /// uncompressed both ways.
    const std::optional<ws::deflate_params>& deflate() const noexcept;
    /// Frames queued by send() (or a hub) and not yet written.
    std::size_t queued() const noexcept;
    /// The options it runs with.
    const websocket_options& options() const noexcept;

private:
    friend class detail::websocket_session;
    friend class websocket_hub;
    explicit websocket(detail::websocket_session& session) noexcept : session_(session) {}

    detail::websocket_session& session_;
};

/// The answer to a WebSocket upgrade request: 101 Switching Protocols with Sec-WebSocket-Accept
/// (and the agreed subprotocol), after which `body` runs on the connection with `options`.
/// A request that is not a valid upgrade (ws::check_upgrade) gets 400, or 426 with
/// `Sec-WebSocket-Version: 13` for a version other than 13, and `body` never runs. Add header
/// fields (cookies) to the returned response as to any other.
///
/// `body` starts once the head has gone out, after the handler returned: the request is gone
/// by then, so what it needs of it travels in the function. A function with state is best a
/// plain lambda that captures it and calls a coroutine with it as arguments:
/// `[&room](websocket& ws) { return chat(ws, room); }`.
SNOW_API response websocket_response(const request& req, websocket::handler body,
                                     websocket_options options = {});

} // namespace snow::http
