// tests/http/support/running_server.hpp: an http::server driven through run() on a thread of
// its own, for the options only run() honours (its threads, pin_threads, loop), which
// serve() on the test's loop never sees. Clients reach it over loopback (blocking_client).
#pragma once

#include <chrono>
#include <cstdint>
#include <thread>
#include <utility>
#include <vector>

#include "snow/http/server/server.hpp"
#include "snow/io/cpu_affinity.hpp"

namespace snow::testing {

/// run() on a thread of its own with `routes`, on 127.0.0.1 and a free port, without signal
/// handling; stopped and joined by stop_and_join() or the destructor.
class running_server {
public:
    running_server(http::router routes, http::server_options options) : srv_(std::move(routes)) {
        options.host = "127.0.0.1";
        options.port = 0;
        options.handle_signals = false;
        thread_ = std::thread([this, options] {
            status_ = srv_.run(options);
            cpus_after_ = io::allowed_cpus();
        });
        // run() has no other sign of life: it sets port() once every listener listens (and
        // any steering is attached), and the kernel queues connections from then on. A run()
        // that failed to start leaves it 0.
        for (int i = 0; i < 10'000 && srv_.port() == 0; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ~running_server() { stop_and_join(); }
    running_server(const running_server&) = delete;
    running_server& operator=(const running_server&) = delete;

    std::uint16_t port() const { return srv_.port(); }
    /// Stops the server; returns what run() returned.
    int stop_and_join() {
        if (thread_.joinable()) {
            srv_.stop();
            thread_.join();
        }
        return status_;
    }
    /// The CPUs of run()'s thread once run() returned.
    const std::vector<int>& cpus_after() const { return cpus_after_; }
    /// The server's counters.
    const http::server_stats& stats() const { return srv_.stats(); }

private:
    http::server srv_;
    std::thread thread_;
    int status_ = -1;
    std::vector<int> cpus_after_;
};

} // namespace snow::testing
