// snow/http/server/server.cpp: binding, threads, signals, graceful stop.
#include "snow/http/server/server.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <optional>

#include "snow/http/server/detail/worker.hpp"
#include "snow/io/ring.hpp"
#include "snow/io/run.hpp"
#include "snow/io/signal.hpp"

namespace snow::http {

server::server() = default;
server::server(router routes) : router(std::move(routes)) {}
server::~server() = default;

server& server::use(middleware m) {
    middlewares_.push_back(std::move(m));
    return *this;
}

void server::attach(detail::worker* w) {
    std::lock_guard lock(workers_mutex_);
    workers_.push_back(w);
    if (stopping_) w->post_shutdown();
}

void server::detach(detail::worker* w) {
    std::lock_guard lock(workers_mutex_);
    workers_.erase(std::remove(workers_.begin(), workers_.end(), w), workers_.end());
}

void server::stop() {
    std::lock_guard lock(workers_mutex_);
    stopping_ = true;
    for (detail::worker* w : workers_) w->post_shutdown();
}

task<void> server::serve(net::tcp_listener listener, server_options options) {
    port_ = listener.local_address().port();
    detail::worker w(*this, std::move(listener), std::move(options));
    // The caller's cancellation stops this server gracefully, as stop() does. The worker
    // itself runs shielded from it: its join must not be cut short while connections
    // still refer to it.
    cancel_source* caller = co_await current_cancellation{};
    cancel_callback graceful;
    graceful.attach(
        caller,
        [](void* worker) noexcept { static_cast<detail::worker*>(worker)->begin_shutdown(); }, &w);
    co_await shielded(w.run());
}

namespace {

/// Serving 10,000 connections needs more descriptors than the usual soft limit of 1024;
/// raise it to the hard limit, as Go's runtime does at start.
void raise_descriptor_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        (void)::setrlimit(RLIMIT_NOFILE, &limit);
    }
}

/// Waits on the ring for SIGINT or SIGTERM, then stops the server.
task<void> watch_signals(io::signal_set* signals, server& srv) {
    auto received = co_await signals->next();
    if (received) {
        fmt::print(stderr, "snow: {} received, stopping\n",
                   *received == SIGINT ? "SIGINT" : "SIGTERM");
        srv.stop();
    }
}

/// One loop's share of run(): its listener and, on the first loop, the signal watcher,
/// which is joined before the loop ends.
task<void> serve_loop(server& srv, net::tcp_listener listener, server_options options,
                      io::signal_set* signals) {
    task_group watchers;
    if (signals != nullptr) watchers.spawn(watch_signals(signals, srv));
    co_await srv.serve(std::move(listener), std::move(options));
    watchers.cancel();
    co_await watchers.join();
}

result<net::address> bind_address(const server_options& options) {
    std::string_view host = options.host;
    if (host == "localhost") host = "127.0.0.1";
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    return net::address::from_ip(host, options.port);
}

} // namespace

int server::run(server_options options) {
    // Try io_uring before binding or announcing: where a seccomp profile or
    // kernel.io_uring_disabled blocks it, no loop could start, and "listening on" followed by
    // an exception would be a lie. One line that says why and what to change, then exit 1.
    if (auto probe = io::ring::create({.entries = 2}); !probe) {
        fmt::print(stderr, "{}\n", io::describe_ring_failure(probe.error()));
        return 1;
    }
    raise_descriptor_limit();
    auto local = bind_address(options);
    if (!local) {
        fmt::print(stderr, "snow: cannot listen on {}: {}\n", options.host,
                   local.error().message());
        return 1;
    }
    options.threads = std::max<std::size_t>(options.threads, 1);

    // Every loop gets its own listener on the same port; the kernel spreads connections.
    std::vector<net::tcp_listener> listeners;
    for (std::size_t i = 0; i < options.threads; ++i) {
        auto listener = net::tcp_listener::bind(
            *local, {.backlog = options.backlog, .reuse_port = options.threads > 1});
        if (!listener) {
            fmt::print(stderr, "snow: cannot listen on {}: {}\n", *local,
                       listener.error().message());
            return 1;
        }
        if (i == 0) local->set_port(listener->local_address().port());
        listeners.push_back(std::move(*listener));
    }
    port_ = local->port();

    // Signals are read on the ring rather than taken by a handler, so the stop runs as
    // ordinary loop code. Blocked before the loop threads start: they inherit the mask.
    // Destroying the set at the end of run() unblocks them again.
    std::optional<io::signal_set> signals;
    if (options.handle_signals) {
        auto created = io::signal_set::create({SIGINT, SIGTERM});
        if (created)
            signals.emplace(std::move(*created));
        else
            fmt::print(stderr, "snow: cannot take SIGINT and SIGTERM: {}\n",
                       created.error().message());
    }
    if (options.announce) {
        fmt::print("snow: listening on http://{}/ ({} thread{})\n", *local, options.threads,
                   options.threads == 1 ? "" : "s");
        std::fflush(stdout);
    }

    run_threads(options.threads, [&](std::size_t index) -> task<void> {
        return serve_loop(*this, std::move(listeners[index]), options,
                          index == 0 && signals ? &*signals : nullptr);
    });
    return 0;
}

} // namespace snow::http
