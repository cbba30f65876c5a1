// tests/http/server/shutdown_test.cpp: how the server ends. A loop torn down under a parked handler
// or an idle keep-alive connection, serve() cancelled by its caller, "forever" timeouts, and
// graceful stops under load that must answer every request whose head had arrived.
#include "snow/http/server/server.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "snow/core/when_any.hpp"
#include "snow/io/run.hpp"
#include "snow/net/tcp_listener.hpp"
#include "snow/sync/event.hpp"
#include "snow/sync/future.hpp"
#include "snow/time/sleep.hpp"
#include "snow/time/timeout.hpp"
#include "support/run_test.hpp"

#include "http/support/raw_client.hpp"

using namespace snow;
using namespace std::chrono_literals;
using http::request;
using http::response;
using snow::testing::raw_client;
using snow::testing::run_test;

TEST_SUITE_BEGIN("http.shutdown");

namespace {

struct handler_log {
    int entered = 0;
};

/// /hello answers at once, /nap sleeps ?ms= (the original /async/), /wait parks on a future
/// nobody resolves (the original /req/ with no /stop/).
http::router routes(handler_log& log) {
    http::router r;
    r.get("/hello", [](request&) -> task<response> { co_return http::text("hello"); });
    r.get("/nap", [&log](request& req) -> task<response> {
        ++log.entered;
        auto ms = req.query("ms");
        const bool expired = co_await sleep(std::chrono::milliseconds(ms ? std::stoi(*ms) : 50));
        co_return http::text(expired ? "slept" : "woken");
    });
    r.get("/wait", [&log](request&) -> task<response> {
        ++log.entered;
        promise<std::string> never;
        auto waiting = never.get_future();
        auto outcome = co_await waiting;
        co_return http::text(outcome ? *outcome : outcome.error().message(), outcome ? 200 : 503);
    });
    return r;
}

http::server_options quick_options() {
    http::server_options options;
    options.header_timeout = 2s;
    options.body_timeout = 2s;
    options.write_timeout = 2s;
    options.shutdown_timeout = 300ms;
    return options;
}

std::string get(std::string_view path) {
    return fmt::format("GET {} HTTP/1.1\r\nHost: test\r\n\r\n", path);
}

task<raw_client> connect_to(net::address at) {
    auto client = co_await raw_client::connect(at);
    REQUIRE(client.has_value());
    co_return std::move(*client);
}

/// Counts spawned tasks down and wakes whoever waits for the last (written with spawn and
/// an event alone, so these tests build against any version of the runtime).
struct countdown {
    int left = 0;
    event done;
    task<void> run(task<void> body) {
        co_await std::move(body);
        if (--left == 0) done.set();
    }
    void spawn_one(task<void> body) {
        ++left;
        spawn(run(std::move(body)));
    }
};

task<bool> eventually(const int& counter, int wanted, std::chrono::milliseconds within = 3s) {
    const auto deadline = std::chrono::steady_clock::now() + within;
    while (counter < wanted) {
        if (std::chrono::steady_clock::now() >= deadline) co_return false;
        (void)co_await sleep(1ms);
    }
    co_return true;
}

} // namespace

// ---------------------------------------------------------------------------------------
// The loop goes away under the server

TEST_CASE("a loop torn down under a parked handler frees nothing still in use") {
    handler_log log;
    http::server srv(routes(log));
    // The client outlives the loop, so its connection is still open at teardown: the
    // handler sleeps and its watcher waits on the socket while everything is destroyed.
    std::optional<raw_client> client;
    run_test([](http::server& s, handler_log& l, std::optional<raw_client>& c) -> task<void> {
        auto listener = net::tcp_listener::bind("127.0.0.1:0").value();
        const auto at = listener.local_address();
        spawn(s.serve(std::move(listener), quick_options()));
        c.emplace(co_await connect_to(at));
        REQUIRE(co_await c->send(get("/nap?ms=10000")));
        REQUIRE(co_await eventually(l.entered, 1));
    }(srv, log, client));
    CHECK(log.entered == 1);
}

