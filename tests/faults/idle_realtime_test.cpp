// tests/faults/idle_realtime_test.cpp: 10,000 idle WebSocket connections and 10,000 idle
// event streams held open at once, while a plain route still answers; then every one closed
// by its client, and the server must notice each (its functions end, its descriptors close).
#include <doctest/doctest.h>

#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <future>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "snow/http/server/event_stream.hpp"
#include "snow/http/server/server.hpp"
#include "snow/http/server/websocket.hpp"
#include "snow/net/tcp_listener.hpp"

#include "faults/loop_thread.hpp"
#include "http/support/blocking_client.hpp"

using namespace snow;
using namespace std::chrono_literals;
using testing::loop_thread;

namespace {

// 10,000 of each in the release build. Under ASan and TSan every accept, coroutine frame and
// completion costs several times more, so they hold 2,000 of each to stay within seconds.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr int wanted_each = 2'000;
#else
constexpr int wanted_each = 10'000;
#endif
// Fewer than this and the case says so and skips rather than prove little.
constexpr int least_each = 1'000;
// Connections opened before the client waits for the server to have started them all: well
// under the listen backlog (4096), so no SYN is ever dropped and retried a second later.
constexpr int batch = 500;
// Room for the loop, the listener, stdio and the test's own files.
constexpr rlim_t spare_descriptors = 256;

/// The client and server ends of `each` connections of both kinds, and the spare ones.
constexpr rlim_t descriptors_for(int each) {
    return 4 * static_cast<rlim_t>(each) + spare_descriptors;
}

constexpr std::string_view upgrade_request = "GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n"
                                             "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                                             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
constexpr std::string_view stream_request = "GET /events HTTP/1.1\r\nHost: t\r\n\r\n";

/// What the server's functions report, on the loop's thread, to the test's thread.
struct tally {
    std::mutex mutex;
    std::condition_variable changed;
    int sockets_started = 0;
    int sockets_ended = 0;
    int streams_started = 0;
    int streams_ended = 0;

    void bump(int tally::*counter) {
        {
            std::lock_guard lock(mutex);
            ++(this->*counter);
        }
        changed.notify_all();
    }
    /// Waits until `counter` reaches `target`, for at most `limit`; whether it did.
    bool reaches(int tally::*counter, int target, std::chrono::seconds limit) {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, limit, [&] { return this->*counter >= target; });
    }
    int read(int tally::*counter) {
        std::lock_guard lock(mutex);
        return this->*counter;
    }
};

/// An idle WebSocket: receives until the connection ends (its client leaves), sends nothing.
task<void> idle_socket(http::websocket& ws, tally& t) {
    t.bump(&tally::sockets_started);
    for (;;) {
        auto m = co_await ws.recv();
        if (!m) break;
    }
    t.bump(&tally::sockets_ended);
}

/// An idle event stream: sends nothing and waits for the stream to end.
task<result<void>> idle_stream(http::event_stream& events, tally& t) {
    t.bump(&tally::streams_started);
    (void)co_await events.closed();
    t.bump(&tally::streams_ended);
    co_return result<void>{};
}

task<void> serve_many(http::server& server, int idle_each,
                      std::shared_ptr<std::promise<std::uint16_t>> port) {
    auto listener = net::tcp_listener::bind("127.0.0.1:0");
    REQUIRE(listener.has_value());
    port->set_value(listener->local_address().port());
    http::server_options options;
    options.max_connections = 2 * idle_each + 64;
    options.shutdown_timeout = 1s;
    co_await server.serve(std::move(*listener), std::move(options));
}

/// Opens `count` connections to `port`, each sending `request`; the descriptors, or fewer
/// when a socket or connect failed.
void open_connections(std::uint16_t port, std::string_view request, int count,
                      std::vector<int>& into) {
    sockaddr_in peer{};
    peer.sin_family = AF_INET;
    peer.sin_port = htons(port);
    peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < count; ++i) {
        const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0) return;
        if (::connect(s, reinterpret_cast<const sockaddr*>(&peer), sizeof peer) != 0 ||
            ::send(s, request.data(), request.size(), MSG_NOSIGNAL) !=
                static_cast<ssize_t>(request.size())) {
            ::close(s);
            return;
        }
        into.push_back(s);
    }
}

/// Opens `total` connections sending `request` in batches, each batch once the server has
/// started every connection before it (`started` in `t`); whether all were opened and started.
bool open_idle(std::uint16_t port, std::string_view request, int total, tally& t,
               int tally::*started, std::vector<int>& into) {
    for (int opened = 0; opened < total;) {
        const int now = std::min(batch, total - opened);
        const std::size_t before = into.size();
        open_connections(port, request, now, into);
        if (into.size() - before != static_cast<std::size_t>(now)) return false;
        opened += now;
        if (!t.reaches(started, opened, 30s)) return false;
    }
    return true;
}

