// snow/http/server/detail/read_body.cpp: a request's body: received whole before the handler
// runs, or, on a streamed() route, handed to the handler as it arrives (body_source).
#include <algorithm>
#include <cstring>

#include "snow/http/server/detail/body_source.hpp"
#include "snow/http/server/detail/connection.hpp"

namespace snow::http::detail {

namespace {
// What the server reads and drops of a streamed body its handler left unread; past it the
// connection closes instead, since a client that sends on would otherwise hold it.
constexpr std::size_t drain_bytes = 256 * 1024;
} // namespace

task<result<std::string_view>> connection::read_body(std::size_t head_bytes, errc& failure) {
    s_->message_bytes = head_bytes;
    const body_framing framing = s_->head.body;
    if (framing.kind == body_kind::none) co_return std::string_view{};

    if (s_->head.expect_continue && s_->input.size() == head_bytes) {
        // The client waits for this before sending the body (RFC 9110 §10.1.1).
        s_->output.append("HTTP/1.1 100 Continue\r\n\r\n");
        auto sent = co_await flush();
        if (!sent) co_return sent.error();
    }

    if (framing.kind == body_kind::content_length) {
        const std::size_t total = head_bytes + static_cast<std::size_t>(framing.content_length);
        while (s_->input.size() < total) {
            make_room(total, true);
            auto n = co_await receive(true);
            if (!n) co_return n.error();
            if (*n == 0) co_return make_error_code(snow::errc::eof);
        }
        s_->message_bytes = total;
        co_return std::string_view(s_->input.data() + head_bytes, framing.content_length);
    }

    // Chunked: decode in place. Offsets are from the front of the input, which may move
    // when the buffer is compacted. Decoded bytes sit at [head_bytes, head_bytes + decoded);
    // undecoded input at [undecoded, size).
    s_->chunked.reset();
    std::size_t decoded = 0;
    std::size_t undecoded = head_bytes;
    for (;;) {
        if (undecoded < s_->input.size()) {
            char* from = s_->input.data() + undecoded;
            auto step =
                s_->chunked.decode_in_place(std::span<char>(from, s_->input.size() - undecoded));
            if (step.failed()) {
                failure = step.error();
                co_return make_error_code(step.error());
            }
            std::memmove(s_->input.data() + head_bytes + decoded, step.data().data(),
                         step.data().size());
            decoded += step.data().size();
            undecoded += step.consumed();
            if (step.complete()) {
                s_->message_bytes = undecoded;
                co_return std::string_view(s_->input.data() + head_bytes, decoded);
            }
        }
        // Keep only the decoded body and the undecoded tail before reading more.
        const std::size_t tail = s_->input.size() - undecoded;
        std::memmove(s_->input.data() + head_bytes + decoded, s_->input.data() + undecoded, tail);
        undecoded = head_bytes + decoded;
        s_->input.truncate(undecoded + tail);
        auto n = co_await receive(true);
        if (!n) co_return n.error();
        if (*n == 0) co_return make_error_code(snow::errc::eof);
    }
}

const handler* connection::streamed_route() const {
    const auto match = owner_.owner.find(s_->head.method, s_->head.path);
    return match.status == 200 && match.target->streams_body() ? match.target : nullptr;
}

task<bool> connection::settle_body(body_source& source) {
    if (s_->peer_gone) co_return false; // hung up (watch_hangup): nobody to answer or drain
    if (!source.error() && !source.finished()) (void)co_await source.drain(drain_bytes);
    const std::error_code failure = source.error();
    if (!failure) co_return true;
    if (failure.category() == error_category()) {
        co_await reject(static_cast<errc>(failure.value()));
    } else if (failure == std::errc::timed_out) {
        ++owner_.owner.mutable_stats().timeouts;
        co_await reject(408, "the request body did not arrive in time");
    } else if (failure == std::errc::operation_canceled && owner_.draining) {
        // The drain deadline ended a read still waiting: the client may send it again.
        co_await reject(503, "the server is shutting down");
    }
    co_return false; // otherwise the client left, or the handler gave up: nobody to answer
}

} // namespace snow::http::detail
