// snow/http/server/detail/connection_loop.cpp: a connection's life between requests: its first
// steps (PROXY header, TLS), then the idle wait for each request's first bytes. An idle
// keep-alive connection over plain TCP waits parked, with no coroutine frame at all.
#include <exception>
#include <span>
#include <utility>

#include "snow/http/server/detail/connection.hpp"
#include "snow/io/log.hpp"
#include "snow/io/run.hpp"

namespace snow::http::detail {

namespace {
constexpr int pooled_attempts = 4;
} // namespace

task<void> connection::run(std::unique_ptr<connection> self, first_step first) {
    // One task awaited at one place: GCC gives every await of a frame room of its own.
    task<bool> next;
    if (first == first_step::open) {
        next = self->open();
    } else if (first == first_step::exchange) {
        next = self->exchange();
    } else {
        next = self->receive_unpooled();
    }
    for (;;) {
        const bool more = co_await std::move(next);
        next = task<bool>{}; // its frame goes now, not when the next step replaces it
        if (!more) {
            // A 101 response: the connection is handed over once the exchange's frame is
            // gone, since an upgraded connection lives long and should not keep all of an
            // exchange's locals while it does.
            if (self->s_ == nullptr || self->s_->upgrade == nullptr) co_return;
            next = self->take_over();
            continue;
        }
        if (self->s_ != nullptr) { // bytes that came after a PROXY header
            next = self->exchange();
            continue;
        }
        // Idle: nothing of a request received and nothing left to send. A graceful stop
        // closes it (worker::begin_shutdown sets `draining`, then interrupts the idle waits
        // in flight: a request whose bytes completed one first is still served).
        if (self->owner_.draining) co_return;
        if (self->receive_pool() == nullptr) {
            next = self->receive_unpooled();
            continue;
        }
        // The wait selects a buffer from the loop's pool only when bytes arrive, and the
        // exchange state is taken only then; the connection waits with no frame either.
        park(std::move(self));
        co_return;
    }
}

void connection::park(std::unique_ptr<connection> self) {
    connection& c = *self;
    // Cancelled already (a deadline that passed, a hard stop): `self` closes it.
    parked_receive& receive = c.pooled_receive(*c.receive_pool());
    if (!receive.start(&c.io_scope, &c.idle_wait, &connection::woken)) return;
    c.parked_ = true;
    c.owner_.park();
    (void)self.release(); // the worker's until woken() takes it back
}

connection::parked_receive& connection::pooled_receive(io::buffer_pool& pool) {
    if (!parked_receive_) parked_receive_.emplace(stream_.tcp().native_handle(), pool, *this);
    return *parked_receive_;
}

void connection::woken(io::recv_pooled_op& op) noexcept {
    connection& c = static_cast<parked_receive&>(op).owner;
    std::unique_ptr<connection> self(&c);
    c.parked_ = false;
    c.owner_.unpark();
    try {
        const idle_outcome outcome = c.first_bytes(op.take());
        if (outcome == idle_outcome::closed) return;
        const first_step step =
            outcome == idle_outcome::received ? first_step::exchange : first_step::receive_unpooled;
        c.owner_.serve(with_cancellation(run(std::move(self), step), c.io_scope));
    } catch (const std::exception& e) { // no memory for its exchange or its frame
        log::error("connection closed: {}", e.what());
    }
}

task<bool> connection::open() {
    const server_options& options = owner_.options;
    deadline_.arm(options.header_timeout); // a connection that sends nothing is cut off too
    if (options.proxy_protocol) {
        const bool accepted = co_await accept_proxy_header();
        if (!accepted) co_return false;
    }
    if (owner_.tls) {
        // Under the head deadline just armed: a half ClientHello is cut off like a half head.
        // Bytes that came after a PROXY header begin the handshake.
        const auto early = s_ ? s_->input.bytes() : std::span<const std::byte>{};
        auto secure = co_await owner_.accept_tls(std::move(stream_.tcp()), early, deadline_);
        if (s_) owner_.give_back(std::move(s_));
        if (!secure) {
            if (deadline_.expired()) ++owner_.owner.mutable_stats().timeouts;
            co_return false;
        }
        stream_ = std::move(*secure);
    }
    co_return true;
}

connection::idle_outcome connection::first_bytes(result<io::pooled_bytes> first) {
    if (first && first->empty()) return idle_outcome::closed; // the client closed
    if (first) {
        s_ = owner_.take_state();
        s_->input.append(first->bytes());
        return idle_outcome::received;
    }
    if (first.error() == std::errc::no_buffer_space) return idle_outcome::unpooled;
    if (deadline_.expired()) ++owner_.owner.mutable_stats().timeouts;
    return idle_outcome::closed;
}

task<bool> connection::receive_unpooled() {
    if (io::buffer_pool* pool = receive_pool()) {
        // The pool runs dry only for a moment, when more receives complete in one turn than
        // it has buffers; the bytes wait in the socket, so try again on the next turns (the
        // first attempt was the parked wait's).
        for (int attempt = 1; attempt < pooled_attempts; ++attempt) {
            co_await yield();
            if (owner_.draining) co_return false;
            auto first = co_await stream_.tcp().recv_pooled(*pool).interruptible(idle_wait);
            const idle_outcome outcome = first_bytes(std::move(first));
            if (outcome == idle_outcome::closed) co_return false;
            if (outcome == idle_outcome::received) co_return co_await exchange();
        }
    }
    // No pool, or it stayed empty: wait with a buffer of its own.
    if (owner_.draining) co_return false;
    if (stream_.secure()) {
        // Over TLS, wait for the first bytes before taking the exchange state or any buffer,
        // so that an idle TLS connection holds neither.
        auto readable = co_await stream_.wait_readable(&idle_wait);
        if (!readable) {
            if (deadline_.expired()) ++owner_.owner.mutable_stats().timeouts;
            co_return false;
        }
    }
    s_ = owner_.take_state();
    auto n = co_await stream_.recv(make_room(1, false), &idle_wait);
    if (n && *n > 0) {
        s_->input.commit(*n);
        co_return co_await exchange();
    }
    if (deadline_.expired()) ++owner_.owner.mutable_stats().timeouts;
    // Over TLS, 0 is the client's close_notify: answer it with ours before the FIN (RFC 8446
    // §6.1), or the client sees a truncated close.
    if (n && stream_.secure()) (void)co_await stream_.shutdown();
    co_return false;
}

} // namespace snow::http::detail
