// snow/http/server/server.cpp: binding, threads, signals, graceful stop.
#include "snow/http/server/server.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <optional>

#include "snow/http/server/detail/worker.hpp"
#include "snow/io/cpu_affinity.hpp"
#include "snow/io/ring.hpp"
#include "snow/io/run.hpp"
#include "snow/io/signal.hpp"
#include "snow/net/reuseport.hpp"
#include "snow/net/systemd.hpp"

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
    if (!stopping_.exchange(true) && notify_systemd_.load()) net::systemd::notify("STOPPING=1");
    for (detail::worker* w : workers_) w->post_shutdown();
}

task<void> server::serve(net::tcp_listener listener, server_options options) {
    // Nothing is served when the options cannot be met (a certificate that does not load
    // must never turn into plain HTTP); prepare() has said why.
    if (auto prepared = prepare(options); !prepared) co_return;
    port_ = listener.local_address().port();
    detail::worker w(*this, std::move(listener), std::move(options));
    w.tls = static_cast<bool>(current_tls());
    // The caller's cancellation stops this server gracefully, as stop() does. The worker
    // itself runs shielded from it: its join must not be cut short while connections
    // still refer to it.
    cancel_source* caller = co_await current_cancellation{};
    cancel_callback graceful;
    graceful.attach(
        caller,
        [](void* worker) noexcept { static_cast<detail::worker*>(worker)->begin_shutdown(); }, &w);
    co_await shielded(w.run());
    // The connections are gone; what middleware still holds (log lines) is written now, on
    // this loop, before the loop can end.
    for (const auto& m : middlewares_) {
        if (m.finish) co_await shielded(m.finish());
    }
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

std::string_view signal_name(int signal) noexcept {
    switch (signal) {
    case SIGINT:
        return "SIGINT";
    case SIGTERM:
        return "SIGTERM";
    case SIGHUP:
        return "SIGHUP";
    case SIGUSR1:
        return "SIGUSR1";
    default:
        return "a signal";
    }
}

/// Waits on the ring for signals. The first SIGINT or SIGTERM stops the server gracefully;
/// a second one ends the process at once, for an operator who will not wait for the drain.
/// SIGHUP and SIGUSR1 reopen the access log (logrotate's postrotate sends one); SIGHUP also
/// reloads the TLS certificates (a renewal hook sends it).
task<void> watch_signals(io::signal_set* signals, server& srv) {
    bool draining = false;
    for (;;) {
        auto received = co_await signals->next();
        if (!received) co_return; // cancelled: the server has ended
        const int signal = *received;
        if (signal == SIGHUP || signal == SIGUSR1) {
            // Certificates first: once the reopened log can be seen, so can the certificates.
            if (signal == SIGHUP) (void)srv.reload_tls(); // it logs what it did
            auto reopened = co_await srv.reopen_logs();
            if (reopened)
                log::info("{} received, access log reopened", signal_name(signal));
            else
                log::error("{} received, cannot reopen the access log: {}", signal_name(signal),
                           reopened.error().message());
            continue;
        }
        if (!draining) {
            draining = true;
            log::info("{} received, draining (send it again to stop at once)", signal_name(signal));
            srv.stop();
            continue;
        }
        // Written straight to stderr: the process ends on the next line, before any loop
        // could write a gathered one.
        const std::string line = fmt::format(
            "snow: {} received again: stopping at once; requests in flight are dropped\n",
            signal_name(signal));
        (void)!::write(STDERR_FILENO, line.data(), line.size());
        std::_Exit(128 + signal);
    }
}

/// What only the first loop runs beside its share of the server.
struct first_loop_extras {
    io::signal_set* signals = nullptr;
    server* metrics_server = nullptr; ///< metrics on a listener of their own
    net::tcp_listener metrics_listener;
};

/// One loop's share of run(): its listener and, on the first loop, the signal watcher and
/// the metrics listener, which end when the server does and are joined before the loop ends.
task<void> serve_loop(server& srv, net::tcp_listener listener, server_options options,
                      first_loop_extras* extras) {
    task_group watchers;
    if (extras != nullptr && extras->signals != nullptr)
        watchers.spawn(watch_signals(extras->signals, srv));
    if (extras != nullptr && extras->metrics_server != nullptr) {
        server_options side;
        side.handle_signals = false;
        watchers.spawn(extras->metrics_server->serve(std::move(extras->metrics_listener), side));
    }
    co_await srv.serve(std::move(listener), std::move(options));
    watchers.cancel();
    co_await watchers.join();
}

/// The CPU of each loop under pin_threads: loop i on the i-th CPU the process may run on.
/// None with more loops than CPUs, where the scheduler spreads them better than fixed pairs.
std::vector<int> loop_cpus(const server_options& options) {
    if (!options.pin_threads) return {};
    std::vector<int> cpus = io::allowed_cpus();
    if (cpus.size() < options.threads) {
        log::warn("pin_threads: {} threads on {} CPUs; no thread is pinned", options.threads,
                  cpus.size());
        return {};
    }
    cpus.resize(options.threads);
    return cpus;
}

/// With loop i pinned on CPU i, a connection is best served by the loop on the CPU its
/// packets arrive on. The program maps a raw CPU number to a socket index, so any other
/// placement (taskset -c 2,3) keeps the kernel's hash rather than a lookup table.
void steer_by_cpu(const std::vector<net::tcp_listener>& listeners, const std::vector<int>& cpus) {
    if (listeners.size() < 2 || cpus.size() != listeners.size()) return;
    for (std::size_t i = 0; i < cpus.size(); ++i) {
        if (cpus[i] != static_cast<int>(i)) {
            log::debug("loops are not on CPUs 0 to {}: connections are spread by hash",
                       cpus.size() - 1);
            return;
        }
    }
    if (auto steered = net::steer_by_cpu(listeners[0].native_handle(), listeners.size()))
        log::debug("connections go to the loop on the CPU that received them");
    else
        log::debug("cannot steer connections by CPU ({}): they are spread by hash",
                   steered.error().message());
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
        std::string line = io::describe_ring_failure(probe.error());
        if (line.starts_with("snow: ")) line.erase(0, 6);
        log::error("{}", line);
        return 1;
    }
    raise_descriptor_limit();
    auto local = bind_address(options);
    if (!local) {
        log::error("cannot listen on {}: {}", options.host, local.error().message());
        return 1;
    }
    if (auto prepared = prepare(options); !prepared) return 1;
    options.threads = std::max<std::size_t>(options.threads, 1);

    // Every loop gets its own listener on the same port; the kernel spreads connections.
    // Under socket activation they are all the one socket systemd passed, each loop
    // accepting on its own duplicate of it.
    std::vector<net::tcp_listener> listeners;
    std::vector<net::file_descriptor> inherited;
    if (options.systemd) inherited = net::systemd::take_listen_fds();
    if (inherited.size() > 1)
        log::warn("systemd passed {} sockets; serving on the first", inherited.size());
    for (std::size_t i = 0; i < options.threads && !inherited.empty(); ++i) {
        net::file_descriptor fd(i == 0 ? inherited[0].release()
                                       : ::fcntl(listeners[0].native_handle(), F_DUPFD_CLOEXEC, 0));
        auto listener = net::tcp_listener::adopt(std::move(fd));
        if (!listener) {
            log::error("cannot serve on the socket systemd passed: {}", listener.error().message());
            return 1;
        }
        if (i == 0) *local = listener->local_address();
        listeners.push_back(std::move(*listener));
    }
    for (std::size_t i = 0; i < options.threads && inherited.empty(); ++i) {
        auto listener = net::tcp_listener::bind(
            *local, {.backlog = options.backlog, .reuse_port = options.threads > 1});
        if (!listener) {
            log::error("cannot listen on {}: {}", *local, listener.error().message());
            return 1;
        }
        if (i == 0) local->set_port(listener->local_address().port());
        listeners.push_back(std::move(*listener));
    }
    const std::vector<int> cpus = loop_cpus(options);
    if (inherited.empty()) steer_by_cpu(listeners, cpus); // systemd's duplicates are no group
    port_ = local->port();

    // Metrics on a port of their own are a second, private server on the first loop.
    first_loop_extras extras;
    server metrics_server;
    if (!options.metrics_address.empty()) {
        auto at = net::address::parse(options.metrics_address);
        if (!at) {
            log::error("cannot listen for metrics on {}: {}", options.metrics_address,
                       at.error().message());
            return 1;
        }
        auto bound = net::tcp_listener::bind(*at, {.backlog = 64, .reuse_port = false});
        if (!bound) {
            log::error("cannot listen for metrics on {}: {}", *at, bound.error().message());
            return 1;
        }
        metrics_server.get(metrics_path_, metrics_->endpoint(&stats_));
        extras.metrics_server = &metrics_server;
        extras.metrics_listener = std::move(*bound);
    }

    // Signals are read on the ring rather than taken by a handler, so the stop runs as
    // ordinary loop code. Blocked before the loop threads start: they inherit the mask.
    // Destroying the set at the end of run() unblocks them again.
    std::optional<io::signal_set> signals;
    if (options.handle_signals) {
        auto created = io::signal_set::create({SIGINT, SIGTERM, SIGHUP, SIGUSR1});
        if (created)
            signals.emplace(std::move(*created));
        else
            log::error("cannot take SIGINT, SIGTERM, SIGHUP and SIGUSR1: {}",
                       created.error().message());
    }
    if (signals) extras.signals = &*signals;
    if (options.systemd) {
        notify_systemd_ = true;
        net::systemd::notify("READY=1");
    }
    if (options.announce) {
        fmt::print("snow: listening on {}://{}/ ({} thread{})\n", current_tls() ? "https" : "http",
                   *local, options.threads, options.threads == 1 ? "" : "s");
        std::fflush(stdout);
    }

    run_threads(
        options.threads,
        [&](std::size_t index) -> task<void> {
            return serve_loop(*this, std::move(listeners[index]), options,
                              index == 0 ? &extras : nullptr);
        },
        options.loop, cpus);
    return 0;
}

} // namespace snow::http