TEST_CASE("a loop torn down with an idle keep-alive connection, after an unrelated task ended") {
    handler_log log;
    http::server srv(routes(log));
    run_test([](http::server& s) -> task<void> {
        spawn([]() -> task<void> { co_return; }()); // finishes first, whatever its place
        auto listener = net::tcp_listener::bind("127.0.0.1:0").value();
        const auto at = listener.local_address();
        spawn(s.serve(std::move(listener), quick_options()));
        spawn([]() -> task<void> { (void)co_await sleep(1ms); }());
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send(get("/hello")));
        auto r = co_await client.read_response();
        REQUIRE(r.has_value());
        CHECK(r->body == "hello");
        (void)co_await sleep(5ms); // the connection is idle again, waiting for a request
    }(srv));
}

TEST_CASE("a loop torn down with parked idle connections still open frees every one") {
    // Idle keep-alive connections wait with no coroutine (parked): nothing but the worker
    // owns them, so the worker must close them when it goes, with their clients still there.
    handler_log log;
    http::server srv(routes(log));
    std::vector<raw_client> clients;
    run_test([](http::server& s, std::vector<raw_client>& held) -> task<void> {
        auto listener = net::tcp_listener::bind("127.0.0.1:0").value();
        const auto at = listener.local_address();
        spawn(s.serve(std::move(listener), quick_options()));
        for (int i = 0; i < 8; ++i) {
            held.push_back(co_await connect_to(at));
            REQUIRE(co_await held.back().send(get("/hello")));
            auto r = co_await held.back().read_response();
            REQUIRE(r.has_value());
            CHECK(r->body == "hello");
        }
        CHECK(s.stats().connections_open == 8);
    }(srv, clients));
    CHECK(srv.stats().connections_open == 0);
    CHECK(srv.stats().requests == 8);
}

// ---------------------------------------------------------------------------------------
// serve() under its caller's cancellation

namespace {
struct cancelled_serve {
    std::optional<std::string> in_flight_body;
    bool in_flight_closed = false;
    bool refused_after = false;
    std::chrono::steady_clock::duration serve_took{};
};

task<void> busy_client(net::address at, cancelled_serve& out, handler_log& log) {
    auto client = co_await connect_to(at);
    REQUIRE(co_await client.send(get("/nap?ms=150")));
    REQUIRE(co_await eventually(log.entered, 1));
    auto r = co_await client.read_response(false, 3s);
    if (r) out.in_flight_body = r->body;
    out.in_flight_closed = r && r->announces_close();
}
} // namespace

TEST_CASE("serve() cancelled by with_timeout stops accepting and drains its connections") {
    handler_log log;
    http::server srv(routes(log));
    cancelled_serve out;
    run_test([](http::server& s, cancelled_serve& o, handler_log& l) -> task<void> {
        auto listener = net::tcp_listener::bind("127.0.0.1:0").value();
        const auto at = listener.local_address();
        countdown clients;
        clients.spawn_one(busy_client(at, o, l));
        const auto start = std::chrono::steady_clock::now();
        co_await with_timeout(s.serve(std::move(listener), quick_options()), 60ms);
        o.serve_took = std::chrono::steady_clock::now() - start;
        auto late = co_await net::tcp_stream::connect(at);
        o.refused_after = !late.has_value();
        co_await clients.done.wait();
    }(srv, out, log));
    REQUIRE(out.in_flight_body.has_value());
    CHECK(*out.in_flight_body == "slept"); // the request in flight finished
    CHECK(out.in_flight_closed);
    CHECK(out.refused_after);
    CHECK(out.serve_took >= 150ms); // serve() returned only once the connection was done
    CHECK(srv.stats().connections_open.load() == 0);
}

TEST_CASE("serve() as a when_any loser is joined, then stop() is harmless") {
    handler_log log;
    http::server srv(routes(log));
    run_test([](http::server& s, handler_log& l) -> task<void> {
        auto listener = net::tcp_listener::bind("127.0.0.1:0").value();
        const auto at = listener.local_address();
        auto serving = [](http::server& server, net::tcp_listener lst) -> task<int> {
            co_await server.serve(std::move(lst), quick_options());
            co_return 0;
        };
        auto client = [](net::address to, handler_log& lg) -> task<int> {
            auto c = co_await connect_to(to);
            REQUIRE(co_await c.send(get("/nap?ms=20")));
            auto r = co_await c.read_response();
            REQUIRE(r.has_value());
            CHECK(r->body == "slept");
            (void)lg;
            co_return 1;
        };
        auto raced = co_await when_any(serving(s, std::move(listener)), client(at, l));
        CHECK(raced.index == 1);
        s.stop(); // the worker is gone: nothing may reach it
        co_await yield();
        co_await yield();
    }(srv, log));
    CHECK(srv.stats().connections_open.load() == 0);
}

