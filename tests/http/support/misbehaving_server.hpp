// tests/http/support/misbehaving_server.hpp: loopback servers for the client's tests that
// break the rules on purpose: never answer, trickle, truncate, send garbage, close pooled
// connections. Each is a snow tcp_listener on 127.0.0.1:0 whose accepted connections run a
// behaviour coroutine; stop() cancels and joins them all. threaded_server runs one on its
// own thread and loop, for tests that block (on a child process).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <future>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include <fmt/format.h>

#include "snow/io/run.hpp"
#include "snow/net/tcp_listener.hpp"
#include "snow/net/unix_socket.hpp"
#include "snow/sync/event.hpp"
#include "snow/time/sleep.hpp"

namespace snow::testing {

/// One accepted connection, as a behaviour sees it.
class peer {
public:
    explicit peer(net::tcp_stream stream) noexcept : stream_(std::move(stream)) {}

    net::tcp_stream& stream() noexcept { return stream_; }

    /// The next request, head and Content-Length body; nothing at EOF or on an error.
    task<std::optional<std::string>> read_request() {
        for (;;) {
            if (auto end = pending_.find("\r\n\r\n"); end != std::string::npos) {
                std::size_t body = 0;
                const std::string_view head(pending_.data(), end);
                constexpr std::string_view length_field = "\r\nContent-Length: ";
                if (auto at = head.find(length_field); at != std::string_view::npos)
                    body = std::stoul(std::string(head.substr(at + length_field.size())));
                const std::size_t total = end + 4 + body;
                if (pending_.size() >= total) {
                    std::string request = pending_.substr(0, total);
                    pending_.erase(0, total);
                    co_return request;
                }
            }
            std::array<std::byte, 4096> buffer{};
            auto n = co_await stream_.recv(buffer);
            if (!n || *n == 0) co_return std::nullopt;
            pending_.append(net::as_text(std::span(buffer).first(*n)));
        }
    }

    /// Sends all of `text`; false if the client has gone.
    task<bool> send(std::string text) {
        auto sent = co_await stream_.send_all(std::string_view(text));
        co_return sent.has_value();
    }

    /// Waits until the client closes its side (or the server is stopped).
    task<void> wait_for_close() {
        std::array<std::byte, 4096> buffer{};
        for (;;) {
            auto n = co_await stream_.recv(buffer);
            if (!n || *n == 0) co_return;
        }
    }

private:
    net::tcp_stream stream_;
    std::string pending_;
};

/// What a misbehaving_server's connections share: what to answer, what happened. Kept alive
/// by every task that uses it, so a server destroyed without stop() (a failed REQUIRE)
/// leaves nothing dangling.
struct server_state {
    using behavior = task<void> (*)(peer& client, server_state& server);

    server_state(behavior b, net::tcp_listener l) : run(b), listener(std::move(l)) {}

    std::string canned;                 ///< the response most behaviours send
    std::size_t accepted = 0;           ///< connections accepted
    std::size_t requests = 0;           ///< requests read (behaviours count them)
    std::string last_request;           ///< the text of the last request read
    std::chrono::milliseconds pace{20}; ///< between trickled bytes

    behavior run;
    net::tcp_listener listener;
    cancel_source scope;
    event stopped;
    std::size_t live = 0;
    bool accepting = true;

    void maybe_stopped() {
        if (!accepting && live == 0) stopped.set();
    }
};

class misbehaving_server {
public:
    using behavior = server_state::behavior;

    /// Binds `local` and starts accepting on the current loop.
    explicit misbehaving_server(behavior b, std::string_view local = "127.0.0.1:0")
        : misbehaving_server(b, net::tcp_listener::bind(local).value()) {}
    /// Accepts on `listener` instead, such as a Unix socket's (net::listen_unix).
    misbehaving_server(behavior b, net::tcp_listener listener)
        : state_(std::make_shared<server_state>(b, std::move(listener))) {
        spawn(with_cancellation(accept_loop(state_), state_->scope));
    }
    misbehaving_server(const misbehaving_server&) = delete;
    misbehaving_server& operator=(const misbehaving_server&) = delete;
    ~misbehaving_server() { state_->scope.request(); }

    server_state& state() noexcept { return *state_; }
    std::uint16_t port() const noexcept { return state_->listener.local_address().port(); }
    std::string url(std::string_view target = "/") const {
        return fmt::format("http://127.0.0.1:{}{}", port(), target);
    }

    /// Stops accepting, cancels every connection's behaviour and waits for them all.
    task<void> stop() {
        state_->scope.request();
        if (state_->accepting || state_->live > 0) (void)co_await state_->stopped.wait();
    }

private:
    static task<void> accept_loop(std::shared_ptr<server_state> state) {
        for (;;) {
            auto stream = co_await state->listener.accept();
            if (!stream) break;
            ++state->accepted;
            ++state->live;
            spawn(with_cancellation(serve(state, std::move(*stream)), state->scope));
        }
        state->accepting = false;
        state->maybe_stopped();
    }

