// snow/http/server/detail/connection_loop.cpp: a connection's life between requests: its first
// steps (PROXY header, TLS), then the idle wait for each request's first bytes. Its frame is
// what an idle keep-alive connection costs besides the connection, so it holds little.
#include <span>
#include <utility>

#include "snow/http/server/detail/connection.hpp"
#include "snow/io/run.hpp"

namespace snow::http::detail {

namespace {
constexpr int pooled_attempts = 4;
} // namespace

/// The wait for an idle connection's next request: a pooled receive, awaited in the run
/// frame with no coroutine of its own, whose result is taken before the frame goes on.
class connection::idle_receive {
public:
    /// For a connection whose receive_pool() is not null.
    explicit idle_receive(connection& c) noexcept
        : c_(c)
        , op_(c.stream_.tcp().recv_pooled(*c.receive_pool())) {
        (void)std::move(op_).interruptible(c.idle_wait);
    }
    idle_receive(const idle_receive&) = delete;
    idle_receive& operator=(const idle_receive&) = delete;

    bool await_ready() const noexcept { return false; }
    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) noexcept {
        return op_.await_suspend(waiter);
    }
    idle_outcome await_resume() { return c_.first_bytes(op_.await_resume()); }

private:
    connection& c_;
    io::recv_pooled_op op_;
};

task<void> connection::run(std::unique_ptr<connection> self) {
    // One task awaited at one place, and the idle wait: GCC gives every await of a frame
    // room of its own, and this frame lives as long as the connection.
    task<bool> next = self->open();
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
        // Idle: nothing of a request received and nothing left to send. The wait selects a
        // buffer from the loop's pool only when bytes arrive, and the exchange state is
        // taken only then, so an idle connection holds neither. A graceful stop interrupts
        // only this wait (worker::begin_shutdown sets `draining`, then interrupts the waits
        // in flight): a request whose bytes completed it first is still served.
        idle_outcome woke = idle_outcome::received; // bytes that came after a PROXY header
        if (self->s_ == nullptr) {
            if (self->owner_.draining) co_return;
            woke = idle_outcome::unpooled;
            if (self->receive_pool() != nullptr) woke = co_await idle_receive(*self);
        }
        if (woke == idle_outcome::closed) co_return;
        next = woke == idle_outcome::received ? self->exchange() : self->receive_unpooled();
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
        // first attempt was the idle_receive's).
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