/// Raises RLIMIT_NOFILE for `wanted_each` connections of each kind: the hard limit too where
/// the process may (CAP_SYS_RESOURCE), else the soft one up to the hard one. The number of
/// each kind the limit then allows, in whole batches: `wanted_each` or fewer.
int raise_descriptor_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
    const rlim_t wanted = descriptors_for(wanted_each);
    if (limit.rlim_cur >= wanted) return wanted_each;
    if (limit.rlim_max < wanted) {
        const rlimit both{wanted, wanted};
        if (::setrlimit(RLIMIT_NOFILE, &both) == 0) return wanted_each;
    }
    limit.rlim_cur = std::min(limit.rlim_max, wanted);
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
    if (limit.rlim_cur < descriptors_for(batch)) return 0;
    const auto fits = static_cast<int>((limit.rlim_cur - spare_descriptors) / 4);
    return std::min(wanted_each, fits / batch * batch);
}

} // namespace

TEST_SUITE_BEGIN("faults");

TEST_CASE("10,000 idle WebSockets and 10,000 idle event streams at once, then all closed") {
    const int idle_each = raise_descriptor_limit();
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    if (idle_each < least_each) {
        MESSAGE("skipped: " << wanted_each << " of each need RLIMIT_NOFILE "
                            << descriptors_for(wanted_each) << ", and the hard limit is "
                            << limit.rlim_max);
        return;
    }
    if (idle_each < wanted_each)
        MESSAGE("scaled down to " << idle_each << " of each: " << wanted_each
                                  << " need RLIMIT_NOFILE " << descriptors_for(wanted_each)
                                  << ", and the hard limit is " << limit.rlim_max);
    tally t;
    http::server server;
    server.get("/index/", [](const http::request&) { return http::text("OK"); });
    server.get("/ws", [&t](http::request& req) {
        return http::websocket_response(req,
                                        [&t](http::websocket& ws) { return idle_socket(ws, t); });
    });
    server.get("/events", [&t](http::request& req) {
        return http::event_stream_response(
            req, [&t](http::event_stream& events) { return idle_stream(events, t); });
    });
    auto port_promise = std::make_shared<std::promise<std::uint16_t>>();
    auto port_future = port_promise->get_future();
    loop_thread loop({}, [&server, idle_each, port_promise] {
        return serve_many(server, idle_each, port_promise);
    });
    const std::uint16_t port = port_future.get();
    (void)loop.stats(); // the loop has turned: its descriptors are all open
    const int descriptors_before = testing::open_descriptors();

    // From here on the server runs: checks, not REQUIREs, so that it is always stopped.
    std::vector<int> clients;
    clients.reserve(2 * idle_each);
    const bool sockets_open =
        open_idle(port, upgrade_request, idle_each, t, &tally::sockets_started, clients);
    const bool streams_open = sockets_open && open_idle(port, stream_request, idle_each, t,
                                                        &tally::streams_started, clients);
    const int descriptors_held = testing::open_descriptors();
    const auto open_while_held = server.stats().connections_open.load();

    // A plain route on a connection of its own, while all of them are held.
    testing::blocking_client plain(port);
    CHECK(plain.is_open());
    CHECK(plain.send_all("GET /index/ HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
    auto index = plain.read_response(10s);
    plain.close();

    for (const int s : clients) ::close(s);
    const bool sockets_ended = t.reaches(&tally::sockets_ended, idle_each, 30s);
    const bool streams_ended = t.reaches(&tally::streams_ended, idle_each, 30s);
    // The functions end before their connections close their descriptors: bounded waits.
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while ((server.stats().connections_open.load() != 0 ||
            testing::open_descriptors() != descriptors_before) &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(5ms);
    const int descriptors_after = testing::open_descriptors();
    const auto open_after = server.stats().connections_open.load();

    server.stop();
    (void)loop.join();

    std::printf("faults.idle_realtime: %d WebSockets and %d event streams held, descriptors "
                "%d before, %d held, %d after\n",
                t.read(&tally::sockets_started), t.read(&tally::streams_started),
                descriptors_before, descriptors_held, descriptors_after);
    CHECK(sockets_open);
    CHECK(streams_open);
    CHECK(t.read(&tally::sockets_started) == idle_each);
    CHECK(t.read(&tally::streams_started) == idle_each);
    CHECK(open_while_held == static_cast<std::uint64_t>(2 * idle_each));
    // Both ends of every connection were open at once.
    CHECK(descriptors_held >= descriptors_before + 4 * idle_each);
    REQUIRE(index.has_value());
    CHECK(index->status == 200);
    CHECK(index->body == "OK");
    CHECK(sockets_ended);
    CHECK(streams_ended);
    CHECK(t.read(&tally::sockets_ended) == idle_each);
    CHECK(t.read(&tally::streams_ended) == idle_each);
    CHECK(open_after == 0);
    CHECK(descriptors_after == descriptors_before);
}

TEST_SUITE_END();
