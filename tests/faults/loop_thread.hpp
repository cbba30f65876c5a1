// tests/faults/loop_thread.hpp: what the fault cases share. A loop on a thread of its own
// (the server under pressure, whose CPU time and counters the case reads while it runs), and
// the process's open descriptors, and a server on a loopback port. The cases run at full size under
// ASan and TSan too.
#pragma once

#include <dirent.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <functional>
#include <future>
#include <memory>
#include <thread>
#include <utility>

#include <doctest/doctest.h>

#include "snow/core/task.hpp"
#include "snow/http/server/server.hpp"
#include "snow/io/event_loop.hpp"
#include "snow/net/tcp_listener.hpp"
#include "support/run_test.hpp"

namespace snow::testing {

/// The number of descriptors the process has open now (the entries of /proc/self/fd, less
/// the one the listing itself holds).
inline int open_descriptors() {
    DIR* dir = ::opendir("/proc/self/fd");
    if (dir == nullptr) return -1;
    int count = 0;
    while (const dirent* entry = ::readdir(dir))
        if (entry->d_name[0] != '.') ++count;
    ::closedir(dir);
    return count - 1;
}

/// A loop made with `options` on a new thread, running the task `body` returns until it
/// finishes; join() waits for that and gives the loop's final counters.
class loop_thread {
public:
    loop_thread(io::loop_options options, std::function<task<void>()> body)
        : body_(std::move(body)) {
        // Shared: the thread may still be inside set_value() when the wait returns.
        auto started = std::make_shared<std::promise<void>>();
        auto ready = started->get_future();
        thread_ = std::thread([this, options, started] {
            auto loop = make_loop(options);
            loop_ = loop.get();
            tid_ = static_cast<pid_t>(::syscall(SYS_gettid));
            started->set_value();
            loop->run(body_());
            final_stats_ = loop->stats();
            loop_ = nullptr;
        });
        ready.wait();
    }
    loop_thread(const loop_thread&) = delete;
    loop_thread& operator=(const loop_thread&) = delete;
    ~loop_thread() {
        if (thread_.joinable()) thread_.join();
    }

    /// Runs `fn` on the loop's thread (event_loop::post). Only while the body runs.
    void post(std::function<void()> fn) { loop_->post(std::move(fn)); }

    /// The loop's counters now, read on its own thread. Only while the body runs.
    io::loop_stats stats() {
        auto reply = std::make_shared<std::promise<io::loop_stats>>();
        auto got = reply->get_future();
        post([reply] { reply->set_value(io::event_loop::current().stats()); });
        return got.get();
    }

    /// The CPU time the loop's thread has used so far.
    std::chrono::nanoseconds cpu_time() {
        clockid_t clock{};
        timespec used{};
        if (::pthread_getcpuclockid(thread_.native_handle(), &clock) != 0 ||
            ::clock_gettime(clock, &used) != 0)
            return std::chrono::nanoseconds{-1};
        return std::chrono::seconds(used.tv_sec) + std::chrono::nanoseconds(used.tv_nsec);
    }

    /// The kernel's id of the loop's thread, for tgkill.
    pid_t tid() const noexcept { return tid_; }

    /// Waits for the body to finish and returns the loop's counters at that point.
    io::loop_stats join() {
        thread_.join();
        return final_stats_;
    }

private:
    std::function<task<void>()> body_;
    std::thread thread_;
    io::event_loop* loop_ = nullptr;
    pid_t tid_ = 0;
    io::loop_stats final_stats_{};
};

/// Serves `server` on a fresh 127.0.0.1 port, handed to the test through `port`, with a
/// graceful stop of at most a second.
inline task<void> serve_on_loopback(http::server& server,
                                    std::shared_ptr<std::promise<std::uint16_t>> port) {
    auto listener = net::tcp_listener::bind("127.0.0.1:0");
    REQUIRE(listener.has_value());
    port->set_value(listener->local_address().port());
    http::server_options options;
    options.shutdown_timeout = std::chrono::seconds(1);
    co_await server.serve(std::move(*listener), std::move(options));
}

} // namespace snow::testing
