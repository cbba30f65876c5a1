// tests/faults/signal_storm_test.cpp: SIGUSR1 at about 1 kHz, to the server's loop thread and
// the client's by turns, while the client makes thousands of keep-alive requests. The
// handler is installed without SA_RESTART, so any system call the signal lands in returns
// EINTR: snow must retry or wait again, never report it.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "snow/core/task_group.hpp"
#include "snow/http/client/client.hpp"
#include "snow/http/server/server.hpp"
#include "snow/net/tcp_listener.hpp"
#include "snow/time/sleep.hpp"

#include "faults/loop_thread.hpp"

using namespace snow;
using namespace std::chrono_literals;
using testing::loop_thread;
using testing::run_test;

namespace {

constexpr int requests = 4000;
constexpr int at_once = 4;
constexpr int max_signals = 120'000; // two minutes of signals: a bound, never reached

std::atomic<int> signals_handled{0};

void count_signal(int) {
    signals_handled.fetch_add(1, std::memory_order_relaxed);
}

/// Request `n`'s answer: its number and a body whose size varies from 0 to 64 KiB, so that
/// sends and receives take several system calls.
std::string answer(int n) {
    return fmt::format("n={} {}", n, std::string(static_cast<std::size_t>(n) * 331 % 65536, 'x'));
}

struct outcomes {
    int correct = 0;
    int wrong = 0;  ///< answered, but not with what was asked for
    int failed = 0; ///< the request failed
    std::string first_failure{};
};

task<void> ask(http::client& client, std::uint16_t port, int n, outcomes& seen) {
    http::request_options options;
    options.timeout = 10s;
    auto got = co_await client.get(fmt::format("http://127.0.0.1:{}/n/{}", port, n), options);
    if (!got) {
        if (seen.failed++ == 0) seen.first_failure = got.error().message();
    } else if (got->status == 200 && got->body == answer(n)) {
        ++seen.correct;
    } else {
        ++seen.wrong;
    }
}

/// Takes the next request number until all are taken, on one keep-alive connection.
task<void> ask_worker(http::client& client, std::uint16_t port, int& next, outcomes& seen) {
    while (next < requests) co_await ask(client, port, next++, seen);
}

task<void> load(std::uint16_t port, outcomes& seen) {
    http::client client;
    int next = 0;
    task_group group;
    for (int i = 0; i < at_once; ++i) group.spawn(ask_worker(client, port, next, seen));
    co_await group.join();
}

} // namespace

TEST_SUITE_BEGIN("faults");

TEST_CASE("SIGUSR1 at 1 kHz fails no request: EINTR never surfaces") {
    struct sigaction handler {};
    handler.sa_handler = count_signal;
    sigemptyset(&handler.sa_mask);
    handler.sa_flags = 0; // no SA_RESTART: interrupted calls fail with EINTR
    struct sigaction before {};
    REQUIRE(::sigaction(SIGUSR1, &handler, &before) == 0);
    signals_handled = 0;

    http::server server;
    server.get("/n/{n}", [](http::request& req) -> task<http::response> {
        const int n = std::stoi(std::string(req.param("n")));
        // One request in eight waits on a timer: the loops then sleep in io_uring_enter,
        // where most signals land.
        if (n % 8 == 0) (void)co_await sleep(1ms);
        co_return http::text(answer(n));
    });
    auto port_promise = std::make_shared<std::promise<std::uint16_t>>();
    auto port_future = port_promise->get_future();
    loop_thread loop(
        {}, [&server, port_promise] { return testing::serve_on_loopback(server, port_promise); });
    const std::uint16_t port = port_future.get();

    std::atomic<bool> done{false};
    int sent = 0;
    const pid_t process = ::getpid();
    const pid_t client_thread = static_cast<pid_t>(::syscall(SYS_gettid));
    const pid_t server_thread = loop.tid();
    std::thread storm([&] {
        timespec period{.tv_sec = 0, .tv_nsec = 1'000'000};
        while (!done.load() && sent < max_signals) {
            ::clock_nanosleep(CLOCK_MONOTONIC, 0, &period, nullptr);
            const pid_t target = sent % 2 == 0 ? server_thread : client_thread;
            if (::syscall(SYS_tgkill, process, target, SIGUSR1) == 0) ++sent;
        }
    });

    outcomes seen;
    run_test(load(port, seen), 120s);
    done = true;
    storm.join();
    server.stop();
    loop.join();
    // The signals still pending on this thread arrive on its next return from the kernel,
    // before the handler goes: none may meet the default action, which ends the process.
    (void)::syscall(SYS_getpid);
    REQUIRE(::sigaction(SIGUSR1, &before, nullptr) == 0);

    std::printf("faults.signal_storm: %d requests, %d correct, %d wrong, %d failed%s%s; "
                "%d signals sent, %d handled\n",
                requests, seen.correct, seen.wrong, seen.failed, seen.failed > 0 ? ", first: " : "",
                seen.first_failure.c_str(), sent, signals_handled.load());
    CHECK(seen.correct == requests);
    CHECK(seen.wrong == 0);
    CHECK(seen.failed == 0);
    CHECK(sent > 0);
    CHECK(signals_handled.load() > 0);
}

TEST_SUITE_END();
