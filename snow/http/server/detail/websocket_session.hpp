// snow/http/server/detail/websocket_session.hpp: one WebSocket connection on the server: a
// reader that keeps a receive in flight and answers pings, a writer that sends queued frames
// one at a time, the handler beside them, and the close handshake that ends all three.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "snow/core/cancel.hpp"
#include "snow/core/result.hpp"
#include "snow/core/task.hpp"
#include "snow/http/server/detail/idle_queue.hpp"
#include "snow/http/server/response.hpp"
#include "snow/http/server/websocket.hpp"
#include "snow/http/websocket/close.hpp"
#include "snow/http/websocket/deflate.hpp"
#include "snow/http/websocket/frame.hpp"
#include "snow/http/websocket/message.hpp"
#include "snow/http/websocket/message_reader.hpp"
#include "snow/io/clock.hpp"
#include "snow/io/event_loop.hpp"
#include "snow/io/timer_queue.hpp"
#include "snow/sync/event.hpp"

namespace snow::http::detail {

/// A timer in the loop's heap that calls `fn(context)` when it expires; re-armed at will.
class session_timer {
public:
    using function = void (*)(void* context) noexcept;
    session_timer(function fn, void* context) noexcept : fn_(fn), context_(context) {
        node_.context = this;
        node_.on_expire = [](io::timer_node* node) noexcept {
            auto* self = static_cast<session_timer*>(node->context);
            self->fn_(self->context_);
        };
    }
    session_timer(const session_timer&) = delete;
    session_timer& operator=(const session_timer&) = delete;
    ~session_timer() { disarm(); }

    /// Fires at `when`, instead of when it was set to; never at time_point::max().
    void arm(io::clock::time_point when) {
        disarm();
        if (when == io::clock::time_point::max()) return;
        loop_ = &io::event_loop::current();
        node_.deadline = when;
        loop_->timers().push(node_);
    }
    void disarm() noexcept {
        if (node_.queued()) loop_->timers().remove(node_);
    }
    bool armed() const noexcept { return node_.queued(); }

private:
    function fn_;
    void* context_;
    io::event_loop* loop_ = nullptr;
    io::timer_node node_;
};

class websocket_session {
public:
    websocket_session(upgraded_connection& connection, websocket_options options,
                      std::string subprotocol, std::optional<ws::deflate_params> deflate);
    websocket_session(const websocket_session&) = delete;
    websocket_session& operator=(const websocket_session&) = delete;
    ~websocket_session();

    /// The connection's life: `handler` runs beside the reader and the writer until all has
    /// ended, then the server's end of TCP is shut down. Returns once the handler has too.
    task<void> run(websocket::handler handler);

    websocket& facade() noexcept { return facade_; }
    const websocket_options& options() const noexcept { return options_; }
    std::string_view subprotocol() const noexcept { return subprotocol_; }
    const std::optional<ws::deflate_params>& deflate() const noexcept { return deflate_; }
    const ws::close_status& status() const noexcept { return status_; }
    bool is_open() const noexcept { return !closing_; }
    std::size_t queued() const noexcept { return outbox_.size(); }
    snow::event::awaiter closed() noexcept { return done_.wait(); }

