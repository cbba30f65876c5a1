// snow/http/server/detail/websocket_send.cpp: the writer of a WebSocket connection: frames queued
// by send() and hubs, pongs and pings before them, the close frame last; one frame at a time,
// each within write_timeout.
#include <exception>
#include <new>
#include <utility>

#include "snow/http/server/detail/websocket_session.hpp"
#include "snow/net/stream.hpp"
#include "snow/time/timeout.hpp"

namespace snow::http::detail {

namespace {
std::string control_frame(ws::opcode op, std::string_view payload) {
    ws::frame_header h;
    h.op = op;
    return ws::encode_frame(h,
                            std::as_bytes(std::span<const char>(payload.data(), payload.size())));
}
} // namespace

task<result<void>> websocket_session::send(ws::opcode op, std::span<const std::byte> payload) {
    // Not a coroutine: the frame is encoded now, while `payload` is valid, and only the
    // queueing (which may wait) is, holding the bytes.
    if (closing_) return refuse(end_error());
    if (compresses(payload.size())) {
        // Compressed once it has room in the queue, so in the order it is sent.
        return enqueue_compressed(
            op, std::string(reinterpret_cast<const char*>(payload.data()), payload.size()));
    }
    ws::frame_header h;
    h.op = op;
    return enqueue(std::make_shared<const std::string>(ws::encode_frame(h, payload)));
}

bool websocket_session::compresses(std::size_t size) const noexcept {
    return deflate_.has_value() && options_.deflate.enabled && deflater_.usable() &&
           size >= options_.deflate.min_size;
}

std::shared_ptr<const std::string>
websocket_session::compressed_frame(ws::opcode op, std::span<const std::byte> payload) {
    ws::frame_header h;
    h.op = op;
    std::string compressed;
    if (deflater_.compress(payload, compressed)) {
        h.rsv1 = true; // RFC 7692 §6: set on the first frame of a compressed message
        return std::make_shared<const std::string>(
            ws::encode_frame(h, std::as_bytes(std::span(compressed))));
    }
    return std::make_shared<const std::string>(ws::encode_frame(h, payload));
}

task<result<void>> websocket_session::enqueue_compressed(ws::opcode op, std::string payload) {
    return enqueue_when_room(nullptr, op, std::move(payload));
}

task<result<void>> websocket_session::enqueue(std::shared_ptr<const std::string> frame) {
    return enqueue_when_room(std::move(frame), ws::opcode::binary, std::string());
}

task<result<void>> websocket_session::enqueue_when_room(std::shared_ptr<const std::string> frame,
                                                        ws::opcode op, std::string payload) {
    for (;;) {
        if (closing_) co_return end_error();
        if (outbox_.size() < options_.max_queued_frames) break;
        // Back-pressure: wait until the writer has taken one (or a close began).
        outbox_room_.reset();
        const bool woken = co_await outbox_room_.wait();
        if (!woken) co_return std::make_error_code(std::errc::operation_canceled);
    }
    // No suspension from here to the queue: the compressor's order is the wire's.
    if (!frame) frame = compressed_frame(op, std::as_bytes(std::span(payload)));
    outbox_.push_back(std::move(frame));
    wake_pump();
    co_return result<void>{};
}

namespace {
/// A hub's broadcast compressed with a fresh window, shared by every connection of this loop
/// whose compressor starts each message afresh with the same window and level: the output
/// is the same for all of them. Held weakly: the queues that hold the frame keep it.
struct shared_compression {
    const std::string* source = nullptr;
    std::weak_ptr<const std::string> source_alive;
    int window_bits = 0;
    int level = 0;
    std::weak_ptr<const std::string> compressed;
};
thread_local shared_compression last_broadcast;
} // namespace

std::shared_ptr<const std::string>
websocket_session::for_this_connection(std::shared_ptr<const std::string> frame) {
    // A hub frames each message once, unmasked and unfragmented.
    const auto bytes = std::as_bytes(std::span(*frame));
    const ws::frame_rules rules{.receiver = ws::role::client, .strict = false};
    const ws::header_parse parsed = ws::parse_frame_header(bytes, rules);
    if (!parsed.complete() || ws::is_control(parsed.header.op) ||
        !compresses(bytes.size() - parsed.size))
        return frame;
    const auto payload = bytes.subspan(parsed.size);
    const ws::deflate_direction mine = ws::direction_of(*deflate_, ws::role::server);
    if (!mine.no_context_takeover) return compressed_frame(parsed.header.op, payload);
    shared_compression& last = last_broadcast;
    if (last.source == frame.get() && !last.source_alive.expired() &&
        last.window_bits == mine.window_bits && last.level == options_.deflate.level) {
        if (auto shared = last.compressed.lock()) return shared;
    }
    auto compressed = compressed_frame(parsed.header.op, payload);
    last = shared_compression{.source = frame.get(),
                              .source_alive = frame,
                              .window_bits = mine.window_bits,
                              .level = options_.deflate.level,
                              .compressed = compressed};
    return compressed;
}

bool websocket_session::offer(std::shared_ptr<const std::string> frame) noexcept {
    if (closing_) return false;
    if (outbox_.size() >= options_.max_queued_frames) {
        // A broadcast never waits for one subscriber: one this far behind is dropped, with a
        // close frame right after the frame being written, in case it is only slow.
        try {
            begin_close(static_cast<std::uint16_t>(ws::close_code::policy_violation), "too slow",
                        true, std::make_error_code(std::errc::no_buffer_space));
        } catch (const std::bad_alloc&) {
            abort(std::make_error_code(std::errc::no_buffer_space));
        }
        return false;
    }
    try {
        outbox_.push_back(for_this_connection(std::move(frame)));
    } catch (const std::bad_alloc&) {
        abort(std::make_error_code(std::errc::not_enough_memory));
        return false;
    }
    wake_pump();
    return true;
}

bool websocket_session::pump_has_work() const noexcept {
    if (aborted_ || close_sent_) return true; // to leave
    return pong_due_ || (ping_due_ && !closing_) || !outbox_.empty() || closing_;
}

task<void> websocket_session::pump() {
    for (;;) {
        if (aborted_ || close_sent_) break;
        if (!pump_has_work()) {
            pump_wake_.reset();
            const bool woken = co_await pump_wake_.wait();
            if (!woken) {
                abort(std::make_error_code(std::errc::operation_canceled));
                break;
            }
            continue;
        }
        // Control frames go first: a pong should not wait behind a long queue, and frames are
        // written whole, so they never land inside another.
        std::string control;
        std::shared_ptr<const std::string> queued;
        const std::string* bytes = nullptr;
        bool is_close = false;
        if (pong_due_) {
            pong_due_ = false;
            control = control_frame(ws::opcode::pong, pong_payload_);
            bytes = &control;
        } else if (ping_due_ && !closing_) {
            ping_due_ = false;
            control = control_frame(ws::opcode::ping, {});
            bytes = &control;
        } else if (!outbox_.empty()) {
            queued = std::move(outbox_.front());
            outbox_.pop_front();
            outbox_room_.set();
            bytes = queued.get();
        } else {
            // Closing, with the queue written: the close frame is the last one.
            control = control_frame(ws::opcode::close, close_payload_);
            bytes = &control;
            is_close = true;
        }
        auto written = co_await with_timeout(connection_.stream.send_all(std::string_view(*bytes)),
                                             options_.write_timeout);
        if (!written) {
            abort(written.error());
            break;
        }
        if (is_close) {
            close_sent_ = true;
            status_.sent = close_code_;
        }
    }
    outbox_room_.set(); // senders waiting for room see the end
}

} // namespace snow::http::detail
