// tests/sim/fail_nth_test.cpp: fail-nth over the real io_uring (snow/io/fault_plan.hpp). The
// plan itself: a failed request completes as the kernel completes a failure. Then a campaign:
// a loopback scenario (HTTP server and client, keep-alive, a deadline, a TCP echo) runs once
// to count its K requests, then K times, run i failing request i. Every run must end, as
// values, with every descriptor closed and (under the sanitizers) no leak.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "snow/core/cancel.hpp"
#include "snow/core/task_group.hpp"
#include "snow/http/client/client.hpp"
#include "snow/http/server/server.hpp"
#include "snow/io/event_loop.hpp"
#include "snow/io/fault_plan.hpp"
#include "snow/io/ring.hpp"
#include "snow/net/tcp_listener.hpp"
#include "snow/net/tcp_stream.hpp"
#include "snow/time/sleep.hpp"
#include "support/run_test.hpp"

using namespace snow;
using namespace std::chrono_literals;

TEST_SUITE_BEGIN("sim");

namespace {

/// The descriptors this process has open.
std::size_t open_descriptors() {
    DIR* dir = ::opendir("/proc/self/fd");
    REQUIRE(dir != nullptr);
    std::size_t n = 0;
    while (const dirent* e = ::readdir(dir))
        if (e->d_name[0] != '.') ++n;
    ::closedir(dir);
    return n - 1; // the directory's own
}

io::ring make_ring(io::fault_plan& plan) {
    io::ring_options options;
    options.entries = 8;
    options.faults = &plan;
    auto r = io::ring::create(options);
    if (!r) {
        std::fprintf(stderr, "io_uring unavailable (%s): skipping\n", r.error().message().c_str());
        std::exit(77);
    }
    return std::move(*r);
}

/// Completions by user_data, until `count` have come (or a second without one: a failure).
std::map<std::uint64_t, io_uring_cqe> reap(io::ring& r, std::size_t count) {
    std::map<std::uint64_t, io_uring_cqe> seen;
    for (int waits = 0; seen.size() < count && waits < 10; ++waits) {
        r.submit_and_wait(100ms);
        r.for_each_completion([&](const io_uring_cqe& cqe) { seen[cqe.user_data] = cqe; });
    }
    return seen;
}

/// A listening TCP socket on 127.0.0.1, and its port.
int listening_socket(std::uint16_t& port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in at{};
    at.sin_family = AF_INET;
    at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&at), sizeof at) == 0);
    REQUIRE(::listen(fd, 8) == 0);
    socklen_t length = sizeof at;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&at), &length) == 0);
    port = ntohs(at.sin_port);
    return fd;
}

} // namespace

