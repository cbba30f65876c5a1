// snow/http/server/server.hpp: the HTTP/1.1 server. One loop per thread, each with its own
// SO_REUSEPORT listener; connections are coroutines that read, parse, route, run the
// handler and write, with keep-alive, pipelining, limits and deadlines. SIGINT/SIGTERM
// drain it gracefully.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "snow/core/task.hpp"
#include "snow/http/parser.hpp"
#include "snow/http/server/middleware.hpp"
#include "snow/http/server/router.hpp"
#include "snow/net/tcp_listener.hpp"

namespace snow::http {

struct server_options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8080; ///< 0 picks a free port; see server::port()
    std::size_t threads = 1;   ///< loops, one per thread, sharing the port (SO_REUSEPORT)
    parser_limits limits{};    ///< head 64 KiB, body 1 MiB, target 8 KiB by default

    /// From the connection's first byte or its start (so silent connections are cut off
    /// too) until a request head is complete: what stops slowloris.
    std::chrono::milliseconds header_timeout = std::chrono::seconds(10);
    /// To receive the whole body once the head is in.
    std::chrono::milliseconds body_timeout = std::chrono::seconds(30);
    /// A keep-alive connection may wait this long for its next request.
    std::chrono::milliseconds idle_timeout = std::chrono::seconds(60);
    /// For a response to leave, so a client that never reads cannot hold a connection.
    std::chrono::milliseconds write_timeout = std::chrono::seconds(30);
    /// On stop, requests in flight get this long to finish before they are cancelled.
    std::chrono::milliseconds shutdown_timeout = std::chrono::seconds(10);

    /// Open connections over all threads; at the limit the server stops accepting (the
    /// kernel's backlog holds newcomers) until one closes.
    std::size_t max_connections = 16384;
    int backlog = 4096;
    /// run() stops gracefully on SIGINT and SIGTERM.
    bool handle_signals = true;
    /// run() prints "snow: listening on http://HOST:PORT/" once bound; quiet by default.
    bool announce = false;
};

/// Counters a test or a benchmark may read at any time (relaxed atomics).
struct server_stats {
    std::atomic<std::uint64_t> connections_accepted{0};
    std::atomic<std::uint64_t> connections_open{0};
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint64_t> rejected{
        0}; ///< malformed or over a limit: answered 4xx/5xx and closed
    std::atomic<std::uint64_t> timeouts{0}; ///< connections cut off by a deadline
    std::atomic<std::uint64_t> handler_errors{0};
};

namespace detail {
class worker;
class connection;
} // namespace detail

/// The server is its own router: register routes on it, then run it.
///     snow::http::server app;
///     app.get("/", [](const snow::http::request&) { return snow::http::text("hi"); });
///     return app.run({.port = 8080});
class server : public router {
public:
    server();
    /// A server for routes built apart (a router returned by a function, shared by tests).
    explicit server(router routes);
    server(const server&) = delete;
    server& operator=(const server&) = delete;
    ~server();

    /// Adds a hook around every handler, in order.
    server& use(middleware m);

    /// Binds, serves until stop() or SIGINT/SIGTERM, drains, and returns 0; returns 1 if
    /// io_uring is unavailable or it cannot bind (one line on stderr says why), before it
    /// announces anything.
    int run(server_options options = {});

    /// Serves `listener` on the calling thread's loop until stop(): for tests and for
    /// programs that run their own loop.
    task<void> serve(net::tcp_listener listener, server_options options);
    /// The same with default options. Not a defaulted argument: GCC 12 destroys a defaulted
    /// class-type argument of a coroutine wrongly when the call sits inside co_await.
    task<void> serve(net::tcp_listener listener) {
        return serve(std::move(listener), server_options{});
    }

    /// Begins a graceful stop on every loop: stop accepting, close idle connections, let
    /// requests in flight finish within shutdown_timeout. Safe from any thread and from a
    /// signal-handling task.
    void stop();

    /// The bound port, once run() or serve() has started.
    std::uint16_t port() const noexcept { return port_.load(); }
    const server_stats& stats() const noexcept { return stats_; }

private:
    friend class detail::worker;
    friend class detail::connection;
    void attach(detail::worker* w);
    void detach(detail::worker* w);
    const std::vector<middleware>& middlewares() const noexcept { return middlewares_; }
    server_stats& mutable_stats() noexcept { return stats_; }

    std::vector<middleware> middlewares_;
    server_stats stats_;
    std::atomic<std::uint16_t> port_{0};
    std::mutex workers_mutex_;
    std::vector<detail::worker*> workers_;
    std::atomic<bool> stopping_{false};
};

} // namespace snow::http