TEST_CASE("an idle_timeout of milliseconds::max() keeps a keep-alive connection open") {
    handler_log log;
    http::server srv(routes(log));
    auto options = quick_options();
    options.idle_timeout = std::chrono::milliseconds::max();
    options.header_timeout = std::chrono::milliseconds::max();
    run_test([](http::server& s, http::server_options o) -> task<void> {
        auto listener = net::tcp_listener::bind("127.0.0.1:0").value();
        const auto at = listener.local_address();
        countdown serving;
        serving.spawn_one(s.serve(std::move(listener), std::move(o)));
        auto client = co_await connect_to(at);
        for (int i = 0; i < 3; ++i) {
            REQUIRE(co_await client.send(get("/hello")));
            auto r = co_await client.read_response();
            REQUIRE(r.has_value());
            CHECK(r->body == "hello");
            CHECK(co_await client.stays_silent(30ms)); // not closed while idle
        }
        s.stop();
        co_await serving.done.wait();
    }(srv, std::move(options)));
}

// ---------------------------------------------------------------------------------------
// Graceful stops under load

namespace {

/// What one load thread saw: requests sent and responses read in full.
struct load_counts {
    std::atomic<std::uint64_t> responses{0};
    std::atomic<std::uint64_t> cut{0}; ///< a response that started and did not finish
};

/// Sends `depth` requests at a time and reads their responses, until the server closes.
task<void> load_client(net::address at, std::string path, int depth, int rounds,
                       load_counts& counts) {
    auto connected = co_await raw_client::connect(at);
    if (!connected) co_return; // the server had stopped accepting
    raw_client client = std::move(*connected);
    for (int round = 0; round < rounds; ++round) {
        std::string batch;
        for (int i = 0; i < depth; ++i) batch += get(path);
        if (!co_await client.send(std::move(batch))) co_return;
        for (int i = 0; i < depth; ++i) {
            auto r = co_await client.read_response(false, 5s);
            if (!r) {
                if (!client.received().empty()) ++counts.cut;
                co_return;
            }
            ++counts.responses;
            if (r->announces_close()) co_return;
        }
    }
}

task<void> load(net::address at, http::server& srv, std::chrono::milliseconds stop_after,
                load_counts& counts) {
    countdown clients;
    for (int i = 0; i < 6; ++i) clients.spawn_one(load_client(at, "/hello", 1, 400, counts));
    for (int i = 0; i < 3; ++i) clients.spawn_one(load_client(at, "/hello", 8, 100, counts));
    for (int i = 0; i < 3; ++i) clients.spawn_one(load_client(at, "/nap?ms=5", 2, 100, counts));
    for (int i = 0; i < 2; ++i) clients.spawn_one(load_client(at, "/wait", 1, 1, counts));
    (void)co_await sleep(stop_after);
    srv.stop(); // from this thread: the server's loop hears it through post()
    co_await clients.done.wait();
}

} // namespace

TEST_CASE("20 graceful stops under load answer every request that reached a handler") {
    std::mt19937 random(20261201);
    for (int stop = 0; stop < 20; ++stop) {
        CAPTURE(stop);
        handler_log log;
        http::server srv(routes(log));
        auto listener = net::tcp_listener::bind("127.0.0.1:0").value();
        const auto at = listener.local_address();
        load_counts counts;
        const auto stop_after = std::chrono::milliseconds(5 + random() % 40);
        std::thread loader([&] { snow::run(load(at, srv, stop_after, counts)); });
        run_test(srv.serve(std::move(listener), quick_options()), 20s);
        loader.join();
        INFO("responses ", counts.responses.load(), " requests ", srv.stats().requests.load());
        CHECK(counts.cut.load() == 0);
        CHECK(counts.responses.load() == srv.stats().requests.load());
        CHECK(srv.stats().connections_open.load() == 0);
    }
}
