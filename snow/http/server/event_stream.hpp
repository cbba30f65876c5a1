// snow/http/server/event_stream.hpp: Server-Sent Events (WHATWG HTML, "Server-sent events"): a
// response whose body is a stream of events, written through the connection's body_writer as
// each one is sent, with heartbeat comments while idle and a bounded queue per stream.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "snow/core/cancel.hpp"
#include "snow/core/export.hpp"
#include "snow/core/result.hpp"
#include "snow/core/task.hpp"
#include "snow/http/server/request.hpp"
#include "snow/http/server/response.hpp"
#include "snow/sync/event.hpp"

namespace snow::http {

/// One event of a stream. Every field is optional: `send({.event = "tick", .data = text})`.
/// The fields are views, read only while send() or publish() formats the event: temporaries
/// in the same expression are fine. (Views also keep the struct trivially destructible, which
/// GCC 12 needs: it destroys a braced temporary inside a co_await expression twice.)
struct server_sent_event {
    /// The `id:` field, which the browser hands back as Last-Event-ID when it reconnects. An
    /// empty id is sent (it resets the browser's last event id); none sends no field. May
    /// contain neither CR, LF nor NUL.
    std::optional<std::string_view> id{};
    /// The `event:` field, the type a browser dispatches (empty: "message"). May contain
    /// neither CR nor LF.
    std::string_view event{};
    /// The payload: each line (split at CRLF, CR or LF) becomes one `data:` field, so the
    /// browser receives it as given, line breaks as LF. An event with neither data nor a type
    /// carries only its id and retry and is not dispatched by the browser.
    std::string_view data{};
    /// The `retry:` field: how long the browser waits before reconnecting. Not negative.
    std::optional<std::chrono::milliseconds> retry{};
};

/// The wire form of `e`: its fields, one per line, and the blank line that ends the event.
/// Errors: std::errc::invalid_argument when the id or type holds a line break (or the id a
/// NUL), which would let the text inject fields of its own, or the retry is negative. Such
/// an event is refused rather than cleaned up: a changed id would resume the wrong place.
SNOW_API result<std::string> format_event(const server_sent_event& e);

/// A comment block: each line of `text` after ": ", then the blank line. Browsers ignore it;
/// it keeps proxies and idle timers from closing the connection. format_comment("") is the
/// heartbeat, ": \n\n".
SNOW_API std::string format_comment(std::string_view text);

/// How an event stream paces itself.
struct event_stream_options {
    /// With nothing sent for this long, a heartbeat comment goes out. Positive;
    /// milliseconds::max() sends none.
    std::chrono::milliseconds heartbeat_interval = std::chrono::seconds(15);
    /// Events accepted and not yet written (at least 1). See event_stream for what happens
    /// when the queue is full.
    std::size_t max_queued_events = 64;
};

class event_hub;

/// The sending end of one event stream, given to the producer of event_stream_response().
///
/// Each event is written as its own chunk as soon as the connection can take it; nothing is
/// held back to fill a buffer. Heartbeat comments go out while nothing else does. While the
/// stream runs, a receive stays in flight on the connection (from the loop's provided
/// buffers, so an idle stream holds none), so a client that leaves (end of stream or reset)
/// is noticed while the stream is idle, not only at the next write.
///
/// Slow consumers: at most `max_queued_events` events wait to be written. When the queue is
/// full, send() waits until the connection has taken one (back-pressure on the producer),
/// while an event_hub broadcast never waits: it drops a subscriber whose queue is full, ending
/// that stream (the browser reconnects and resumes from its Last-Event-ID).
///
/// The stream ends when the producer returns (queued events are sent, then the body ends
/// properly), when the server begins a graceful stop (the same, with the producer
/// cancelled), or at once when the client leaves, a write fails, or a hub drops it. Once it
/// has ended, send() fails and closed() resumes; the producer's task is cancelled, so its
/// sleeps and waits end early. Loop thread only: the producer, and tasks it joins before it
/// returns, may send; other tasks reach the stream through an event_hub.
class SNOW_API event_stream {
public:
    /// What streams the events; it returns when the stream should end (or its error).
    using producer = std::function<task<result<void>>(event_stream&)>;

    /// A stream writing through `writer`, for event_stream_response(); handlers do not make
    /// one. `last_event_id` is the request's Last-Event-ID, if it had one.
    event_stream(body_writer& writer, event_stream_options options,
                 std::optional<std::string> last_event_id);
    event_stream(const event_stream&) = delete;
    event_stream& operator=(const event_stream&) = delete;
    ~event_stream();

