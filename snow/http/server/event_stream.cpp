// snow/http/server/event_stream.cpp: the event wire format, and the stream's writer (its pump):
// it writes queued events as they come, heartbeats while idle, and ends the stream.
#include "snow/http/server/event_stream.hpp"

#include <cassert>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <string>
#include <utility>

#include "snow/core/task_group.hpp"
#include "snow/io/clock.hpp"
#include "snow/io/event_loop.hpp"
#include "snow/io/log.hpp"
#include "snow/io/timer_queue.hpp"

namespace snow::http {

// ---------------------------------------------------------------------------------------
// The wire format

namespace {

/// Calls `line(text)` for each line of `text`, split at CRLF, CR or LF as the event-stream
/// grammar splits them; always at least once.
template <typename Line>
void for_each_line(std::string_view text, Line line) {
    for (;;) {
        const std::size_t at = text.find_first_of("\r\n");
        if (at == std::string_view::npos) {
            line(text);
            return;
        }
        line(text.substr(0, at));
        const bool crlf = text[at] == '\r' && at + 1 < text.size() && text[at + 1] == '\n';
        text.remove_prefix(at + (crlf ? 2 : 1));
    }
}

/// "name: value\n". The space is always written: the parser drops one space after the
/// colon, so a value that itself starts with a space keeps it.
void append_field(std::string& out, std::string_view name, std::string_view value) {
    out.append(name).append(": ").append(value).push_back('\n');
}

bool breaks_line(std::string_view text) noexcept {
    return text.find_first_of("\r\n") != std::string_view::npos;
}

} // namespace

result<std::string> format_event(const server_sent_event& e) {
    // A line break in a single-line field would end it early and start a field of the
    // sender's text; a NUL makes browsers ignore the id.
    if (e.id && (breaks_line(*e.id) || e.id->find('\0') != std::string::npos))
        return std::errc::invalid_argument;
    if (breaks_line(e.event)) return std::errc::invalid_argument;
    if (e.retry && e.retry->count() < 0) return std::errc::invalid_argument;

    std::string out;
    out.reserve(e.data.size() + e.event.size() + (e.id ? e.id->size() : 0) + 48);
    if (e.id) append_field(out, "id", *e.id);
    if (!e.event.empty()) append_field(out, "event", e.event);
    if (e.retry) append_field(out, "retry", std::to_string(e.retry->count()));
    // Without a data field the browser dispatches nothing; a typed event with empty data
    // still gets one, so that it is dispatched.
    if (!e.data.empty() || !e.event.empty())
        for_each_line(e.data, [&](std::string_view line) { append_field(out, "data", line); });
    out.push_back('\n');
    return out;
}

std::string format_comment(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 4);
    for_each_line(text,
                  [&](std::string_view line) { out.append(": ").append(line).push_back('\n'); });
    out.push_back('\n');
    return out;
}

// ---------------------------------------------------------------------------------------
// The pump's idle wait

/// Resumes the pump when there is something to do (wake()), at `deadline` (the next
/// heartbeat), or when its task is cancelled, whichever comes first. The pump looks at the
/// stream again after each, so the wait need not say which it was.
class event_stream::pump_wait {
public:
    pump_wait(event_stream& stream, io::clock::time_point deadline) noexcept : stream_(stream) {
        node_.deadline = deadline;
        node_.context = this;
        node_.on_expire = [](io::timer_node* node) noexcept {
            static_cast<pump_wait*>(node->context)->wake();
        };
    }
    pump_wait(const pump_wait&) = delete;
    pump_wait& operator=(const pump_wait&) = delete;
    ~pump_wait() {
        if (node_.queued()) loop_->timers().remove(node_);
        if (scheduled_) loop_->unschedule(waiter_);
        if (stream_.pump_waiter_ == this) stream_.pump_waiter_ = nullptr;
    }

    bool await_ready() const noexcept { return stream_.pump_has_work(); }
    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) noexcept {
        cancel_source* source = snow::detail::cancellation_of(waiter);
        if (source != nullptr && source->requested()) return false;
        loop_ = &io::event_loop::current();
        waiter_ = waiter;
        if (node_.deadline != io::clock::time_point::max()) loop_->timers().push(node_);
        stream_.pump_waiter_ = this;
        on_cancel_.attach(
            source, [](void* self) noexcept { static_cast<pump_wait*>(self)->wake(); }, this);
        return true;
    }
    void await_resume() noexcept { scheduled_ = false; }

    /// Queues the pump's resumption, once; nothing else can wake it after that.
    void wake() noexcept {
        if (scheduled_) return;
        if (node_.queued()) loop_->timers().remove(node_);
        on_cancel_.reset();
        if (stream_.pump_waiter_ == this) stream_.pump_waiter_ = nullptr;
        scheduled_ = true;
        loop_->schedule(waiter_);
    }

