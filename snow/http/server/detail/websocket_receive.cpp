// snow/http/server/detail/websocket_receive.cpp: the reader of a WebSocket connection: one
// receive always in flight (from the loop's provided buffers while nothing is pending), frames
// into messages for recv(), pongs for pings, the peer's close, and the ping/pong liveness check.
#include <algorithm>
#include <utility>

#include "snow/core/error.hpp"
#include "snow/http/server/detail/websocket_session.hpp"
#include "snow/io/buffer_pool.hpp"
#include "snow/io/run.hpp"
#include "snow/net/receive_buffer.hpp"
#include "snow/net/stream.hpp"

namespace snow::http::detail {

namespace {
// The pool runs dry only for a moment, when more receives complete in one turn than it has
// buffers; a few turns later one is free again (as in connection::run).
constexpr int pooled_attempts = 4;
// How much a receive asks for when a frame is partly in: at least a page, and no more than
// what is useful at once.
constexpr std::size_t min_receive = 4096;
constexpr std::size_t max_receive = 64 * 1024;
} // namespace

task<result<ws::message>> websocket_session::recv() {
    for (;;) {
        if (!inbox_.empty()) {
            ws::message m = std::move(inbox_.front());
            inbox_.pop_front();
            inbox_bytes_ -= m.payload.size();
            inbox_room_.set(); // a reader paused for room goes on
            co_return std::move(m);
        }
        // Messages received before a close are still handed over; none come after it.
        if (reading_ended_ || closing_) co_return end_error();
        inbox_ready_.reset();
        const bool woken = co_await inbox_ready_.wait();
        if (!woken) co_return std::make_error_code(std::errc::operation_canceled);
    }
}

bool websocket_session::inbox_full() const noexcept {
    return inbox_.size() >= options_.max_queued_messages ||
           inbox_bytes_ >= options_.max_message_size;
}

void websocket_session::deliver(ws::message m) {
    if (closing_) return; // a close has begun: the handler is not waiting for more
    inbox_bytes_ += m.payload.size();
    inbox_.push_back(std::move(m));
    inbox_ready_.set();
}

bool websocket_session::on_control(ws::opcode op) {
    const auto payload = reader_.control_payload();
    if (op == ws::opcode::ping) {
        // Only the latest ping needs its pong (RFC 6455 §5.5.3); none once closing.
        if (!closing_) {
            pong_payload_.assign(reinterpret_cast<const char*>(payload.data()), payload.size());
            pong_due_ = true;
            wake_pump();
        }
        return true;
    }
    if (op == ws::opcode::pong) {
        awaiting_pong_ = false; // any frame counts as an answer; this one is meant as one
        return true;
    }
    auto parsed = ws::parse_close_payload(payload);
    if (!parsed) {
        // A close frame that breaks the rules: answered with the code it earned, and reading
        // ends, since the peer sends nothing after a close frame.
        begin_close(static_cast<std::uint16_t>(parsed.error().value()), {}, true, parsed.error());
        return false;
    }
    status_.code = parsed->code;
    status_.reason = std::move(parsed->reason);
    close_received_ = true;
    // The peer closes: its code is echoed at once, and queued frames are dropped.
    begin_close(parsed->code, {}, true, {});
    return false;
}

task<result<std::size_t>> websocket_session::receive_more() {
    net::receive_buffer& input = connection_.input;
    const bool idle = input.empty() && !reader_.in_message() && reader_.payload_remaining() == 0;
    if (idle && connection_.pool != nullptr) {
        // Between messages the wait holds no buffer: storage is freed, and the kernel picks a
        // pool buffer only when bytes arrive. Within a message the storage is kept for the
        // rest of it.
        input.shrink_if_over(0);
        for (int attempt = 0; attempt < pooled_attempts; ++attempt) {
            auto got = co_await connection_.stream.tcp().recv_pooled(*connection_.pool);
            if (got) {
                if (!got->empty()) input.append(got->bytes());
                co_return got->size();
            }
            if (got.error() != std::errc::no_buffer_space) co_return got.error();
            co_await yield();
        }
    }
    // A message partly in (or TLS, whose session decrypts into our buffer, or a dry pool).
    const auto wanted =
        std::clamp<std::uint64_t>(reader_.payload_remaining(), min_receive, max_receive);
    auto room = input.prepare(0, static_cast<std::size_t>(wanted));
    auto n = co_await connection_.stream.recv(room);
    if (n) input.commit(*n);
    co_return n;
}

task<void> websocket_session::receive_loop() {
    net::receive_buffer& input = connection_.input;
    std::error_code ended; // why reading stopped; empty for the peer's close frame
    for (;;) {
        if (aborted_) {
            ended = std::make_error_code(std::errc::operation_canceled);
            break;
        }
        if (closing_ && !ignoring_) {
            // Only the peer's close frame matters from now on.
            reader_.ignore_data();
            ignoring_ = true;
        }
        if (!closing_ && inbox_full()) {
            // Back-pressure: nothing more is read until recv() takes a message, and the
            // liveness check waits too, since the silence is this end's.
            reading_paused_ = true;
            inbox_room_.reset();
            const bool woken = co_await inbox_room_.wait();
            reading_paused_ = false;
            last_heard_ = io::event_loop::current().now();
            if (!woken) {
                ended = std::make_error_code(std::errc::operation_canceled);
                break;
            }
            continue;
        }
        auto* front = reinterpret_cast<std::byte*>(input.data());
        const ws::read_step step = reader_.read(std::span<std::byte>(front, input.size()));
        input.consume(step.consumed);
        if (step.what == ws::read_step::kind::message) {
            deliver(reader_.take_message());
            continue;
        }
        if (step.what == ws::read_step::kind::control) {
            if (on_control(step.control)) continue;
            break; // the peer's close frame
        }
        if (step.what == ws::read_step::kind::failed) {
            const std::error_code code = ws::make_error_code(step.failure);
            if (ignoring_) {
                ended = code; // not even a frame's structure: nothing more to find
                break;
            }
            // Failing the connection (RFC 6455 §7.1.7): the close code at once, then frames
            // are only skipped, until the peer's close frame or end of stream.
            begin_close(static_cast<std::uint16_t>(step.failure), {}, true, code);
            continue;
        }
        auto n = co_await receive_more();
        if (!n) {
            ended = n.error();
            break;
        }
        if (*n == 0) {
            ended = make_error_code(snow::errc::eof);
            break;
        }
        last_heard_ = io::event_loop::current().now();
    }
    reading_ended(ended);
}

void websocket_session::reading_ended(std::error_code why) noexcept {
    reading_ended_ = true;
    set_error(why);
    liveness_.disarm();
    inbox_ready_.set(); // recv() sees the end once the queue is empty
    // A peer that vanished with no close handshake under way leaves nobody to write to.
    if (!closing_) abort(why);
    reader_done_.set();
}

void websocket_session::liveness_check(void* context) noexcept {
    auto* self = static_cast<websocket_session*>(context);
    if (self->reading_ended_ || self->closing_) return; // the close timer bounds the rest
    const websocket_options& o = self->options_;
    const auto now = io::event_loop::current().now();
    if (self->reading_paused_) {
        self->liveness_.arm(io::deadline_after(now, o.ping_interval));
        return;
    }
    if (self->awaiting_pong_ && self->last_heard_ > self->ping_sent_at_)
        self->awaiting_pong_ = false; // something arrived after the ping
    if (self->awaiting_pong_) {
        const auto give_up = io::deadline_after(self->ping_sent_at_, o.pong_timeout);
        if (now >= give_up) {
            self->abort(std::make_error_code(std::errc::timed_out));
            return;
        }
        self->liveness_.arm(give_up);
        return;
    }
    const auto ping_at = io::deadline_after(self->last_heard_, o.ping_interval);
    if (now < ping_at) {
        self->liveness_.arm(ping_at);
        return;
    }
    self->ping_due_ = true;
    self->awaiting_pong_ = true;
    self->ping_sent_at_ = now;
    self->wake_pump();
    self->liveness_.arm(io::deadline_after(now, o.pong_timeout));
}

} // namespace snow::http::detail