TEST_CASE("fail-nth: a failed request ends with its errno and its linked timeout with ECANCELED") {
    io::fault_plan plan{.fail_nth = 1};
    io::ring r = make_ring(plan);
    int pair[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
    REQUIRE(::write(pair[0], "x", 1) == 1); // pair[1] has a byte; pair[0] never gets one
    std::array<std::byte, 16> first{};
    std::array<std::byte, 16> second{};
    __kernel_timespec long_wait = io::to_kernel_timespec(10s);

    r.reserve(2);
    io_uring_sqe& head = r.next_sqe(); // eligible 1: fails, or it would wait for good
    io_uring_prep_recv(&head, pair[0], first.data(), first.size(), 0);
    io_uring_sqe_set_data64(&head, 1);
    head.flags |= IOSQE_IO_LINK;
    io_uring_sqe& timeout = r.next_sqe(); // linked: never eligible
    io_uring_prep_link_timeout(&timeout, &long_wait, 0);
    io_uring_sqe_set_data64(&timeout, 2);
    io_uring_sqe& other = r.next_sqe(); // eligible 2: untouched
    io_uring_prep_recv(&other, pair[1], second.data(), second.size(), 0);
    io_uring_sqe_set_data64(&other, 3);
    io_uring_sqe& cancel = r.next_sqe(); // a cancel: never eligible
    io_uring_prep_cancel64(&cancel, 99, 0);
    io_uring_sqe_set_data64(&cancel, 4);

    auto seen = reap(r, 4);
    REQUIRE(seen.size() == 4);
    CHECK(seen[1].res == -ECONNRESET);
    CHECK((seen[1].flags & IORING_CQE_F_MORE) == 0);
    CHECK(seen[2].res == -ECANCELED);
    CHECK(seen[3].res == 1);
    CHECK(seen[4].res == -ENOENT);
    CHECK(plan.eligible == 2);
    CHECK(plan.fired);
    CHECK(plan.failed_opcode == IORING_OP_RECV);
    CHECK(plan.failed_errno == ECONNRESET);
    ::close(pair[0]);
    ::close(pair[1]);
}

TEST_CASE("fail-nth: a failed multishot accept ends without F_MORE; a counted one goes on") {
    std::uint16_t port = 0;
    const int listener = listening_socket(port);
    for (const std::uint64_t nth : {0, 1}) {
        io::fault_plan plan{.fail_nth = nth};
        io::ring r = make_ring(plan);
        io_uring_sqe& accept = r.next_sqe();
        io_uring_prep_multishot_accept(&accept, listener, nullptr, nullptr, SOCK_CLOEXEC);
        io_uring_sqe_set_data64(&accept, 7);
        r.submit();
        const int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        to.sin_port = htons(port);
        REQUIRE(::connect(client, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0);
        auto seen = reap(r, 1);
        REQUIRE(seen.count(7) == 1);
        CHECK(plan.eligible == 1);
        if (nth == 1) {
            CHECK(seen[7].res == -ECONNABORTED);
            CHECK((seen[7].flags & IORING_CQE_F_MORE) == 0);
            // The connection waits in the backlog for the next accept, as after a real failure.
            const int queued = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
            CHECK(queued >= 0);
            if (queued >= 0) ::close(queued);
        } else {
            CHECK(seen[7].res >= 0);
            CHECK((seen[7].flags & IORING_CQE_F_MORE) != 0);
            if (seen[7].res >= 0) ::close(seen[7].res);
        }
        ::close(client);
    }
    ::close(listener);
}

TEST_CASE("fail-nth: a failed close reports EIO and releases the descriptor all the same") {
    io::fault_plan plan{.fail_nth = 1};
    io::ring r = make_ring(plan);
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    io_uring_sqe& close = r.next_sqe();
    io_uring_prep_close(&close, p[0]);
    io_uring_sqe_set_data64(&close, 5);
    auto seen = reap(r, 1);
    REQUIRE(seen.count(5) == 1);
    CHECK(seen[5].res == -EIO);
    CHECK(::fcntl(p[0], F_GETFD) == -1);
    ::close(p[1]);
}

// ---------------------------------------------------------------------------------------
// The campaign

namespace {

/// The requests of a run that answer (the fifth is the one under a short deadline).
constexpr int all_requests = 5;

/// How one run of the scenario ended.
struct run_outcome {
    int requests_ok = 0;    ///< responses with the expected status and body
    int request_errors = 0; ///< requests that ended in an error value (or a wrong answer)
    /// The short-deadline request ended in time. Not necessarily with timed_out: a failed
    /// receive on the server's side ends its handler early (the client seems gone), and
    /// what it answers then may come back in time.
    bool deadline_kept = false;
    bool timed_out = false;    ///< it ended with client_failure::timeout
    bool echoed = false;       ///< the echo round trip came back intact
    bool hung = false;         ///< the run outlived its limit and was cancelled
    std::string deadline_note; ///< how the short-deadline request ended, for a failure
};

http::router campaign_routes() {
    http::router r;
    r.get("/hello/{id}", [](const http::request& req) {
        return http::text("hello " + std::string(req.param("id")));
    });
    r.post("/echo", [](http::request& req) -> task<http::response> {
        co_return http::text(std::string(req.body()));
    });
    r.get("/nap", [](const http::request&) -> task<http::response> {
        (void)co_await sleep(300ms);
        co_return http::text("late");
    });
    return r;
}

/// Echoes one connection until EOF.
task<void> echo_once(net::tcp_listener& listener) {
    auto accepted = co_await listener.accept();
    if (!accepted) co_return;
    std::array<std::byte, 256> buffer{};
    for (;;) {
        auto n = co_await accepted->recv(buffer);
        if (!n || *n == 0) co_return;
        auto sent = co_await accepted->send_all(
            std::string_view(reinterpret_cast<const char*>(buffer.data()), *n));
        if (!sent) co_return;
    }
}

task<bool> echo_round_trip(net::address at) {
    auto connected = co_await net::tcp_stream::connect(at);
    if (!connected) co_return false;
    const std::string_view ping = "ping over the ring";
    auto sent = co_await connected->send_all(ping);
    if (!sent) co_return false;
    std::string back;
    std::array<std::byte, 64> buffer{};
    while (back.size() < ping.size()) {
        auto n = co_await connected->recv(buffer).timeout(2s);
        if (!n || *n == 0) co_return false;
        back.append(reinterpret_cast<const char*>(buffer.data()), *n);
    }
    co_return back == ping;
}

/// The client's side: keep-alive requests, one under a deadline shorter than its answer,
/// and an echo round trip.
task<void> client_side(net::address http_at, net::address echo_at, run_outcome& out) {
    {
        http::client client;
        for (int i = 0; i < 4; ++i) {
            const std::string url = fmt::format("http://127.0.0.1:{}/hello/{}", http_at.port(), i);
            http::request_options options;
            options.timeout = 2s;
            auto r = co_await client.get(url, options);
            if (r && r->status == 200 && r->body == fmt::format("hello {}", i))
                ++out.requests_ok;
            else
                ++out.request_errors;
        }
        // A body larger than a socket buffer's worth of one send, on the same connection.
        std::string payload(200'000, 'p');
        const std::string echo_url = fmt::format("http://127.0.0.1:{}/echo", http_at.port());
        http::request_options bounded;
        bounded.timeout = 2s;
        http::headers no_fields;
        auto posted = co_await client.post(echo_url, payload, std::move(no_fields), bounded);
        if (posted && posted->status == 200 && posted->body == payload)
            ++out.requests_ok;
        else
            ++out.request_errors;
        http::request_options hurried;
        hurried.timeout = 50ms;
        const auto start = io::clock::now();
        const std::string nap = fmt::format("http://127.0.0.1:{}/nap", http_at.port());
        auto late = co_await client.get(nap, hurried);
        // Whatever fails, a deadline is a bound: the request ends within it (and a margin).
        const auto took = io::clock::now() - start;
        out.deadline_kept = took < 1s;
        out.timed_out = !late && late.error() == http::client_failure::timeout;
        out.deadline_note =
            fmt::format("{} after {} ms",
                        late ? fmt::format("status {}", late->status) : late.error().message(),
                        std::chrono::duration_cast<std::chrono::milliseconds>(took).count());
    }
    out.echoed = co_await echo_round_trip(echo_at);
}

task<void> scenario(run_outcome& out) {
    http::server server(campaign_routes());
    auto http_listener = net::tcp_listener::bind("127.0.0.1:0");
    auto echo_listener = net::tcp_listener::bind("127.0.0.1:0");
    REQUIRE(http_listener);
    REQUIRE(echo_listener);
    const net::address http_at = http_listener->local_address();
    const net::address echo_at = echo_listener->local_address();
    http::server_options options;
    options.header_timeout = 1s;
    options.body_timeout = 1s;
    options.write_timeout = 1s;
    options.idle_timeout = 2s;
    options.shutdown_timeout = 200ms;
    task_group servers;
    servers.spawn(server.serve(std::move(*http_listener), options));
    servers.spawn(echo_once(*echo_listener));
    co_await client_side(http_at, echo_at, out);
    server.stop();
    servers.cancel(); // the echo server, if its connection never came
    co_await servers.join();
}

/// Cancels the run when it outlives `limit`: a hang, which the campaign reports.
task<void> run_limit(cancel_source& run, bool& hung, std::chrono::milliseconds limit) {
    const bool expired = co_await sleep(limit);
    if (!expired) co_return;
    hung = true;
    run.request();
}

/// Aborts the process, naming the run, if the loop does not even return after its limit
/// cancelled it: no test may hang the suite.
class last_resort {
public:
    last_resort(std::uint64_t nth, std::chrono::seconds limit)
        : thread_([this, nth, limit] {
            std::unique_lock lock(mutex_);
            if (!done_cv_.wait_for(lock, limit, [this] { return done_; })) {
                std::fprintf(stderr, "fail-nth: run failing request %llu never ended\n",
                             static_cast<unsigned long long>(nth));
                std::abort();
            }
        }) {}
    ~last_resort() {
        {
            std::lock_guard lock(mutex_);
            done_ = true;
        }
        done_cv_.notify_one();
        thread_.join();
    }

private:
    std::mutex mutex_;
    std::condition_variable done_cv_;
    bool done_ = false;
    std::thread thread_;
};

std::string opcode_name(std::uint8_t opcode) {
    switch (opcode) {
    case IORING_OP_ACCEPT:
        return "accept";
    case IORING_OP_CONNECT:
        return "connect";
    case IORING_OP_RECV:
        return "recv";
    case IORING_OP_RECVMSG:
        return "recvmsg";
    case IORING_OP_SEND:
        return "send";
    case IORING_OP_SENDMSG:
        return "sendmsg";
    case IORING_OP_READ:
        return "read";
    case IORING_OP_WRITE:
        return "write";
    case IORING_OP_CLOSE:
        return "close";
    case IORING_OP_SHUTDOWN:
        return "shutdown";
    default:
        return fmt::format("op{}", opcode);
    }
}

/// One run with `plan`; the loop is gone when it returns.
run_outcome run_with(io::fault_plan& plan) {
    last_resort guard(plan.fail_nth, 30s);
    run_outcome out;
    io::loop_options options;
    options.ring.faults = &plan;
    auto loop = testing::make_loop(options);
    cancel_source run;
    cancel_source stop_limit;
    loop->spawn(with_cancellation(run_limit(run, out.hung, 5s), stop_limit));
    loop->run([](run_outcome& o, cancel_source& r, cancel_source& stop) -> task<void> {
        co_await with_cancellation(scenario(o), r);
        stop.request();
    }(out, run, stop_limit));
    return out;
}

} // namespace

TEST_CASE("fail-nth: the loopback scenario meets the failure of each of its requests") {
    const std::size_t descriptors = open_descriptors();
    io::fault_plan counting;
    const run_outcome clean = run_with(counting);
    REQUIRE_FALSE(clean.hung);
    CHECK(clean.requests_ok == all_requests);
    CHECK(clean.deadline_kept);
    CHECK(clean.timed_out);
    CHECK(clean.echoed);
    CHECK(open_descriptors() == descriptors);
    const std::uint64_t k = counting.eligible;
    REQUIRE(k > 10);

    std::map<std::string, int> endings;
    std::map<std::string, int> failed;
    for (const bool second : {false, true}) {
        for (std::uint64_t nth = 1; nth <= k; ++nth) {
            CAPTURE(nth);
            CAPTURE(second);
            io::fault_plan plan{.fail_nth = nth, .second_errno = second};
            run_outcome out;
            try {
                out = run_with(plan);
            } catch (const std::exception& e) {
                FAIL_CHECK("an exception escaped: " << e.what());
                ++endings["threw"];
                continue;
            }
            const std::size_t now_open = open_descriptors();
            INFO("failed ", opcode_name(plan.failed_opcode), " with errno ", plan.failed_errno,
                 "; the short deadline: ", out.deadline_note, "; ", out.request_errors,
                 " requests failed, echo ", out.echoed ? "fine" : "failed");
            CHECK(now_open == descriptors);
            CHECK_FALSE(out.hung);
            CHECK(out.deadline_kept);
            // One failed request costs at most the exchange it belonged to: the requests
            // after it take a new connection.
            CHECK(out.request_errors + (out.echoed ? 0 : 1) <= 1);
            if (plan.fired) ++failed[opcode_name(plan.failed_opcode)];
            if (out.hung)
                ++endings["hung"];
            else if (!plan.fired)
                ++endings["not reached"];
            else if (out.requests_ok == all_requests && out.echoed)
                ++endings["unaffected"];
            else
                ++endings["errors"];
            if (now_open != descriptors) ++endings["leaked descriptors"];
        }
    }
    std::string ends;
    for (const auto& [how, n] : endings) ends += fmt::format(", {} {}", n, how);
    std::string ops;
    for (const auto& [name, n] : failed) ops += fmt::format(" {} {}", name, n);
    std::printf("fail-nth: K=%llu requests, each failed with 2 errnos%s; failed:%s\n",
                static_cast<unsigned long long>(k), ends.c_str(), ops.c_str());
    CHECK(endings["hung"] == 0);
    CHECK(endings["errors"] > 0);
}
