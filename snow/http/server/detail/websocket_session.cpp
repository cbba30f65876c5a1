// snow/http/server/detail/websocket_session.cpp: a WebSocket connection's life: its three tasks
// started and joined, and the close handshake: begun once, bounded by close_timeout, and the
// one place the connection's end is decided.
#include "snow/http/server/detail/websocket_session.hpp"

#include <exception>
#include <utility>

#include "snow/core/task_group.hpp"
#include "snow/http/websocket/utf8.hpp"
#include "snow/io/log.hpp"
#include "snow/net/stream.hpp"

namespace snow::http::detail {

namespace {
task<void> wait_until_set(event& e) {
    (void)co_await e.wait();
}

std::optional<ws::deflate_direction> peer_compression(const std::optional<ws::deflate_params>& p) {
    if (!p) return std::nullopt;
    return ws::direction_of(*p, ws::role::client);
}
} // namespace

websocket_session::websocket_session(upgraded_connection& connection, websocket_options options,
                                     std::string subprotocol,
                                     std::optional<ws::deflate_params> deflate)
    : connection_(connection)
    , options_(std::move(options))
    , subprotocol_(std::move(subprotocol))
    , deflate_(deflate)
    , facade_(*this)
    , read_scope_(&connection.io_scope)
    , write_scope_(&connection.io_scope)
    , handler_scope_(&connection.io_scope)
    , reader_(ws::reader_options{.receiver = ws::role::server,
                                 .max_message_size = options_.max_message_size,
                                 .rsv1_allowed = false,
                                 .deflate = peer_compression(deflate_)})
    , deflater_(ws::direction_of(deflate_.value_or(ws::deflate_params{}), ws::role::server),
                options_.deflate.level) {}

websocket_session::~websocket_session() = default;

task<void> websocket_session::run(websocket::handler handler) {
    last_heard_ = io::event_loop::current().now();
    liveness_.arm(io::deadline_after(last_heard_, options_.ping_interval));
    task_group tasks; // joined below: each task refers to this session
    tasks.spawn(with_cancellation(receive_loop(), read_scope_));
    tasks.spawn(with_cancellation(run_handler(std::move(handler)), handler_scope_));
    // A graceful stop that began before the upgrade closes at once.
    on_stopping_.attach(&connection_.stopping, &websocket_session::server_stopping, this);
    co_await with_cancellation(pump(), write_scope_);
    // The writer is done; the reader still waits for the peer's close frame, bounded by the
    // close timer. Shielded: a hard stop cancels the reader too, and its receive's completion
    // is awaited here rather than reaped by a destructor.
    co_await shielded(wait_until_set(reader_done_));
    liveness_.disarm();
    close_timer_.disarm();
    on_stopping_.reset();
    // The server closes TCP first (RFC 6455 §7.1.1): FIN now, the socket once the
    // connection's frame ends.
    (void)co_await connection_.stream.shutdown();
    done_.set();
    handler_scope_.request(); // the handler's own waits end: nothing is left to wait for
    co_await tasks.join();
}

task<void> websocket_session::run_handler(websocket::handler handler) {
    bool failed = false;
    try {
        co_await handler(facade_);
    } catch (const std::exception& e) {
        log::error("websocket handler failed: {}", e.what());
        failed = true;
    } catch (...) {
        log::error("websocket handler failed with a non-standard exception");
        failed = true;
    }
    // Its end is the connection's: a normal closure after what it queued.
    const auto code = failed ? ws::close_code::internal_error : ws::close_code::normal;
    begin_close(static_cast<std::uint16_t>(code), {}, false, {});
}

void websocket_session::set_error(std::error_code why) noexcept {
    // The first cause is the one reported; once the peer's close frame has arrived the
    // handshake is complete, and what fails afterwards changes nothing.
    if (!status_.error && !close_received_ && why) status_.error = why;
}

std::error_code websocket_session::end_error() const noexcept {
    if (status_.error) return status_.error;
    if (close_received_) return {status_.code, ws::close_category()};
    if (closing_) return {close_code_, ws::close_category()};
    return std::make_error_code(std::errc::broken_pipe);
}

void websocket_session::begin_close(std::uint16_t code, std::string_view reason, bool drop_queue,
                                    std::error_code why) {
    set_error(why);
    if (drop_queue) {
        outbox_.clear();
        outbox_room_.set();
    }
    if (closing_) return;
    closing_ = true;
    close_code_ = code;
    close_payload_ = ws::format_close_payload(code, reason);
    close_timer_.arm(io::deadline_after(io::event_loop::current().now(), options_.close_timeout));
    // Everyone waiting sees the change: recv() ends once its queue is empty, send() fails,
    // a reader paused for room goes on (dropping messages), and the writer sends the close.
    inbox_ready_.set();
    inbox_room_.set();
    outbox_room_.set();
    wake_pump();
}

void websocket_session::abort(std::error_code why) noexcept {
    set_error(why);
    if (aborted_) return;
    aborted_ = true;
    closing_ = true;
    outbox_.clear();
    read_scope_.request();
    write_scope_.request();
    inbox_ready_.set();
    inbox_room_.set();
    outbox_room_.set();
    wake_pump();
}

void websocket_session::server_stopping(void* self) noexcept {
    // An empty reason keeps the payload within the string's own storage: no allocation here.
    static_cast<websocket_session*>(self)->begin_close(
        static_cast<std::uint16_t>(ws::close_code::going_away), {}, false,
        std::make_error_code(std::errc::operation_canceled));
}

void websocket_session::close_timed_out(void* self) noexcept {
    static_cast<websocket_session*>(self)->abort(std::make_error_code(std::errc::timed_out));
}

task<result<void>> websocket_session::close(std::uint16_t code, std::string_view reason) {
    if (!ws::is_sendable_close_code(code) || !ws::is_valid_utf8(reason))
        return refuse(std::make_error_code(std::errc::invalid_argument));
    begin_close(code, reason, false, {});
    return wait_closed();
}

task<result<void>> websocket_session::wait_closed() {
    const bool ended = co_await done_.wait();
    if (!ended) co_return std::make_error_code(std::errc::operation_canceled);
    if (status_.error) co_return status_.error;
    co_return result<void>{};
}

task<result<void>> websocket_session::refuse(std::error_code why) {
    co_return why;
}

} // namespace snow::http::detail
