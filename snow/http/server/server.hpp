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
#include <optional>
#include <string>
#include <vector>

#include "snow/core/export.hpp"
#include "snow/core/task.hpp"
#include "snow/http/parser.hpp"
#include "snow/http/server/access_log.hpp"
#include "snow/http/server/metrics.hpp"
#include "snow/http/server/middleware.hpp"
#include "snow/http/server/router.hpp"
#include "snow/io/event_loop.hpp"
#include "snow/io/log.hpp"
#include "snow/io/log_file.hpp"
#include "snow/net/tcp_listener.hpp"
#include "snow/net/tls_context.hpp"

namespace snow::http {

/// How a server listens, its limits and deadlines, and the operations it offers. Every field
/// has a safe default: `app.run({.port = 8080})`.
struct server_options {
    std::string host = "127.0.0.1"; ///< the address to listen on: an IP literal or "localhost"
    std::uint16_t port = 8080;      ///< 0 picks a free port; see server::port()
    std::size_t threads = 1;        ///< loops, one per thread, sharing the port (SO_REUSEPORT)
    parser_limits limits{};         ///< head 64 KiB, body 1 MiB, target 8 KiB by default
    /// run() pins loop i to the i-th CPU the process may run on (taskset and cpusets narrow
    /// the list), so each loop keeps its CPU's caches. With loop i on CPU i the kernel is also
    /// told to hand a connection to the loop on the CPU that received it (net::steer_by_cpu),
    /// not by its hash. With more threads than CPUs nothing is pinned. Off by default: a
    /// library shares the machine with the rest of its program.
    bool pin_threads = false;
    /// The options of each loop run() starts: ring sizes, receive buffers, and the opt-in
    /// ring modes (loop.ring.sqpoll, loop.ring.napi_busy_poll_us; see io::ring_options). A
    /// serve() runs on the caller's loop and ignores them.
    io::loop_options loop{};

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
    int backlog = 4096; ///< listen(2)'s queue of connections not yet accepted
    /// run() stops gracefully on SIGINT and SIGTERM, and at once on a second one; SIGHUP and
    /// SIGUSR1 reopen the access log, and SIGHUP also reloads the TLS certificates
    /// (server::reload_tls).
    bool handle_signals = true;
    /// run() prints "snow: listening on http://HOST:PORT/" once bound; quiet by default.
    bool announce = false;

    /// HTTPS: the certificate (then its chain) and its private key, PEM files. Both empty:
    /// plain HTTP. One TLS context serves every loop, so session tickets work across them;
    /// the handshake must finish within header_timeout, like a request head.
    std::string tls_certificate_file{};
    std::string tls_key_file{}; ///< see tls_certificate_file
    /// More certificates for HTTPS, each shown to the clients whose SNI names it: the names
    /// are read from each certificate (net::tls_server_options::identities says how they
    /// match). tls_certificate_file's pair is shown when no name matches; if it is empty, the
    /// first of these is. server::reload_tls() reads every file again.
    std::vector<net::tls_identity> tls_identities{};
    /// TLS handshakes under way at once on each loop (each loop does its handshakes'
    /// cryptography on its own thread). A connection over the cap is not reset but waits in
    /// line, first come first served, so a burst of clients slows down instead of failing.
    /// It holds no TLS state meanwhile, and its header_timeout, stopped while it waits for
    /// the server, starts afresh when its turn comes (every handshake ahead of it is bounded
    /// by header_timeout, so the line moves). A graceful stop closes the line. At least 1.
    std::size_t max_concurrent_handshakes = 1024;

    /// Behind a load balancer that sends the PROXY protocol (HAProxy's; versions 1 and 2 are
    /// both accepted): every connection must begin with a PROXY header, read within
    /// header_timeout and before TLS or the first request, and the client it names is the
    /// peer that request::peer(), the access log and every other report of the peer show (a
    /// LOCAL or UNKNOWN header keeps the connection's own). A connection that begins with
    /// anything else is closed without a response and counted in server_stats::rejected.
    /// Turn it on only when the proxy is the one way in: a client that can reach the port
    /// directly may claim any address.
    bool proxy_protocol = false;

    // --- Operations: each is off unless asked for. The first run() or serve() of a server
    // sets them up; later calls keep what it set up. ---