private:
    event_stream& stream_;
    io::event_loop* loop_ = nullptr;
    std::coroutine_handle<> waiter_;
    io::timer_node node_;
    cancel_callback on_cancel_;
    bool scheduled_ = false; // resumption queued but not yet run
};

// ---------------------------------------------------------------------------------------
// event_stream

event_stream::event_stream(body_writer& writer, event_stream_options options,
                           std::optional<std::string> last_event_id)
    : writer_(writer)
    , options_(options)
    , last_event_id_(std::move(last_event_id)) {
    assert(options_.heartbeat_interval.count() > 0 && "a heartbeat interval must be positive");
    if (options_.heartbeat_interval.count() <= 0)
        options_.heartbeat_interval = std::chrono::milliseconds(1);
    if (options_.max_queued_events == 0) options_.max_queued_events = 1;
}

event_stream::~event_stream() {
    assert(pump_waiter_ == nullptr && "the pump outlives its stream");
}

// Not coroutines: the event is formatted now, while the views in it are valid, and only
// the queueing (which may wait) is a coroutine, holding the bytes.
task<result<void>> event_stream::send(const server_sent_event& e) {
    auto formatted = format_event(e);
    if (!formatted) return refuse(formatted.error());
    return enqueue(std::make_shared<const std::string>(std::move(*formatted)));
}

task<result<void>> event_stream::send_comment(std::string_view text) {
    return enqueue(std::make_shared<const std::string>(format_comment(text)));
}

task<result<void>> event_stream::refuse(std::error_code why) {
    co_return why;
}

task<result<void>> event_stream::enqueue(std::shared_ptr<const std::string> bytes) {
    for (;;) {
        if (state_ != state::open)
            co_return reason_ ? reason_ : std::make_error_code(std::errc::operation_canceled);
        if (queued() < options_.max_queued_events) break;
        // Back-pressure: wait until the pump has taken one (or the stream ended).
        room_.reset();
        const bool woken = co_await room_.wait();
        if (!woken) co_return std::make_error_code(std::errc::operation_canceled);
    }
    queue_.push_back(std::move(bytes));
    wake_pump();
    co_return result<void>{};
}

bool event_stream::offer(std::shared_ptr<const std::string> bytes) noexcept {
    if (state_ != state::open) return false;
    if (queued() >= options_.max_queued_events) {
        // A broadcast never waits for one subscriber: a stream this far behind is dropped,
        // and its browser resumes from its Last-Event-ID on a fresh connection.
        abort(std::make_error_code(std::errc::no_buffer_space));
        return false;
    }
    try {
        queue_.push_back(std::move(bytes));
    } catch (const std::bad_alloc&) {
        abort(std::make_error_code(std::errc::not_enough_memory));
        return false;
    }
    wake_pump();
    return true;
}

bool event_stream::pump_has_work() const noexcept {
    return queued() > 0 || state_ != state::open;
}

void event_stream::wake_pump() noexcept {
    if (pump_waiter_ != nullptr) pump_waiter_->wake();
}

void event_stream::close_for_senders(std::error_code why) noexcept {
    if (!reason_) reason_ = why;
    closed_.set();
    room_.set(); // senders waiting for room see the end instead
    producer_scope_.request();
    wake_pump();
}

void event_stream::finish(std::error_code why) noexcept {
    if (state_ != state::open) return;
    state_ = state::finishing;
    close_for_senders(why);
}

void event_stream::abort(std::error_code why) noexcept {
    if (state_ == state::ended) return;
    state_ = state::ended;
    queue_.clear();
    queue_head_ = 0;
    write_scope_.request(); // a write in flight to a client that left would only wait
    close_for_senders(why);
}

void event_stream::client_left(void* self) noexcept {
    static_cast<event_stream*>(self)->abort(std::make_error_code(std::errc::broken_pipe));
}