    static task<void> serve(std::shared_ptr<server_state> state, net::tcp_stream stream) {
        peer client(std::move(stream));
        co_await state->run(client, *state);
        --state->live;
        state->maybe_stopped();
    }

    std::shared_ptr<server_state> state_;
};

// ---------------------------------------------------------------------------------------
// Behaviours. Every await is a statement of its own: GCC 12 mislays coroutine frames for
// some co_await expressions inside if and while conditions.

/// Reads requests and answers each with `canned`, keeping the connection open.
inline task<void> answer_canned(peer& client, server_state& server) {
    for (;;) {
        auto request = co_await client.read_request();
        if (!request) co_return;
        ++server.requests;
        server.last_request = *request;
        const bool sent = co_await client.send(server.canned);
        if (!sent) co_return;
    }
}

/// Answers one request with `canned`, then closes the connection.
inline task<void> answer_canned_then_close(peer& client, server_state& server) {
    auto request = co_await client.read_request();
    if (request) {
        ++server.requests;
        server.last_request = *request;
        (void)co_await client.send(server.canned);
    }
    (void)co_await client.stream().shutdown(SHUT_WR);
    co_await client.wait_for_close();
}

/// Reads the request and never answers; holds the connection until the client leaves.
inline task<void> never_answer(peer& client, server_state& server) {
    auto request = co_await client.read_request();
    if (request) ++server.requests;
    co_await client.wait_for_close();
}

/// Accepts and never even reads.
inline task<void> silent(peer& client, server_state&) {
    co_await client.wait_for_close();
}

/// Sends `canned` one byte per `pace`, then keeps trickling spaces... until the client
/// leaves: a response that never completes, however long one waits.
inline task<void> trickle(peer& client, server_state& server) {
    auto request = co_await client.read_request();
    if (!request) co_return;
    ++server.requests;
    for (std::size_t i = 0;; ++i) {
        const char byte = i < server.canned.size() ? server.canned[i] : 'x';
        const bool sent = co_await client.send(std::string(1, byte));
        if (!sent) co_return;
        const bool slept = co_await sleep(server.pace);
        if (!slept) co_return; // stopped
    }
}

/// Answers the first request on each connection with `canned` (keep-alive), then reads
/// the next request and closes without a word, as a server whose idle timeout fired just
/// as the request arrived.
inline task<void> close_after_first(peer& client, server_state& server) {
    auto request = co_await client.read_request();
    if (request) {
        ++server.requests;
        const bool sent = co_await client.send(server.canned);
        if (!sent) co_return;
    }
    (void)co_await client.read_request();
}

/// Runs a misbehaving_server on a thread of its own, for tests that block.
class threaded_server {
public:
    /// With `unix_socket`, it listens on a Unix socket at that path rather than on TCP.
    explicit threaded_server(misbehaving_server::behavior b, std::string canned = {},
                             std::chrono::milliseconds pace = std::chrono::milliseconds(20),
                             std::string unix_socket = {}) {
        std::promise<std::uint16_t> bound;
        auto port = bound.get_future();
        thread_ = std::thread([this, b, &bound, pace, canned = std::move(canned),
                               unix_socket = std::move(unix_socket)]() mutable {
            snow::run(run(this, b, std::move(canned), pace, std::move(unix_socket), &bound));
        });
        port_ = port.get();
    }
    threaded_server(const threaded_server&) = delete;
    threaded_server& operator=(const threaded_server&) = delete;
    ~threaded_server() {
        loop_->post([this] { stop_.set(); });
        thread_.join();
    }

    std::uint16_t port() const noexcept { return port_; }
    std::string url(std::string_view target = "/") const {
        return fmt::format("http://127.0.0.1:{}{}", port_, target);
    }

private:
    static task<void> run(threaded_server* self, misbehaving_server::behavior b, std::string canned,
                          std::chrono::milliseconds pace, std::string unix_socket,
                          std::promise<std::uint16_t>* bound) {
        misbehaving_server server(b, unix_socket.empty()
                                         ? net::tcp_listener::bind("127.0.0.1:0").value()
                                         : net::listen_unix(unix_socket).value());
        server.state().canned = std::move(canned);
        server.state().pace = pace;
        self->loop_ = io::event_loop::current().handle();
        bound->set_value(server.port());
        co_await self->stop_.wait();
        co_await server.stop();
    }

    std::thread thread_;
    std::shared_ptr<io::loop_handle> loop_;
    event stop_;
    std::uint16_t port_ = 0;
};

} // namespace snow::testing