    /// The level of the library's diagnostics on stderr; unset: SNOW_LOG_LEVEL, else info.
    std::optional<log::level> log_level{};
    /// The access log: empty for none, "-" for stderr, or a file appended to (see
    /// server::reopen_logs for logrotate). Lines are written without blocking the loops.
    std::string access_log{};
    /// The access log's line format: nginx's combined (the default), or one JSON object a line.
    http::access_log_format access_log_format = http::access_log_format::combined;
    /// Prometheus metrics (text format 0.0.4) at this path on the server's own port, as a
    /// GET route ("/metrics"); empty: not there.
    std::string metrics_path{};
    /// Prometheus metrics on a listener of their own ("127.0.0.1:9100"), at metrics_path or
    /// "/metrics", so they need not be public: run() only. Empty: none.
    std::string metrics_address{};
    /// GET /livez answers 200 while the process serves; GET /readyz answers 200, and 503
    /// once a graceful stop has begun, so a load balancer stops sending before it ends.
    bool health_checks = false;
    /// For a systemd service (run() only): serve on the socket a .socket unit passes (fd 3,
    /// LISTEN_FDS; host and port are then ignored), and tell systemd READY=1 once serving and
    /// STOPPING=1 when a stop begins ($NOTIFY_SOCKET, Type=notify). Without them, as usual.
    bool systemd = false;
};

/// Counters a test or a benchmark may read at any time (relaxed atomics).
struct server_stats {
    std::atomic<std::uint64_t> connections_accepted{0}; ///< since the server started
    std::atomic<std::uint64_t> connections_open{0};     ///< now
    std::atomic<std::uint64_t> requests{0};             ///< handed to a handler
    /// Malformed or over a limit: answered 4xx/5xx and closed; or, with proxy_protocol, closed
    /// unanswered for want of a valid PROXY header.
    std::atomic<std::uint64_t> rejected{0};
    std::atomic<std::uint64_t> timeouts{0};       ///< connections cut off by a deadline
    std::atomic<std::uint64_t> handler_errors{0}; ///< handlers that threw (answered 500)
    /// TLS connections now waiting for a place under max_concurrent_handshakes.
    std::atomic<std::uint64_t> handshakes_waiting{0};
};

namespace detail {
class worker;
class connection;
} // namespace detail

/// The server is its own router: register routes on it, then run it.
///     snow::http::server app;
///     app.get("/", [](const snow::http::request&) { return snow::http::text("hi"); });
///     return app.run({.port = 8080});
class SNOW_API server : public router {
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
    /// The server's counters, live.
    const server_stats& stats() const noexcept { return stats_; }
    /// True once stop() was called: /readyz answers 503 from then on.
    bool stopping() const noexcept { return stopping_.load(std::memory_order_relaxed); }

    /// Opens the access log's file again, after logrotate moved it (run() does this on SIGHUP
    /// and SIGUSR1). Loop thread only. Succeeds at once without a log file.
    task<result<void>> reopen_logs();
    /// Reads the TLS certificates and keys again (after a renewal) for the connections that
    /// begin from now on; connections already open keep the ones they began with. Session
    /// tickets issued before still resume: the new context takes the old one's ticket keys.
    /// run() does this on SIGHUP. If a file does not load, one line says which, the certificates
    /// from before stay in service, and the error (tls_errc::configuration) is returned. Safe from
    /// any thread; it reads the files on the calling one. Does nothing, successfully, for
    /// plain HTTP or before run() or serve() has loaded the certificates.
    result<void> reload_tls();
    /// The metrics that server_options asked for, once the server started; null otherwise.
    const http::metrics* metrics() const noexcept { return metrics_.get(); }

private:
    friend class detail::worker;
    friend class detail::connection;
    void attach(detail::worker* w);
    void detach(detail::worker* w);
    /// Sets up what the options ask for (operations.cpp), once. A failure is logged (it
    /// names the file) and returned: the server must not start.
    result<void> prepare(const server_options& options);
    const std::vector<middleware>& middlewares() const noexcept { return middlewares_; }
    server_stats& mutable_stats() noexcept { return stats_; }

    std::vector<middleware> middlewares_;
    server_stats stats_;
    std::atomic<std::uint16_t> port_{0};
    std::mutex workers_mutex_;
    std::vector<detail::worker*> workers_;
    std::atomic<bool> stopping_{false};

    std::mutex prepare_mutex_;
    bool prepared_ = false;
    std::unique_ptr<http::metrics> metrics_;
    std::shared_ptr<io::log_file> access_log_;
    /// Loads the certificates the options name, once, for prepare() (tls_reload.cpp).
    result<void> load_tls(const server_options& options);
    /// The TLS context for a connection beginning now (empty for plain HTTP).
    net::tls_context current_tls() const;
    mutable std::mutex tls_mutex_;        // guards tls_ and tls_files_: reload_tls() swaps them
    net::tls_context tls_;                // when the options name a certificate
    net::tls_server_options tls_files_{}; // what reload_tls() reads again
    std::string metrics_path_;            // the route label of the metrics endpoint
    std::atomic<bool> notify_systemd_{false};
};

} // namespace snow::http