    task<result<ws::message>> recv();
    /// Encodes a frame of `payload` now (the view need not outlive the call), then queues it.
    task<result<void>> send(ws::opcode op, std::span<const std::byte> payload);
    task<result<void>> close(std::uint16_t code, std::string_view reason);
    /// For a hub: queues a frame already encoded, without waiting. A full queue drops the
    /// connection (close 1008, std::errc::no_buffer_space). False when it was not queued.
    bool offer(std::shared_ptr<const std::string> frame) noexcept;

private:
    // websocket_receive.cpp
    task<void> receive_loop();
    task<result<std::size_t>> receive_more();
    bool inbox_full() const noexcept;
    void deliver(ws::message m);
    /// A control frame the reader found; false when it ends reading (the peer's close).
    bool on_control(ws::opcode op);
    void reading_ended(std::error_code why) noexcept;
    static void liveness_check(void* self) noexcept;
    // websocket_send.cpp
    task<void> pump();
    bool pump_has_work() const noexcept;
    /// Waits for room in the queue (back-pressure), then queues `frame`.
    task<result<void>> enqueue(std::shared_ptr<const std::string> frame);
    /// Waits for room like enqueue(), then compresses `payload` and queues its frame: the
    /// compressor sees messages in the order they are sent, as context takeover needs.
    task<result<void>> enqueue_compressed(ws::opcode op, std::string payload);
    /// Both of the above: `frame`, or without one `payload` compressed as `op`.
    task<result<void>> enqueue_when_room(std::shared_ptr<const std::string> frame, ws::opcode op,
                                         std::string payload);
    /// Whether a data message of `size` bytes goes compressed.
    bool compresses(std::size_t size) const noexcept;
    /// The frame of a data message, compressed (RSV1 set); uncompressed should zlib fail.
    std::shared_ptr<const std::string> compressed_frame(ws::opcode op,
                                                        std::span<const std::byte> payload);
    /// A hub's frame as this connection sends it: compressed, once per loop for all
    /// connections without server context takeover, otherwise by this one's compressor.
    std::shared_ptr<const std::string>
    for_this_connection(std::shared_ptr<const std::string> frame);
    static task<result<void>> refuse(std::error_code why);
    // websocket_session.cpp
    task<void> run_handler(websocket::handler handler);
    task<result<void>> wait_closed();
    /// Begins the close handshake once: sends `code` and `reason` after the queue, or right
    /// after the frame being written when `drop_queue`. `why` becomes the status's error.
    void begin_close(std::uint16_t code, std::string_view reason, bool drop_queue,
                     std::error_code why);
    /// Ends everything now: no close frame, I/O cancelled.
    void abort(std::error_code why) noexcept;
    void set_error(std::error_code why) noexcept;
    std::error_code end_error() const noexcept;
    void wake_pump() noexcept { pump_wake_.set(); }
    static void server_stopping(void* self) noexcept;
    static void close_timed_out(void* self) noexcept;

    upgraded_connection& connection_;
    const websocket_options options_;
    const std::string subprotocol_;
    const std::optional<ws::deflate_params> deflate_;
    websocket facade_;
    ws::close_status status_;

    // The connection's parts are cancelled with its scope (a hard stop), each also on its own.
    cancel_source read_scope_;
    cancel_source write_scope_;
    cancel_source handler_scope_;
    cancel_callback on_stopping_;

    // Receiving.
    ws::message_reader reader_;
    bool ignoring_ = false;         // the reader skips all but close frames (a close has begun)
    idle_queue<ws::message> inbox_; // nothing held while idle
    std::size_t inbox_bytes_ = 0;
    event inbox_ready_; // a message arrived, or reading ended
    event inbox_room_;  // recv() took one
    bool reading_paused_ = false;
    bool reading_ended_ = false;
    bool close_received_ = false;
    event reader_done_;
    // Liveness: a ping after ping_interval of silence, and an end after pong_timeout more.
    io::clock::time_point last_heard_{};
    io::clock::time_point ping_sent_at_{};
    bool awaiting_pong_ = false;
    session_timer liveness_{&websocket_session::liveness_check, this};

    // Sending.
    ws::deflater deflater_; // its zlib stream comes with the first compressed message
    idle_queue<std::shared_ptr<const std::string>> outbox_;
    event outbox_room_;
    event pump_wake_;
    std::string pong_payload_;
    bool pong_due_ = false;
    bool ping_due_ = false;

    // Closing.
    bool closing_ = false; // no more sends: a close frame is due or sent
    bool aborted_ = false;
    bool close_sent_ = false;
    std::uint16_t close_code_ = 1000;
    std::string close_payload_;
    session_timer close_timer_{&websocket_session::close_timed_out, this};
    event done_;
};

} // namespace snow::http::detail
