// snow/http/server/event_hub.hpp: one Server-Sent Event to many streams. Each event is formatted
// once and its bytes are shared, immutable, by the queue of every subscriber, on every loop.
#pragma once

#include <cstddef>
#include <memory>

#include "snow/core/export.hpp"
#include "snow/core/result.hpp"
#include "snow/http/server/event_stream.hpp"
#include "snow/http/server/hub_subscription.hpp"

namespace snow::http {

/// A broadcast hub for event streams: a producer subscribes its stream, and publish() queues
/// an event on every subscribed stream.
///
/// Slow consumers: publish() never waits. A subscriber whose queue is full
/// (event_stream_options::max_queued_events) is dropped: its stream ends with
/// std::errc::no_buffer_space, and its browser reconnects and resumes from its
/// Last-Event-ID, while every other subscriber goes on.
///
/// Threads: the hub may be shared by every loop of a server. Subscribers are kept per loop
/// and touched only on their own loop; publish() delivers on the calling loop at once and
/// through each other loop's post queue, so events from one publisher arrive everywhere in
/// the order published. A subscriber that leaves (or is destroyed) while a broadcast is
/// under way is skipped, never touched after it has left.
class SNOW_API event_hub {
public:
    /// A stream's membership of a hub; destroying it (or reset()) leaves the hub.
    using subscription = hub_subscription;

    event_hub();
    event_hub(const event_hub&) = delete;
    event_hub& operator=(const event_hub&) = delete;
    /// Subscriptions may outlive the hub; they simply receive nothing more.
    ~event_hub();

    /// Adds `stream` until the subscription is destroyed. Call it on the stream's loop (from
    /// its producer), and keep the subscription no longer than the stream, in the producer's
    /// frame: `auto member = hub.subscribe(events);`.
    [[nodiscard]] subscription subscribe(event_stream& stream);

    /// Formats `e` once and queues it on every subscriber (see the class comment for slow
    /// ones and for other loops). Any thread. Errors: std::errc::invalid_argument for a
    /// malformed event (format_event), which reaches nobody.
    result<void> publish(const server_sent_event& e);

    /// The number of subscribers over all loops, as it was a moment ago.
    std::size_t size() const;

private:
    std::unique_ptr<detail::fan_out> members_;
};

} // namespace snow::http