    /// Queues `e`, formatted during this call (the views in `e` need not outlive it); the
    /// task resumes once the event is queued (at once while there is room), and the stream
    /// writes it without delay. Errors: std::errc::invalid_argument for a malformed event
    /// (see format_event; nothing is sent and the stream goes on); once the stream has ended,
    /// close_reason(); std::errc::operation_canceled if the sending task is cancelled while
    /// it waits for room.
    task<result<void>> send(const server_sent_event& e);
    /// Queues a comment (format_comment), like send().
    task<result<void>> send_comment(std::string_view text);

    /// `co_await events.closed()` resumes once the stream has ended (at once if it has), with
    /// true; with false if the waiting task is cancelled first.
    [[nodiscard]] snow::event::awaiter closed() noexcept { return closed_.wait(); }
    /// Whether the stream has ended: sends fail from then on.
    bool is_closed() const noexcept { return state_ != state::open; }
    /// Why it ended: std::errc::broken_pipe when the client left, the socket's error when a
    /// write failed, std::errc::operation_canceled when the server stopped (or the stream's
    /// task was cancelled), std::errc::no_buffer_space when a hub dropped it as a slow
    /// consumer; empty while it runs or after the producer returned.
    std::error_code close_reason() const noexcept { return reason_; }

    /// The request's Last-Event-ID (the browser sends the last id it saw when it reconnects).
    const std::optional<std::string>& last_event_id() const noexcept { return last_event_id_; }
    /// Events (and comments) queued and not yet written.
    std::size_t queued() const noexcept { return queue_.size() - queue_head_; }
    /// The options it runs with.
    const event_stream_options& options() const noexcept { return options_; }

    /// Runs the stream: `body` as a task of its own beside the writer, until the stream ends
    /// (see the class comment). For event_stream_response(). Errors: close_reason() if the
    /// stream ended otherwise than by the producer returning, else the producer's own error.
    task<result<void>> run(producer body);

private:
    friend class event_hub;
    class pump_wait;
    enum class state : unsigned char { open, finishing, ended };

    /// For a hub: queues `bytes` without waiting. A full queue drops the stream
    /// (no_buffer_space). False when the event was not queued.
    bool offer(std::shared_ptr<const std::string> bytes) noexcept;
    task<result<void>> enqueue(std::shared_ptr<const std::string> bytes);
    static task<result<void>> refuse(std::error_code why);
    task<result<void>> pump();
    task<void> produce(producer body);
    bool pump_has_work() const noexcept;
    void wake_pump() noexcept;
    /// No more sends; queued events are still written, then the body ends.
    void finish(std::error_code why) noexcept;
    /// Ends the stream now: queued events are dropped and a write in flight is cancelled.
    void abort(std::error_code why) noexcept;
    void close_for_senders(std::error_code why) noexcept;
    static void client_left(void* self) noexcept;
    static void server_stopping(void* self) noexcept;

    body_writer& writer_;
    event_stream_options options_;
    std::optional<std::string> last_event_id_;
    // Taken from queue_head_ on; the taken prefix is dropped once it is half the vector, so
    // taking an event moves none of the others.
    std::vector<std::shared_ptr<const std::string>> queue_;
    std::size_t queue_head_ = 0;
    state state_ = state::open;
    std::error_code reason_;
    std::error_code producer_error_;
    snow::event closed_; ///< set when sends stop being accepted
    snow::event room_;   ///< set when the queue has room (or the stream ended)
    pump_wait* pump_waiter_ = nullptr;
    cancel_source producer_scope_; ///< the producer: cancelled when the stream ends
    cancel_source write_scope_;    ///< the writes: cancelled when the stream is aborted
    cancel_callback client_left_;
    cancel_callback server_stopping_;
};

/// A text/event-stream response (with Cache-Control: no-cache, and X-Accel-Buffering: no so
/// that nginx passes it on unbuffered) whose body `body` streams, through an event_stream with
/// `options`. The producer starts once the head has gone out, after the handler returned:
/// the request is gone by then, so what it needs of it travels in the function (the
/// request's Last-Event-ID is kept for it: event_stream::last_event_id()). As for handlers,
/// a producer with state is best a plain lambda that captures it and calls a coroutine with
/// it as arguments: `[&hub](event_stream& events) { return relay(events, hub); }`.
SNOW_API response event_stream_response(const request& req, event_stream::producer body,
                                        event_stream_options options = {});

} // namespace snow::http
