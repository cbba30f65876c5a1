// snow/http/server/detail/worker.cpp: accepting, the connection list, exchange-state reuse,
// and the graceful stop with its drain deadline.
#include "snow/http/server/detail/worker.hpp"

#include <chrono>
#include <exception>
#include <system_error>
#include <type_traits>

#include "snow/http/server/detail/connection.hpp"
#include "snow/io/log.hpp"
#include "snow/time/sleep.hpp"

namespace snow::http::detail {

namespace {
constexpr std::size_t max_spare_states = 64;
constexpr std::size_t max_spare_buffer_bytes = 16 * 1024;
} // namespace

worker::worker(server& owner_server, net::tcp_listener listener, server_options opts)
    : owner(owner_server)
    , options(std::move(opts))
    , handshakes(options.max_concurrent_handshakes, owner_server.mutable_stats().handshakes_waiting)
    , listener_(std::move(listener)) {
    drain_timer_.context = this;
    drain_timer_.on_expire = &worker::drain_deadline_passed;
}

worker::~worker() {
    owner.detach(this); // stop() must not reach a worker that is gone
    *alive_ = false;
    if (drain_timer_.queued()) timer_loop_->timers().remove(drain_timer_);
    // Parked connections belong to no task: they go here, their waits cancelled and reaped
    // (no completion runs a connection's code meanwhile: operation::start defers it).
    for (connection* c = connections_; c != nullptr;) {
        connection* next = c->next;
        if (c->parked()) delete c;
        c = next;
    }
}

void worker::add(connection* c) noexcept {
    c->next = connections_;
    if (connections_) connections_->prev = c;
    connections_ = c;
    // connections_open was counted at accept
}

void worker::remove(connection* c) noexcept {
    (c->prev ? c->prev->next : connections_) = c->next;
    if (c->next) c->next->prev = c->prev;
    --owner.mutable_stats().connections_open;
}

void worker::unpark() noexcept {
    if (--parked_ == 0) unparked_all_.set();
}

std::unique_ptr<exchange_state> worker::take_state() {
    if (spare_states_.empty()) return std::make_unique<exchange_state>(options.limits);
    auto state = std::move(spare_states_.back());
    spare_states_.pop_back();
    return state;
}

void worker::give_back(std::unique_ptr<exchange_state> state) noexcept {
    if (spare_states_.size() >= max_spare_states) return;
    // A request that needed big buffers does not keep them: spares stay small.
    auto trim = [](auto& buffer) {
        if (buffer.capacity() > max_spare_buffer_bytes)
            std::decay_t<decltype(buffer)>().swap(buffer);
    };
    state->input.clear();
    state->input.shrink_if_over(max_spare_buffer_bytes);
    trim(state->output);
    trim(state->side);
    state->parser.reset();
    state->message_bytes = 0;
    state->body_unread = false;
    state->output.clear();
    state->side_bytes = 0;
    state->peer_gone = state->write_failed = state->head_parsed = false;
    spare_states_.push_back(std::move(state));
}

task<result<net::stream>> worker::accept_tls(net::tcp_stream tcp, std::span<const std::byte> early,
                                             deadline& limit) {
    if (!handshakes.try_enter()) {
        // The line is the server's doing, not the client's: its head deadline stops while it
        // waits (each handshake ahead is bounded by header_timeout, so the line moves), and
        // starts afresh when its turn comes. A graceful stop ends the wait.
        limit.disarm();
        const bool entered = co_await handshakes.wait_turn();
        if (!entered) co_return make_error_code(std::errc::operation_canceled);
        limit.arm(options.header_timeout);
    }
    struct place {
        handshake_gate& gate;
        ~place() { gate.leave(); } // also when the frame is destroyed mid-handshake
    };
    const place held{handshakes};
    co_return co_await net::stream::accept_tls(std::move(tcp), owner.current_tls(), early);
}

task<void> worker::accept_loop() {
    server_stats& stats = owner.mutable_stats();
    auto last_warning = io::clock::time_point{};
    while (!draining) {
        auto conn = co_await listener_.accept();
        if (!conn) {
            const auto error = conn.error();
            if (error == std::errc::operation_canceled) break;
            if (error == std::errc::too_many_files_open ||
                error == std::errc::too_many_files_open_in_system ||
                error == std::errc::no_buffer_space || error == std::errc::not_enough_memory) {
                // Out of descriptors: pause accepting instead of spinning on the error.
                if (io::clock::now() - last_warning > std::chrono::seconds(1)) {
                    log::warn("accept paused: {}", error.message());
                    last_warning = io::clock::now();
                }
                const bool slept = co_await sleep(std::chrono::milliseconds(50));
                if (!slept) break;
            }
            continue;
        }
        // At the limit the newcomer waits, unserved, until a place frees up; behind it the
        // kernel's backlog holds the rest.
        bool stopped = false;
        while (stats.connections_open.load(std::memory_order_relaxed) >= options.max_connections) {
            const bool slept = co_await sleep(std::chrono::milliseconds(10));
            if (!slept) {
                stopped = true;
                break;
            }
        }
        if (stopped) break;
        ++stats.connections_open;
        ++stats.connections_accepted;
        auto peer = conn->peer_address();
        auto served =
            std::make_unique<connection>(*this, std::move(*conn), peer.value_or(net::address{}));
        connection& c = *served;
        // An exception escaping it is reported by the group, and the connection closed.
        serve(with_cancellation(connection::run(std::move(served), connection::first_step::open),
                                c.io_scope));
    }
    listener_ = net::tcp_listener{}; // refuse new connections while draining
}

namespace {
/// After the drain deadline, cancelled handlers get this long to have their answers sent.
constexpr auto drain_grace = std::chrono::seconds(1);
} // namespace

void worker::drain_deadline_passed(io::timer_node* node) noexcept {
    auto* self = static_cast<worker*>(node->context);
    if (!self->handlers_stopped_) {
        // Handlers still running are cancelled; what they answer is still sent.
        self->handlers_stopped_ = true;
        self->handlers_stop.request();
        node->deadline = io::deadline_after(self->timer_loop_->now(), drain_grace);
        self->timer_loop_->timers().push(*node);
        return;
    }
    self->hard_stop.request();
}

void worker::begin_shutdown() {
    if (draining) return;
    draining = true;
    accept_scope_.request();
    handshakes.close_line(); // connections that have not begun their handshake are closed
    for (connection* c = connections_; c != nullptr;) {
        connection* next = c->next;
        c->idle_wait.interrupt();
        if (cancel_source* stop = c->streaming_stop()) stop->request();
        c = next;
    }
    timer_loop_ = &io::event_loop::current();
    drain_timer_.deadline = io::deadline_after(timer_loop_->now(), options.shutdown_timeout);
    timer_loop_->timers().push(drain_timer_);
}

void worker::post_shutdown() {
    loop_->post([this, alive = alive_] {
        if (*alive) begin_shutdown();
    });
}

task<void> worker::run() {
    loop_ = io::event_loop::current().handle();
    owner.attach(this);
    co_await with_cancellation(accept_loop(), accept_scope_);
    begin_shutdown();
    // The parked connections first: begin_shutdown interrupted their waits, and one whose
    // request had arrived goes on as a task, which the join below waits for.
    while (parked_ > 0) {
        unparked_all_.reset();
        (void)co_await unparked_all_.wait();
    }
    co_await connection_tasks_.join();
    if (drain_timer_.queued()) timer_loop_->timers().remove(drain_timer_);
}

} // namespace snow::http::detail
