// snow/http/server/detail/body_source.cpp: reading a streamed request body from its connection.
#include "snow/http/server/detail/body_source.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include "snow/core/cancel.hpp"
#include "snow/http/server/detail/connection.hpp"

namespace snow::http::detail {

namespace {
// The most a piece can be: the room made after the head, which bounds the input buffer
// whatever the size of the body.
constexpr std::size_t piece_bytes = 64 * 1024;

void cancel_read(void* read_scope) noexcept {
    static_cast<cancel_source*>(read_scope)->request();
}

/// Sets a flag for as long as it lives, and clears it also when its frame is destroyed.
struct raised {
    explicit raised(bool& flag) noexcept : flag_(flag) { flag_ = true; }
    raised(const raised&) = delete;
    raised& operator=(const raised&) = delete;
    ~raised() { flag_ = false; }

private:
    bool& flag_;
};

parser_limits route_limits(parser_limits limits, std::size_t max_body_bytes) {
    if (max_body_bytes != 0)
        limits.max_body_bytes = std::min(limits.max_body_bytes, max_body_bytes);
    return limits;
}
} // namespace

body_source::body_source(connection& conn, std::size_t head_bytes, std::size_t max_body_bytes)
    : conn_(conn)
    , head_bytes_(head_bytes)
    , position_(head_bytes)
    , decoder_(route_limits(conn.owner_.options.limits, max_body_bytes))
    , chunked_(conn.s_->head.body.kind == body_kind::chunked) {
    const parser_limits limits = route_limits(conn.owner_.options.limits, max_body_bytes);
    if (!chunked_) {
        remaining_ = conn.s_->head.body.content_length;
        over_limit_ = remaining_ > limits.max_body_bytes;
    }
    // The room for every piece to come, made now: the input never moves again while the
    // handler runs, so views into the head (the route's captures) stay valid.
    conn.make_room(conn.s_->input.size() + piece_bytes, true);
}

result<std::string_view> body_source::fail(std::error_code error) noexcept {
    error_ = error;
    return error;
}

void body_source::finish() noexcept {
    // What followed the body (the next requests) moves up to the head.
    net::receive_buffer& input = conn_.s_->input;
    const std::size_t rest = input.size() - position_;
    std::memmove(input.data() + head_bytes_, input.data() + position_, rest);
    input.truncate(head_bytes_ + rest);
    position_ = head_bytes_;
    finished_ = true;
    if (finish_hook_ != nullptr) std::exchange(finish_hook_, nullptr)(finish_context_);
}

task<result<void>> body_source::send_continue() {
    // Pipelined responses went out before the handler started, so this one comes in order.
    conn_.deadline_.arm(conn_.owner_.options.write_timeout);
    auto sent = co_await conn_.stream_.send_all("HTTP/1.1 100 Continue\r\n\r\n");
    conn_.deadline_.disarm();
    co_return sent;
}

task<result<std::size_t>> body_source::receive() {
    net::receive_buffer& input = conn_.s_->input;
    auto room = conn_.make_room(input.size() + piece_bytes, true);
    std::size_t wanted = std::min(room.size(), piece_bytes);
    // A Content-Length body is read no further than its end: what follows stays in the
    // socket for the next request.
    if (!chunked_) wanted = static_cast<std::size_t>(std::min<std::uint64_t>(wanted, remaining_));
    // Each read has the body deadline of its own: a client may take as long as it likes in
    // all, but not stall.
    conn_.deadline_.arm(conn_.owner_.options.body_timeout);
    auto n = co_await conn_.stream_.recv(room.first(wanted));
    conn_.deadline_.disarm();
    if (n) input.commit(*n);
    co_return n;
}

task<result<std::string_view>> body_source::next() {
    if (error_) co_return error_;
    if (finished_) co_return std::string_view{};
    net::receive_buffer& input = conn_.s_->input;
    if (!started_) {
        started_ = true;
        if (conn_.s_->head.expect_continue && input.size() == head_bytes_) {
            // The client waits for this before it sends the body (RFC 9110 §10.1.1).
            auto sent = co_await with_cancellation(send_continue(), conn_.io_scope);
            if (!sent) co_return fail(sent.error());
        }
    }
    for (;;) {
        if (chunked_ ? decoder_.done() : remaining_ == 0) {
            finish();
            co_return std::string_view{};
        }
        if (position_ < input.size()) {
            const std::string_view unread(input.data() + position_, input.size() - position_);
            if (!chunked_) {
                const auto n =
                    static_cast<std::size_t>(std::min<std::uint64_t>(unread.size(), remaining_));
                position_ += n;
                remaining_ -= n;
                co_return unread.substr(0, n);
            }
            const decode_result step = decoder_.decode(unread);
            position_ += step.consumed();
            if (step.failed()) co_return fail(step.error_code());
            if (!step.data().empty()) co_return step.data();
            continue;
        }
        // Everything received has been handed out: the next piece takes its place.
        input.truncate(head_bytes_);
        position_ = head_bytes_;
        // The read ends with the connection (its deadline, a hard stop) and also with whoever
        // awaits next(): the handler's cancellation reaches it, and with it a graceful stop's
        // drain deadline, a client gone, or the handler's own timeout.
        cancel_source* caller = co_await current_cancellation{};
        cancel_source read_scope(&conn_.io_scope);
        cancel_callback caller_cancels;
        if (caller != nullptr) caller_cancels.attach(caller, &cancel_read, &read_scope);
        result<std::size_t> n = std::size_t{0};
        {
            const raised reading(reading_); // the connection's hangup watcher asks
            n = co_await with_cancellation(receive(), read_scope);
        }
        if (!n) {
            if (conn_.deadline_.expired())
                co_return fail(std::make_error_code(std::errc::timed_out));
            co_return fail(n.error());
        }
        if (*n == 0) co_return fail(make_error_code(snow::errc::eof));
    }
}

task<bool> body_source::drain(std::size_t max_bytes) {
    // A client that waits for 100 Continue may never send the body: nothing to drain.
    if (!started_ && conn_.s_->head.expect_continue) co_return false;
    const std::size_t buffered = conn_.s_->input.size() - position_;
    if (!chunked_ && remaining_ > buffered + max_bytes) co_return false;
    std::size_t dropped = 0;
    while (!finished_ && dropped <= max_bytes) {
        auto piece = co_await next();
        if (!piece) co_return false;
        dropped += piece->size();
    }
    co_return finished_;
}

} // namespace snow::http::detail
