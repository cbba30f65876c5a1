// snow/http/server/websocket_hub.hpp: one WebSocket message to many connections. Each message
// is framed once and its bytes are shared, immutable, by the queue of every subscriber, on
// every loop.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>

#include "snow/core/export.hpp"
#include "snow/core/result.hpp"
#include "snow/http/server/hub_subscription.hpp"
#include "snow/http/server/websocket.hpp"

namespace snow::http {

/// A broadcast hub for WebSocket connections: a connection's function subscribes it, and
/// publish() queues a message on every subscribed connection.
///
/// Slow consumers: publish() never waits. A subscriber whose queue is full
/// (websocket_options::max_queued_frames) is dropped: its connection closes with 1008
/// (policy violation) right after the frame being written, its close_status().error is
/// std::errc::no_buffer_space, and every other subscriber goes on.
///
/// Threads: the hub may be shared by every loop of a server. Subscribers are kept per loop and
/// touched only on their own loop; publish() delivers on the calling loop at once and through
/// each other loop's post queue, so messages from one publisher arrive everywhere in the order
/// published. A subscriber that leaves while a broadcast is under way is skipped, never
/// touched after it has left.
class SNOW_API websocket_hub {
public:
    /// A connection's membership of a hub; destroying it (or reset()) leaves the hub.
    using subscription = hub_subscription;

    websocket_hub();
    websocket_hub(const websocket_hub&) = delete;
    websocket_hub& operator=(const websocket_hub&) = delete;
    /// Subscriptions may outlive the hub; they simply receive nothing more.
    ~websocket_hub();

    /// Adds `ws` until the subscription is destroyed. Call it on the connection's loop (from
    /// its function), and keep the subscription no longer than the function runs, in its
    /// frame: `auto member = hub.subscribe(ws);`.
    [[nodiscard]] subscription subscribe(websocket& ws);

    /// Frames `text` once as a text message and queues it on every subscriber (see the class
    /// comment for slow ones and other loops). Any thread. Errors: std::errc::invalid_argument
    /// for text that is not UTF-8, which reaches nobody.
    result<void> publish(std::string_view text);
    /// The same with a binary message.
    result<void> publish_binary(std::span<const std::byte> bytes);

    /// The number of subscribers over all loops, as it was a moment ago.
    std::size_t size() const;

private:
    std::unique_ptr<detail::fan_out> members_;
};

} // namespace snow::http
