// tests/sim/http_test.cpp: snow's HTTP server and fetch_all over the simulated network.
// Random clients pipeline requests in random slices, abort at any byte, park long polls
// that another request releases, and meet a graceful stop at a random virtual instant;
// fetch_all meets servers that never answer, drip bytes, reset, or are not there. The
// checks: responses arrive in request order and intact, each fetch ends exactly once within
// its deadline plus one tick, and nothing is left open.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "sim/harness.hpp"
#include "snow/core/task_group.hpp"
#include "snow/core/when_all.hpp"
#include "snow/http/client/fetch_all.hpp"
#include "snow/http/server/server.hpp"
#include "snow/io/syscalls.hpp"
#include "snow/net/tcp_listener.hpp"
#include "snow/net/tcp_stream.hpp"
#include "snow/sync/event.hpp"
#include "snow/time/sleep.hpp"

using namespace snow;
using namespace std::chrono_literals;
namespace sim = snow::testing::sim;

TEST_SUITE_BEGIN("sim");

namespace {

constexpr clock::duration tick = 10ms;

/// The routes every HTTP scenario serves. /req/ parks until /stop/ releases it, as in the
/// original framework's demo.
http::router routes(event& released) {
    http::router r;
    r.get("/echo/{id}",
          [](const http::request& req) { return http::text(std::string(req.param("id"))); });
    r.get("/big/{id}", [](const http::request& req) {
        return http::text(std::string(req.param("id")) + std::string(20'000, 'b'));
    });
    r.get("/nap/{ms}/{id}", [](const http::request& req) -> task<http::response> {
        const auto ms = std::stoi(std::string(req.param("ms")));
        (void)co_await sleep(std::chrono::milliseconds(ms));
        co_return http::text(std::string(req.param("id")));
    });
    r.get("/req/{id}", [&released](const http::request& req) -> task<http::response> {
        const bool woken = co_await released.wait();
        // Not woken: the server is stopping and its grace period ran out.
        if (!woken) co_return http::text("stopping", 503);
        co_return http::text(std::string(req.param("id")));
    });
    r.get("/stop/{id}", [&released](const http::request& req) {
        released.set();
        return http::text(std::string(req.param("id")));
    });
    return r;
}

http::server_options quick_options() {
    http::server_options options;
    options.header_timeout = 1s;
    options.body_timeout = 1s;
    options.write_timeout = 1s;
    options.idle_timeout = 2s;
    options.shutdown_timeout = 200ms;
    return options;
}

/// One response from a byte stream, or none while it is incomplete. The server frames
/// these routes with Content-Length.
struct parsed {
    int status = 0;
    std::string body;
};
std::optional<parsed> take_response(std::string& stream) {
    const auto end = stream.find("\r\n\r\n");
    if (end == std::string::npos || stream.size() < 12) return std::nullopt;
    const std::string_view head(stream.data(), end);
    parsed out;
    out.status = std::stoi(std::string(head.substr(9, 3)));
    std::size_t length = 0;
    if (const auto at = head.find("\r\nContent-Length: "); at != std::string_view::npos)
        length = std::stoul(std::string(head.substr(at + 18)));
    if (stream.size() < end + 4 + length) return std::nullopt;
    out.body = stream.substr(end + 4, length);
    stream.erase(0, end + 4 + length);
    return out;
}

struct client_tally {
    std::size_t complete = 0;     ///< clients that got every response
    std::size_t aborted = 0;      ///< clients that dropped the connection on purpose
    std::size_t out_of_order = 0; ///< a response that was not the next one expected
    std::size_t missing = 0;      ///< a client that should have got everything and did not
    std::size_t parked = 0;       ///< /req/ requests released by a /stop/
};

task<void> send_in_slices(sim::context& ctx, net::tcp_stream& s, std::string bytes,
                          std::size_t stop_at) {
    std::size_t at = 0;
    while (at < std::min(bytes.size(), stop_at)) {
        const std::size_t n =
            std::min(1 + ctx.random().below(300), std::min(bytes.size(), stop_at) - at);
        auto sent = co_await s.send_all(std::string_view(bytes).substr(at, n));
        if (!sent) co_return;
        at += n;
        if (ctx.random().chance(0.3)) (void)co_await sleep(ctx.any_duration(2ms));
    }
}

task<void> read_until_eof(net::tcp_stream& s, std::string& into) {
    std::byte buffer[4096];
    for (;;) {
        auto n = co_await s.recv(buffer);
        if (!n || *n == 0) co_return;
        into.append(reinterpret_cast<const char*>(buffer), *n);
    }
}

/// A client that pipelines `expected.size()` requests over one connection, the last with
/// Connection: close, and checks that the responses come back in order.
task<void> pipelining_client(sim::context& ctx, net::address server, std::vector<std::string> paths,
                             bool must_finish, client_tally& tally, bool may_abort = true) {
    auto connected = co_await net::tcp_stream::connect(server);
    if (!connected) {
        if (must_finish) ++tally.missing;
        co_return;
    }
    net::tcp_stream s = std::move(*connected);
    std::string bytes;
    for (std::size_t i = 0; i < paths.size(); ++i)
        bytes += fmt::format("GET {} HTTP/1.1\r\nHost: sim\r\n{}\r\n", paths[i],
                             i + 1 == paths.size() ? "Connection: close\r\n" : "");
    const bool abort = may_abort && ctx.random().chance(0.2);
    const std::size_t stop_at = abort ? ctx.random().below(bytes.size()) : bytes.size();
    std::string back;
    if (abort) {
        co_await send_in_slices(ctx, s, bytes, stop_at);
        ++tally.aborted;
        co_return; // dropped mid-request: the server must absorb it
    }
    co_await when_all(send_in_slices(ctx, s, bytes, stop_at), read_until_eof(s, back));
    std::size_t answered = 0;
    while (auto r = take_response(back)) {
        // Each path ends in its id; the response body starts with it.
        const std::string& path = paths[answered];
        const std::string id = path.substr(path.rfind('/') + 1);
        // A stop may cut a parked request short; only a client racing no stop must not see it.
        if (r->status == 503 && !must_finish) break;
        if (r->status != 200 || !r->body.starts_with(id)) {
            ++tally.out_of_order;
            break;
        }
        if (path.starts_with("/req/")) ++tally.parked;
        if (++answered == paths.size()) break;
    }
    if (answered == paths.size())
        ++tally.complete;
    else if (must_finish)
        ++tally.missing;
    ctx.note(answered);
}

std::vector<std::string> random_paths(sim::context& ctx, std::size_t client) {
    std::vector<std::string> paths;
    const std::size_t n = 1 + ctx.random().below(5);
    for (std::size_t i = 0; i < n; ++i) {
        const std::string id = fmt::format("c{}r{}", client, i);
        switch (ctx.random().below(3)) {
        case 0:
            paths.push_back("/echo/" + id);
            break;
        case 1:
            paths.push_back("/big/" + id);
            break;
        default:
            paths.push_back(fmt::format("/nap/{}/{}", ctx.random().below(20), id));
        }
    }
    return paths;
}

/// The request that releases the long poll, a random while after it was parked.
task<void> release_later(sim::context& ctx, net::address server, bool must_finish,
                         client_tally& tally) {
    (void)co_await sleep(ctx.any_duration(30ms));
    std::vector<std::string> paths{"/stop/releaser"};
    // It never aborts: a long poll nobody releases waits for good, in the demo as here.
    co_await pipelining_client(ctx, server, std::move(paths), must_finish, tally, false);
}

task<void> stop_later(http::server& srv, clock::duration after) {
    (void)co_await sleep(after);
    srv.stop();
}

} // namespace

namespace {

/// What the HTTP server scenario saw over all its seeds.
struct server_totals {
    std::uint64_t complete = 0;
    std::uint64_t aborted = 0;
    std::uint64_t parked = 0;
};

/// The HTTP server under 1-6 pipelining clients, a long poll and its releaser.
sim::scenario http_server(server_totals& totals) {
    return [&totals](sim::context& ctx) -> task<void> {
        event released;
        http::server srv(routes(released));
        auto listener = net::tcp_listener::bind("127.0.0.1:0");
        REQUIRE(listener);
        const net::address at = listener->local_address();
        // Half the seeds stop the server at a random instant while clients are busy; the
        // others once every client is done, when each must have been answered in full.
        const bool stop_midway = ctx.random().chance(0.5);
        client_tally tally;
        task_group server_side;
        server_side.spawn(srv.serve(std::move(*listener), quick_options()));
        {
            task_group clients;
            const std::size_t n = 1 + ctx.random().below(6);
            for (std::size_t i = 0; i < n; ++i)
                clients.spawn(
                    pipelining_client(ctx, at, random_paths(ctx, i), !stop_midway, tally));
            // A long poll and, a little later, the request that releases it.
            clients.spawn(pipelining_client(ctx, at, std::vector<std::string>{"/req/parked"},
                                            !stop_midway, tally));
            clients.spawn(release_later(ctx, at, !stop_midway, tally));
            if (stop_midway) clients.spawn(stop_later(srv, ctx.any_duration(40ms)));
            co_await clients.join();
        }
        if (!stop_midway) srv.stop();
        co_await server_side.join();
        CHECK(tally.out_of_order == 0);
        CHECK(tally.missing == 0);
        totals.complete += tally.complete;
        totals.aborted += tally.aborted;
        totals.parked += tally.parked;
    };
}

/// Rings squeezed so that the SQ fills, the CQ overflows and the buffer ring runs dry.
io::loop_options tiny_rings() {
    io::loop_options tiny;
    tiny.ring.entries = 4;
    tiny.ring.cq_factor = 1;
    tiny.receive_buffers = {.count = 2, .size = 256};
    return tiny;
}

server_totals listed_server_totals;
const sim::listed server_listed("http server", [] { return http_server(listed_server_totals); });
const sim::listed tiny_listed(
    "http server, tiny rings", [] { return http_server(listed_server_totals); }, tiny_rings());

} // namespace

TEST_CASE("the HTTP server under random pipelining clients, aborts, long polls and a stop") {
    using sim::mark;
    server_totals totals;
    (void)sim::run_seeds("http server", 3000, http_server(totals),
                         {mark::short_send_resumed, mark::timer_and_completion});
    CHECK(totals.complete > 0);
    CHECK(totals.aborted > 0);
    CHECK(totals.parked > 0);
}

TEST_CASE("the same with tiny rings: a full SQ, CQ overflow and an empty buffer ring") {
    using sim::mark;
    server_totals totals;
    const sim::totals seen =
        sim::run_seeds("http server, tiny rings", 2000, http_server(totals),
                       {mark::multishot_overflowed, mark::no_buffers_rearmed}, tiny_rings());
    CHECK(totals.complete > 0);
    CHECK(seen.sum.overflowed > 0);
    CHECK(seen.sum.no_buffers > 0);
}

// ---------------------------------------------------------------------------------------
// fetch_all against hostile servers

namespace {

enum class hostile { fine, silent, drip, reset, vacant };

/// Accepts connections and treats each as `kind` says: never answers, answers one byte
/// every 5 ms, or resets once the request is in.
task<void> hostile_server(net::tcp_listener& listener, hostile kind, task_group& connections) {
    for (;;) {
        auto s = co_await listener.accept();
        if (!s && s.error() == std::errc::too_many_files_open) continue; // a moment short of fds
        if (!s) co_return;
        connections.spawn([](net::tcp_stream c, hostile k) -> task<void> {
            std::byte buffer[2048];
            auto n = co_await c.recv(buffer);
            if (!n || *n == 0) co_return;
            if (k == hostile::reset) {
                const linger hard{.l_onoff = 1, .l_linger = 0};
                (void)io::sys::setsockopt(c.native_handle(), SOL_SOCKET, SO_LINGER, &hard,
                                          sizeof hard);
                co_return; // closed by the destructor: an RST
            }
            if (k == hostile::drip) {
                const std::string_view answer = "HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n"
                                                "0123456789012345678901234567890123456789";
                for (char ch : answer) {
                    auto sent = co_await c.send_all(std::string_view(&ch, 1));
                    if (!sent) co_return;
                    (void)co_await sleep(5ms);
                }
                co_return;
            }
            // silent: read and never answer, until the client gives up
            while (true) {
                auto more = co_await c.recv(buffer);
                if (!more || *more == 0) co_return;
            }
        }(std::move(*s), kind));
    }
}

} // namespace

namespace {

/// What fetch_all saw over all the seeds of a run.
struct fetch_totals {
    std::uint64_t timeouts = 0;
    std::uint64_t successes = 0;
};

/// fetch_all over 4-15 requests, each to a fine, silent, dripping, resetting or vacant server.
sim::scenario fetch_hostile(fetch_totals& totals) {
    return [&totals](sim::context& ctx) -> task<void> {
        std::uint64_t& timeouts = totals.timeouts;
        std::uint64_t& successes = totals.successes;
        // Each outcome is checked against what its server does, down to the phase a
        // failure happened in.
        event released;
        http::server fine(routes(released));
        auto fine_listener = net::tcp_listener::bind("127.0.0.1:0");
        REQUIRE(fine_listener);
        std::vector<std::uint16_t> ports(5);
        ports[0] = fine_listener->local_address().port();
        std::vector<net::tcp_listener> hostile_listeners;
        for (int k = 1; k <= 3; ++k) {
            auto l = net::tcp_listener::bind("127.0.0.1:0");
            REQUIRE(l);
            ports[static_cast<std::size_t>(k)] = l->local_address().port();
            hostile_listeners.push_back(std::move(*l));
        }
        {
            auto vacant = net::tcp_listener::bind("127.0.0.1:0");
            REQUIRE(vacant);
            ports[4] = vacant->local_address().port();
        }
        task_group servers;
        task_group connections;
        servers.spawn(fine.serve(std::move(*fine_listener), quick_options()));
        for (std::size_t k = 0; k < hostile_listeners.size(); ++k)
            servers.spawn(
                hostile_server(hostile_listeners[k], static_cast<hostile>(k + 1), connections));

        const std::size_t count = 4 + ctx.random().below(12);
        std::vector<http::fetch_request> requests;
        std::vector<hostile> kinds;
        std::vector<clock::duration> deadlines;
        for (std::size_t i = 0; i < count; ++i) {
            const auto kind = static_cast<hostile>(ctx.random().below(5));
            const auto deadline = 20ms + ctx.any_duration(80ms);
            kinds.push_back(kind);
            deadlines.push_back(deadline);
            requests.push_back({.method = http::method::get,
                                .url = fmt::format("http://127.0.0.1:{}/echo/r{}",
                                                   ports[static_cast<std::size_t>(kind)], i),
                                .headers = {},
                                .body = {},
                                .options = {.timeout = deadline}});
        }
        http::client client;
        std::vector<int> outcomes(count, 0);
        std::size_t wrong = 0;
        co_await http::fetch_all(
            client, std::move(requests),
            [&](http::fetch_result& done) {
                ++outcomes.at(done.index);
                const hostile kind = kinds[done.index];
                const auto limit = deadlines[done.index];
                if (done.elapsed > limit + tick) ++wrong;
                const bool timed_out =
                    !done.response && done.response.error() == http::client_failure::timeout;
                switch (kind) {
                case hostile::fine:
                    // A 200 unless the deadline was shorter than the network's delays.
                    if (done.response) {
                        if (done.response->status != 200) ++wrong;
                        if (!done.timings.failed_in.empty()) ++wrong;
                        if (done.timings.remote.port() != ports[0]) ++wrong;
                        ++successes;
                    } else if (!timed_out) {
                        ++wrong;
                    }
                    break;
                case hostile::silent:
                case hostile::drip: // 40 bytes at 5 ms each outlast every deadline here
                    if (!timed_out || done.elapsed < limit) ++wrong;
                    if (done.timings.failed_in != "ttfb") ++wrong; // the head never came
                    ++timeouts;
                    break;
                case hostile::reset:
                    if (done.response || timed_out) ++wrong;
                    break;
                case hostile::vacant:
                    if (done.response || done.response.error() != http::client_failure::connect ||
                        done.timings.failed_in != "connect")
                        ++wrong;
                    break;
                }
                ctx.note(done.index * 8 + static_cast<std::uint64_t>(kind));
            },
            {.concurrency = 1 + ctx.random().below(count), .keep_bodies = true});
        CHECK(wrong == 0);
        CHECK(std::all_of(outcomes.begin(), outcomes.end(), [](int n) { return n == 1; }));
        fine.stop();
        hostile_listeners.clear(); // wakes the accept loops with an error
        co_await servers.join();
        connections.cancel();
        co_await connections.join();
    };
}

fetch_totals listed_fetch_totals;
const sim::listed fetch_listed("fetch_all hostile",
                               [] { return fetch_hostile(listed_fetch_totals); });

} // namespace

TEST_CASE(
    "fetch_all against silent, dripping, resetting and vacant servers: one outcome each, on time") {
    fetch_totals totals;
    sim::run_seeds("fetch_all hostile", 3000, fetch_hostile(totals),
                   {sim::mark::timer_and_completion});
    CHECK(totals.timeouts > 0);
    CHECK(totals.successes > 0);
}
