// snow/http/client/event_source.hpp: a Server-Sent Events client, the EventSource of the WHATWG
// spec: it reads a text/event-stream as it arrives and reconnects when the stream drops,
// resuming with Last-Event-ID after the server's `retry:` delay.
//     snow::http::event_source events(http, "http://127.0.0.1:8012/events/");
//     for (;;) { auto e = co_await events.next(); if (!e) break; use(e->data); }
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "snow/core/export.hpp"
#include "snow/core/result.hpp"
#include "snow/core/task.hpp"
#include "snow/http/client/client.hpp"
#include "snow/http/event_stream_parser.hpp"
#include "snow/http/headers.hpp"

namespace snow::http {

/// Answers by which a server ends an event stream for good: the source does not reconnect.
enum class event_source_error {
    no_content = 1,   ///< 204 No Content: the server asks the client to stop
    bad_status,       ///< a final status other than 200 or 204
    not_event_stream, ///< a 200 whose Content-Type is not text/event-stream
};

/// The "event-source" error category.
SNOW_API const std::error_category& event_source_category() noexcept;

/// `e` as a std::error_code in the "event-source" category.
inline std::error_code make_error_code(event_source_error e) noexcept {
    return {static_cast<int>(e), event_source_category()};
}

/// How an event_source connects, waits and reconnects.
struct event_source_options {
    /// Sent with every request, after the source's own Accept: text/event-stream,
    /// Cache-Control: no-cache and Last-Event-ID (fields of those names here are not sent).
    http::headers headers{};
    /// The id to resume after, sent as Last-Event-ID by the first request; empty: none.
    std::string last_event_id{};
    /// The wait before a reconnection until the stream sends a `retry:` of its own.
    std::chrono::milliseconds retry = std::chrono::seconds(3);
    /// The longest wait before a reconnection, whatever `retry:` asks for.
    std::chrono::milliseconds max_retry = std::chrono::seconds(60);
    /// Each attempt to open the stream, until its response head: past it, the attempt has
    /// failed. None: only the client's connect timeout.
    std::optional<std::chrono::nanoseconds> open_timeout = std::chrono::seconds(30);
    /// With nothing received for this long (a heartbeat comment counts), the connection is
    /// taken for dead and replaced. None: wait for ever.
    std::optional<std::chrono::nanoseconds> idle_timeout{};
    /// Attempts in a row that fail to open a stream (refused, reset, timed out…) after which
    /// next() gives up with the last one's error. None: retry for ever, as browsers do.
    std::optional<unsigned> max_failed_attempts{};
    /// The longest line and event the stream may send.
    event_stream_limits limits{};
};

/// One event of the stream.
struct received_event {
    std::string type; ///< the `event:` field; "message" when the event had none
    std::string data; ///< the `data:` lines, joined with LF
    std::string id;   ///< the last event id as of this event (empty: none)
};

/// A reconnecting reader of one event-stream URL. It connects on the first next(), through
/// the client (its pool, TLS, proxies and connect timeout; redirects are followed), and
/// parses the body as it arrives, without a request deadline: the stream may stay open for
/// ever. When the connection drops, or the server ends the body, it waits the reconnection
/// time (the latest `retry:`, at most `max_retry`) and asks again with the last event id as
/// Last-Event-ID. Which failures end it for good is said at next().
///
/// Use it from one task at a time, on the client's loop; destroy it (with no next() in
/// flight) to close the connection. The client must outlive it.
class SNOW_API event_source {
public:
    /// A source for `url`, reading through `http`; nothing is sent before next().
    event_source(client& http, std::string url, event_source_options options = {});
    event_source(const event_source&) = delete;
    event_source& operator=(const event_source&) = delete;

    /// The next event, once it has arrived; reconnects as often as it takes. Errors that
    /// end the source (every later call returns the same one): event_source_error for a
    /// 204, another status or another content type; event_stream_errc past the limits; the
    /// client's url, redirects and tls failures, which a retry would meet again; the last
    /// attempt's error past `max_failed_attempts`. std::errc::operation_canceled when the
    /// calling task is cancelled: the connection it was reading is dropped, and the next call
    /// reconnects.
    task<result<received_event>> next();

    /// The last event id, sent as Last-Event-ID when it reconnects.
    std::string_view last_event_id() const noexcept { return parser_.last_event_id(); }
    /// The wait before the next reconnection: the stream's latest `retry:` (else
    /// options.retry), at most options.max_retry.
    std::chrono::milliseconds retry_delay() const noexcept;
    /// Streams opened so far: 1 after the first connection, one more per reconnection.
    std::size_t connections() const noexcept { return connections_; }
    /// Whether a stream is open now.
    bool connected() const noexcept { return stream_.has_value(); }

private:
    task<result<void>> connect();
    task<result<void>> open_once();
    task<result<std::string_view>> read_chunk();
    void drop() noexcept;

    client& http_;
    std::string url_;
    event_source_options options_;
    event_stream_parser parser_;
    std::optional<response_stream> stream_;
    std::string_view pending_; ///< received and not yet parsed: a view into stream_'s chunk
    std::error_code failure_;  ///< once set, the source has ended
    std::size_t connections_ = 0;
    unsigned failed_in_row_ = 0;
};

} // namespace snow::http

template <>
struct std::is_error_code_enum<snow::http::event_source_error> : std::true_type {};