void event_stream::server_stopping(void* self) noexcept {
    static_cast<event_stream*>(self)->finish(std::make_error_code(std::errc::operation_canceled));
}

task<void> event_stream::produce(producer body) {
    result<void> outcome;
    try {
        outcome = co_await body(*this);
    } catch (const std::exception& e) {
        log::error("event stream producer failed: {}", e.what());
        outcome = std::make_error_code(std::errc::state_not_recoverable);
    } catch (...) {
        log::error("event stream producer failed with a non-standard exception");
        outcome = std::make_error_code(std::errc::state_not_recoverable);
    }
    // A producer that fails while the stream is open cuts the body short (no last chunk), so
    // the client sees the failure; one that only passes on the end of the stream (a send
    // that failed because the client left or the server stops) does not.
    if (state_ == state::open) producer_error_ = outcome.error();
    finish({});
}

task<result<void>> event_stream::pump() {
    cancel_source* scope = co_await current_cancellation{};
    static const std::string heartbeat = format_comment("");
    auto last_write = io::clock::now();
    for (;;) {
        if (state_ == state::ended) co_return reason_;
        if (scope != nullptr && scope->requested()) {
            abort(std::make_error_code(std::errc::operation_canceled));
            co_return reason_;
        }
        const std::string* bytes = nullptr;
        std::shared_ptr<const std::string> next;
        if (queued() > 0) {
            next = std::move(queue_[queue_head_++]);
            if (queue_head_ == queue_.size()) {
                queue_.clear();
                queue_head_ = 0;
            } else if (queue_head_ * 2 >= queue_.size()) {
                queue_.erase(queue_.begin(),
                             queue_.begin() + static_cast<std::ptrdiff_t>(queue_head_));
                queue_head_ = 0;
            }
            room_.set();
            bytes = next.get();
        } else if (state_ == state::finishing) {
            co_return result<void>{}; // everything queued has been written
        } else {
            const auto heartbeat_at = io::deadline_after(last_write, options_.heartbeat_interval);
            if (io::clock::now() < heartbeat_at) {
                co_await pump_wait(*this, heartbeat_at);
                continue;
            }
            bytes = &heartbeat;
        }
        // One write per event, as soon as it is there: nothing waits to fill a buffer.
        auto written = co_await with_cancellation(writer_.write(*bytes), write_scope_);
        if (!written) {
            abort(written.error());
            co_return reason_;
        }
        last_write = io::clock::now();
    }
}

task<result<void>> event_stream::run(producer body) {
    cancel_source* scope = co_await current_cancellation{};
    producer_scope_.link_to(scope);
    write_scope_.link_to(scope);
    // Either may run at once, if the client has already gone or the stop already begun.
    if (cancel_source* gone = writer_.watch_client())
        client_left_.attach(gone, &event_stream::client_left, this);
    if (cancel_source* stopping = writer_.server_stopping())
        server_stopping_.attach(stopping, &event_stream::server_stopping, this);

    task_group producers; // joined below: the producer refers to this stream
    producers.spawn(with_cancellation(produce(std::move(body)), producer_scope_));
    const result<void> written = co_await pump(); // returns once the stream is closed
    // A cancelled join still waits for the producer, which the stream's end has cancelled.
    co_await producers.join();
    client_left_.reset();
    server_stopping_.reset();
    if (!written) co_return written;
    if (producer_error_) co_return producer_error_;
    co_return result<void>{};
}

// ---------------------------------------------------------------------------------------
// The response

namespace {
task<result<void>> stream_events(body_writer& writer, event_stream::producer body,
                                 event_stream_options options,
                                 std::optional<std::string> last_event_id) {
    event_stream events(writer, options, std::move(last_event_id));
    co_return co_await events.run(std::move(body));
}
} // namespace

response event_stream_response(const request& req, event_stream::producer body,
                               event_stream_options options) {
    response r;
    r.headers.add("Content-Type", "text/event-stream");
    r.headers.add("Cache-Control", "no-cache");
    r.headers.add("X-Accel-Buffering", "no");
    std::optional<std::string> last_event_id;
    if (auto id = req.last_event_id()) last_event_id.emplace(*id);
    r.stream = [body = std::move(body), options,
                last_event_id = std::move(last_event_id)](body_writer& writer) {
        return stream_events(writer, body, options, last_event_id);
    };
    return r;
}

} // namespace snow::http
