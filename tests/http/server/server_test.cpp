// tests/http/server/server_test.cpp: the HTTP server end to end over loopback. Each test serves a
// router on 127.0.0.1:0 in-process (server::serve on the test's loop), talks to it with raw
// sockets that send exact bytes, and stops it gracefully at the end, awaiting serve() so that
// no connection outlives the test.
#include "snow/http/server/server.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "snow/core/when_all.hpp"
#include "snow/http/server/middleware.hpp"
#include "snow/io/run.hpp"
#include "snow/net/tcp_listener.hpp"
#include "snow/sync/event.hpp"
#include "snow/sync/future.hpp"
#include "snow/time/sleep.hpp"
#include "support/run_test.hpp"

#include "http/support/raw_client.hpp"

using namespace snow;
using namespace std::chrono_literals;
using http::request;
using http::response;
using snow::testing::raw_client;
using snow::testing::raw_response;
using snow::testing::run_test;
using steady = std::chrono::steady_clock;

TEST_SUITE_BEGIN("http.server");

namespace {

// ---------------------------------------------------------------------------------------
// The server under test

/// Short deadlines, so a test that trips one fails in seconds rather than minutes.
http::server_options test_options() {
    http::server_options options;
    options.header_timeout = 2s;
    options.body_timeout = 2s;
    options.idle_timeout = 5s;
    options.write_timeout = 2s;
    options.shutdown_timeout = 1s;
    return options;
}

/// What handlers report back to the test.
struct probe {
    bool entered = false;
    bool finished = false;
    std::optional<std::error_code> wait_outcome;
    std::optional<promise<std::string>> pending; ///< resolved by nobody: the handler waits
};

task<response> hello(request&) {
    co_return http::text("hello");
}

task<response> echo(request& req) {
    co_return http::text(std::string(req.body()));
}

task<response> fail(request&) {
    throw std::runtime_error("the handler failed on purpose");
    co_return http::text("unreachable");
}

/// Sleeps `?ms=` milliseconds on a timer, then answers "slept".
task<response> nap(request& req, probe& p) {
    p.entered = true;
    auto ms = req.query("ms");
    const bool expired = co_await sleep(std::chrono::milliseconds(ms ? std::stoi(*ms) : 100));
    p.finished = expired;
    co_return http::text(expired ? "slept" : "woken");
}

/// Awaits a future nobody resolves; records how the wait ended (cancellation, in practice).
task<response> wait_forever(request&, probe& p) {
    p.entered = true;
    p.pending.emplace();
    auto waiting = p.pending->get_future();
    auto outcome = co_await waiting;
    p.wait_outcome = outcome ? std::error_code{} : outcome.error();
    co_return http::text("resolved");
}

task<response> user_posts(request& req) {
    co_return http::text(fmt::format("user {} posts", req.param("id")));
}

task<response> user_by_regex(request& req) {
    co_return http::text(fmt::format("id {} of {}", req.group(1), req.group_count()));
}

task<response> numbered(request& req) {
    co_return http::text(std::string(req.param("n")));
}

task<response> show_query(request& req) {
    co_return http::text(fmt::format("a={} b={} missing={}", req.query("a").value_or("-"),
                                     req.query("b").value_or("-"),
                                     req.query("missing").has_value()));
}

task<result<void>> three_chunks(http::body_writer& out) {
    for (std::string_view part : {"one", "two", "three"}) {
        if (auto written = co_await out.write(part); !written) co_return written;
        (void)co_await sleep(5ms);
    }
    co_return result<void>{};
}

task<response> streamed(request&) {
    response r;
    r.headers.add("Content-Type", "text/plain");
    r.stream = three_chunks;
    co_return r;
}

task<response> huge(request&) {
    co_return http::text(std::string(std::size_t{32} << 20, 'x'));
}

task<response> goodbye(request&) {
    co_return http::text("bye").header("Connection", "close");
}

task<response> evil(request& req) {
    co_return http::text(fmt::format("matched {} bytes", req.group(1).size()));
}

/// The routes every test serves. `p` receives what the probing handlers see.
http::router test_routes(probe& p) {
    http::router r;
    r.get("/hello", hello);
    r.post("/echo", echo);
    r.get("/throw", fail);
    r.get("/nap", [&p](request& req) { return nap(req, p); });
    r.get("/wait", [&p](request& req) { return wait_forever(req, p); });
    r.get("/users/{id}/posts", user_posts);
    r.add_regex(R"(/user/(\d+))", user_by_regex);
    r.get("/n/{n}", numbered);
    r.get("/query", show_query);
    r.get("/stream", streamed);
    r.post("/only-post", hello);
    r.add_regex(R"(/evil/(a+)+$)", evil);
    r.get("/huge", huge);
    r.get("/bye", goodbye);
    return r;
}

// ---------------------------------------------------------------------------------------
// Running a test against it

using client_body = std::function<task<void>(net::address)>;

task<void> serve_then_signal(http::server& srv, net::tcp_listener listener,
                             http::server_options options, event& stopped) {
    co_await srv.serve(std::move(listener), std::move(options));
    stopped.set();
}

/// Serves on 127.0.0.1:0 while `client` runs, then stops the server and waits for serve() to
/// return: also when the client failed, so a failed check never leaves connections behind.
task<void> serve_while(http::server& srv, http::server_options options, client_body client) {
    auto listener = net::tcp_listener::bind("127.0.0.1:0");
    REQUIRE(listener.has_value());
    const net::address address = listener->local_address();
    event stopped;
    spawn(serve_then_signal(srv, std::move(*listener), std::move(options), stopped));
    std::exception_ptr failure;
    try {
        co_await client(address);
    } catch (...) {
        failure = std::current_exception();
    }
    srv.stop();
    co_await stopped.wait();
    if (failure) std::rethrow_exception(failure);
}

void run_server_test(http::server& srv, http::server_options options, client_body client,
                     std::chrono::milliseconds limit = 20s, io::loop_options loop = {}) {
    run_test(serve_while(srv, std::move(options), std::move(client)), limit, loop);
    CHECK(srv.stats().connections_open.load() == 0);
}

std::string get(std::string_view path, std::string_view extra_headers = "") {
    return fmt::format("GET {} HTTP/1.1\r\nHost: test\r\n{}\r\n", path, extra_headers);
}

std::string post(std::string_view path, std::string_view body) {
    return fmt::format("POST {} HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n\r\n{}", path,
                       body.size(), body);
}

task<raw_client> connect_to(net::address at) {
    auto client = co_await raw_client::connect(at);
    REQUIRE(client.has_value());
    co_return std::move(*client);
}

/// Sends `bytes` on its own connection and reads one response.
task<std::optional<raw_response>> exchange(net::address at, std::string bytes) {
    auto client = co_await connect_to(at);
    REQUIRE(co_await client.send(std::move(bytes)));
    co_return co_await client.read_response();
}

/// Polls `done` every few milliseconds; false if it is still false after `within`.
task<bool> eventually(std::function<bool()> done, std::chrono::milliseconds within = 2s) {
    const auto deadline = steady::now() + within;
    while (!done()) {
        if (steady::now() >= deadline) co_return false;
        (void)co_await sleep(2ms);
    }
    co_return true;
}

/// The request is answered with `status`, announces the close, and the connection closes.
task<void> expect_rejected(net::address at, std::string bytes, int status) {
    auto client = co_await connect_to(at);
    (void)co_await client.send(std::move(bytes)); // a server that cut us off may refuse the rest
    auto r = co_await client.read_response();
    REQUIRE_MESSAGE(r.has_value(), "no response; received: ", client.received());
    CHECK(r->status == status);
    CHECK(r->version == "HTTP/1.1");
    CHECK(r->announces_close());
    CHECK(r->header("Content-Length").has_value());
    CHECK(co_await client.closed());
}

/// One rejection test: `bytes` are answered `status` and the connection closed.
void check_rejected(std::string bytes, int status, http::server_options options = test_options()) {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, std::move(options), [bytes, status](net::address at) {
        return expect_rejected(at, bytes, status);
    });
    CHECK(srv.stats().rejected.load() == 1);
    CHECK(srv.stats().requests.load() == 0);
}

} // namespace

// ---------------------------------------------------------------------------------------
// Rejections: every one is answered with its status and the connection closed.

TEST_CASE("a malformed request line is answered 400 and the connection closed") {
    check_rejected("GET /hello HTTP/1.1 extra\r\nHost: test\r\n\r\n", 400);
}

TEST_CASE("a request line without a target is answered 400") {
    check_rejected("GET HTTP/1.1\r\nHost: test\r\n\r\n", 400);
}

TEST_CASE("a header line without a colon is answered 400") {
    check_rejected("GET /hello HTTP/1.1\r\nHost: test\r\nNo colon here\r\n\r\n", 400);
}

TEST_CASE("an obs-fold continuation line is answered 400") {
    check_rejected("GET /hello HTTP/1.1\r\nHost: test\r\nX-Long: first\r\n  second\r\n\r\n", 400);
}

TEST_CASE("whitespace between a field name and its colon is answered 400") {
    check_rejected("GET /hello HTTP/1.1\r\nHost : test\r\n\r\n", 400);
}

TEST_CASE("a NUL byte in a field value is answered 400") {
    using namespace std::string_literals;
    check_rejected("GET /hello HTTP/1.1\r\nHost: test\r\nX-Nul: a\0b\r\n\r\n"s, 400);
}

TEST_CASE("Content-Length together with Transfer-Encoding is answered 400") {
    check_rejected("POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                   400);
}

TEST_CASE("two different Content-Length values are answered 400") {
    check_rejected("POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n"
                   "Content-Length: 6\r\n\r\nhello!",
                   400);
}

TEST_CASE("a chunk size that is not hexadecimal is answered 400") {
    check_rejected("POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "zz\r\nhello\r\n0\r\n\r\n",
                   400);
}

TEST_CASE("an HTTP/1.1 request without Host is answered 400") {
    check_rejected("GET /hello HTTP/1.1\r\n\r\n", 400);
}

TEST_CASE("an HTTP/1.1 request with two Host fields is answered 400") {
    check_rejected("GET /hello HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n", 400);
}

TEST_CASE("an HTTP/2.0 request line is answered 505") {
    check_rejected("GET /hello HTTP/2.0\r\nHost: test\r\n\r\n", 505);
}

TEST_CASE("a head over max_header_bytes is answered 431") {
    auto options = test_options();
    options.limits.max_header_bytes = 4096;
    check_rejected(get("/hello", fmt::format("X-Big: {}\r\n", std::string(8192, 'h'))), 431,
                   options);
}

TEST_CASE("a request-target over max_target_bytes is answered 414") {
    check_rejected(get("/" + std::string(9000, 'u')), 414);
}

TEST_CASE("a Content-Length over max_body_bytes is answered 413 before the body is read") {
    auto options = test_options();
    options.limits.max_body_bytes = 1024;
    check_rejected(post("/echo", std::string(2048, 'b')), 413, options);
}

TEST_CASE("a chunked body growing over max_body_bytes is answered 413") {
    auto options = test_options();
    options.limits.max_body_bytes = 1024;
    const std::string chunk = fmt::format("400\r\n{}\r\n", std::string(1024, 'c'));
    check_rejected("POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n" +
                       chunk + chunk + "0\r\n\r\n",
                   413, options);
}

TEST_CASE("a transfer coding the server does not implement is answered 501") {
    check_rejected("POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                   "3\r\nxyz\r\n0\r\n\r\n",
                   501);
}

TEST_CASE("a request whose last transfer coding is not chunked is answered 400") {
    // RFC 9112 §6.3: its length cannot be determined, so 400 and close (not 501).
    check_rejected("POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: gzip\r\n\r\nxyz", 400);
}

// ---------------------------------------------------------------------------------------
// Routing answers: not rejections, so the connection stays open.

TEST_CASE("an unknown path is answered 404 Not Found and the connection stays usable") {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send(get("/nowhere")));
        auto missing = co_await client.read_response();
        REQUIRE(missing.has_value());
        CHECK(missing->status == 404);
        CHECK(missing->body == "Not Found");
        CHECK_FALSE(missing->announces_close());
        REQUIRE(co_await client.send(get("/hello")));
        auto next = co_await client.read_response();
        REQUIRE(next.has_value());
        CHECK(next->status == 200);
    });
}

TEST_CASE("a path routed only for other methods is answered 405 with Allow") {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send(get("/only-post")));
        auto r = co_await client.read_response();
        REQUIRE(r.has_value());
        CHECK(r->status == 405);
        REQUIRE(r->header("Allow").has_value());
        CHECK(r->header("Allow")->find("POST") != std::string::npos);
        CHECK(r->header("Allow")->find("GET") == std::string::npos);
        REQUIRE(co_await client.send(post("/only-post", "")));
        auto allowed = co_await client.read_response();
        REQUIRE(allowed.has_value());
        CHECK(allowed->status == 200);
    });
}

// ---------------------------------------------------------------------------------------
// Keep-alive

TEST_CASE("an HTTP/1.1 connection serves several requests by default") {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        for (int i = 0; i < 5; ++i) {
            REQUIRE(co_await client.send(get(fmt::format("/n/{}", i))));
            auto r = co_await client.read_response();
            REQUIRE(r.has_value());
            CHECK(r->status == 200);
            CHECK(r->body == std::to_string(i));
            CHECK_FALSE(r->announces_close());
        }
    });
    CHECK(srv.stats().connections_accepted.load() == 1);
    CHECK(srv.stats().requests.load() == 5);
}

TEST_CASE("an HTTP/1.0 connection with Connection: keep-alive stays open") {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        for (int i = 0; i < 3; ++i) {
            REQUIRE(co_await client.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
            auto r = co_await client.read_response();
            REQUIRE(r.has_value());
            CHECK(r->version == "HTTP/1.0");
            CHECK(r->body == "hello");
            CHECK(r->header("Connection") == "keep-alive");
        }
        CHECK(co_await client.stays_silent(50ms));
    });
    CHECK(srv.stats().connections_accepted.load() == 1);
}

TEST_CASE("an HTTP/1.0 connection closes after one response by default") {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send("GET /hello HTTP/1.0\r\n\r\n"));
        auto r = co_await client.read_response();
        REQUIRE(r.has_value());
        CHECK(r->body == "hello");
        CHECK(r->announces_close());
        CHECK(co_await client.closed());
    });
}

TEST_CASE("Connection: close from the client closes after the response") {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send(get("/hello", "Connection: close\r\n")));
        auto r = co_await client.read_response();
        REQUIRE(r.has_value());
        CHECK(r->status == 200);
        CHECK(r->announces_close());
        CHECK(co_await client.closed());
        CHECK(client.received().empty());
    });
}

TEST_CASE("a handler's Connection: close closes after its response") {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send(get("/bye") + get("/hello")));
        auto r = co_await client.read_response();
        REQUIRE(r.has_value());
        CHECK(r->body == "bye");
        CHECK(r->announces_close());
        CHECK(r->header_count("Connection") == 1);
        CHECK(co_await client.closed());
        CHECK(client.received().empty()); // the pipelined /hello is not answered
    });
}

TEST_CASE("at max_connections a newcomer waits until a connection closes") {
    auto options = test_options();
    options.max_connections = 2;
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, options, [](net::address at) -> task<void> {
        auto first = co_await connect_to(at);
        auto second = co_await connect_to(at);
        for (raw_client* c : {&first, &second}) {
            REQUIRE(co_await c->send(get("/hello")));
            REQUIRE((co_await c->read_response()).has_value());
        }
        auto third = co_await connect_to(at); // the kernel's backlog takes it
        REQUIRE(co_await third.send(get("/hello")));
        CHECK_MESSAGE(co_await third.stays_silent(300ms), "over the limit, yet received '",
                      third.received(), "'");
        co_await first.close();
        auto r = co_await third.read_response(false, 3s);
        REQUIRE(r.has_value());
        CHECK(r->body == "hello");
    });
    CHECK(srv.stats().connections_accepted.load() == 3);
}

namespace {
task<void> burst(net::address at, std::size_t& served_at_once, std::size_t& served_in_all) {
    std::vector<raw_client> clients;
    for (int i = 0; i < 8; ++i) {
        clients.push_back(co_await connect_to(at));
        REQUIRE(co_await clients.back().send(get("/hello")));
    }
    (void)co_await sleep(300ms);
    std::vector<bool> answered(clients.size(), false);
    for (std::size_t i = 0; i < clients.size(); ++i)
        answered[i] = (co_await clients[i].read_response(false, 20ms)).has_value();
    served_at_once = static_cast<std::size_t>(std::count(answered.begin(), answered.end(), true));
    // Leaving frees the places, one by one, for those still waiting.
    served_in_all = served_at_once;
    for (std::size_t i = 0; i < clients.size(); ++i)
        if (answered[i]) co_await clients[i].close();
    for (std::size_t i = 0; i < clients.size(); ++i) {
        if (answered[i]) continue;
        if ((co_await clients[i].read_response(false, 3s)).has_value()) ++served_in_all;
        co_await clients[i].close();
    }
}
} // namespace

TEST_CASE("a burst of connections is held to max_connections") {
    auto options = test_options();
    options.max_connections = 2;
    probe p;
    http::server srv(test_routes(p));
    std::size_t at_once = 0;
    std::size_t in_all = 0;
    run_server_test(srv, options,
                    [&at_once, &in_all](net::address at) { return burst(at, at_once, in_all); });
    CHECK(at_once == 2);
    CHECK(in_all == 8);
}

// ---------------------------------------------------------------------------------------
// Pipelining

TEST_CASE("three pipelined requests in one write are answered in order") {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send(get("/hello") + post("/echo", "abc") + get("/users/9/posts")));
        std::vector<std::string> bodies;
        for (int i = 0; i < 3; ++i) {
            auto r = co_await client.read_response();
            REQUIRE(r.has_value());
            bodies.push_back(r->body);
        }
        CHECK(bodies == std::vector<std::string>{"hello", "abc", "user 9 posts"});
    });
}

TEST_CASE("a hundred pipelined requests in one write are answered in order") {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        std::string all;
        for (int i = 0; i < 100; ++i) all += get(fmt::format("/n/{}", i));
        REQUIRE(co_await client.send(std::move(all)));
        int in_order = 0;
        for (int i = 0; i < 100; ++i) {
            auto r = co_await client.read_response();
            REQUIRE(r.has_value());
            if (r->status == 200 && r->body == std::to_string(i)) ++in_order;
        }
        CHECK(in_order == 100);
        CHECK(co_await client.stays_silent(20ms));
    });
    CHECK(srv.stats().requests.load() == 100);
}

TEST_CASE("requests pipelined behind a suspended handler are answered in order after it") {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        // More than a kilobyte queues up behind the sleeping handler.
        std::string all = get("/nap?ms=50");
        for (int i = 0; i < 40; ++i)
            all += get(fmt::format("/n/{}", i), "X-Pad: a little padding to pass 2 KiB\r\n");
        REQUIRE(all.size() > 2048);
        REQUIRE(co_await client.send(std::move(all)));
        auto first = co_await client.read_response();
        REQUIRE(first.has_value());
        CHECK(first->body == "slept");
        int in_order = 0;
        for (int i = 0; i < 40; ++i) {
            auto r = co_await client.read_response();
            REQUIRE_MESSAGE(r.has_value(), "response ", i, " missing");
            if (r->body == std::to_string(i)) ++in_order;
        }
        CHECK(in_order == 40);
    });
}

namespace {
/// One client's keep-alive round: three requests one after another, then three pipelined.
task<int> keep_alive_round(net::address at, int id) {
    auto client = co_await connect_to(at);
    int answered = 0;
    for (int i = 0; i < 3; ++i) {
        REQUIRE(co_await client.send(get(fmt::format("/n/{}", id * 10 + i))));
        auto r = co_await client.read_response();
        if (r && r->body == std::to_string(id * 10 + i)) ++answered;
    }
    const std::vector<std::string> expected{"hello", std::string(300, 'x'), "user 7 posts"};
    REQUIRE(
        co_await client.send(get("/hello") + post("/echo", expected[1]) + get("/users/7/posts")));
    for (const auto& body : expected) {
        auto r = co_await client.read_response();
        if (r && r->body == body) ++answered;
    }
    co_return answered;
}
} // namespace

TEST_CASE("requests are served alike with no receive-buffer pool and with one that runs dry") {
    // The idle wait selects a pool buffer when bytes arrive; without a pool, or when a turn
    // completes more receives than the pool holds, the connection receives into its own.
    for (unsigned count : {0u, 2u}) {
        CAPTURE(count);
        io::loop_options loop;
        loop.receive_buffers = {.count = count, .size = 64}; // requests span several buffers
        probe p;
        http::server srv(test_routes(p));
        constexpr int clients = 40;
        int answered = 0;
        run_server_test(
            srv, test_options(),
            [&answered](net::address at) -> task<void> {
                std::vector<task<int>> rounds;
                for (int id = 0; id < clients; ++id) rounds.push_back(keep_alive_round(at, id));
                auto results = co_await when_all(std::move(rounds));
                for (int n : results) answered += n;
                // A suspended handler's watcher waits on the pool too.
                auto client = co_await connect_to(at);
                REQUIRE(co_await client.send(get("/nap?ms=20") + get("/hello")));
                auto first = co_await client.read_response();
                auto second = co_await client.read_response();
                if (first && first->body == "slept") ++answered;
                if (second && second->body == "hello") ++answered;
            },
            20s, loop);
        CHECK(answered == clients * 6 + 2);
    }
}

// ---------------------------------------------------------------------------------------
// Heads, bodies, Expect

TEST_CASE("HEAD is answered with the GET headers and no body") {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        // A body after the HEAD response would be misread as the start of the next one.
        REQUIRE(co_await client.send("HEAD /hello HTTP/1.1\r\nHost: test\r\n\r\n" + get("/hello")));
        auto head = co_await client.read_response(/*head_request=*/true);
        REQUIRE(head.has_value());
        CHECK(head->status == 200);
        CHECK(head->header("Content-Length") == "5");
        CHECK(head->body.empty());
        CHECK(head->raw.ends_with("\r\n\r\n"));
        auto next = co_await client.read_response();
        REQUIRE(next.has_value());
        CHECK(next->status == 200);
        CHECK(next->body == "hello");
    });
}

TEST_CASE("a response carries Date and Content-Length") {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto r = co_await exchange(at, get("/hello"));
        REQUIRE(r.has_value());
        CHECK(r->header("Content-Length") == "5");
        REQUIRE(r->header("Date").has_value());
        CHECK(r->header("Date")->ends_with(" GMT"));
        CHECK(r->header_count("Date") == 1);
        CHECK(r->header("Content-Type")->starts_with("text/plain"));
    });
}

TEST_CASE("a chunked request body with an extension and a trailer is echoed whole") {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send("POST /echo HTTP/1.1\r\nHost: test\r\n"
                                     "Transfer-Encoding: chunked\r\n\r\n"
                                     "5;name=value\r\nhello\r\n"
                                     "6\r\n, snow\r\n"
                                     "0\r\nX-Trailer: yes\r\n\r\n"));
        auto r = co_await client.read_response();
        REQUIRE(r.has_value());
        CHECK(r->status == 200);
        CHECK(r->body == "hello, snow");
        // The connection is in step afterwards.
        REQUIRE(co_await client.send(get("/hello")));
        auto next = co_await client.read_response();
        REQUIRE(next.has_value());
        CHECK(next->body == "hello");
    });
}

TEST_CASE("a chunked body split across many writes is echoed whole") {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send("POST /echo HTTP/1.1\r\nHost: test\r\n"
                                     "Transfer-Encoding: chunked\r\n\r\n"));
        std::string expected;
        for (int i = 0; i < 20; ++i) {
            std::string part(100 + i, static_cast<char>('a' + i));
            expected += part;
            REQUIRE(co_await client.send(fmt::format("{:x}\r\n{}\r\n", part.size(), part)));
            (void)co_await sleep(1ms);
        }
        REQUIRE(co_await client.send("0\r\n\r\n"));
        auto r = co_await client.read_response();
        REQUIRE(r.has_value());
        CHECK(r->body.size() == expected.size());
        CHECK(r->body == expected);
    });
}

TEST_CASE("Expect: 100-continue is answered 100 Continue before the body is sent") {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send("POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 7\r\n"
                                     "Expect: 100-continue\r\n\r\n"));
        auto interim = co_await client.read_response(false, 2s);
        REQUIRE_MESSAGE(interim.has_value(), "no 100; received: ", client.received());
        CHECK(interim->status == 100);
        CHECK(interim->raw == "HTTP/1.1 100 Continue\r\n\r\n");
        REQUIRE(co_await client.send("payload"));
        auto r = co_await client.read_response();
        REQUIRE(r.has_value());
        CHECK(r->status == 200);
        CHECK(r->body == "payload");
    });
}

TEST_CASE("Expect: 100-continue with a body over the limit is answered 413 without 100") {
    auto options = test_options();
    options.limits.max_body_bytes = 16;
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, options, [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send("POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n"
                                     "Expect: 100-continue\r\n\r\n"));
        auto r = co_await client.read_response();
        REQUIRE(r.has_value());
        CHECK(r->status == 413);
        CHECK(co_await client.closed());
    });
}

// ---------------------------------------------------------------------------------------
// Handlers

TEST_CASE("a handler that throws is answered 500 and the connection serves the next request") {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send(get("/throw")));
        auto failed = co_await client.read_response();
        REQUIRE(failed.has_value());
        CHECK(failed->status == 500);
        CHECK_FALSE(failed->announces_close());
        REQUIRE(co_await client.send(get("/hello")));
        auto next = co_await client.read_response();
        REQUIRE(next.has_value());
        CHECK(next->status == 200);
        CHECK(next->body == "hello");
    });
    CHECK(srv.stats().handler_errors.load() == 1);
}

namespace {
task<void> timed_get(net::address at, std::string path, std::chrono::milliseconds delay,
                     std::vector<std::string>& finished) {
    (void)co_await sleep(delay);
    auto r = co_await exchange(at, get(path));
    REQUIRE(r.has_value());
    finished.push_back(r->body);
}

/// A request to a handler sleeping 500 ms, and 50 ms later one to a quick handler.
task<void> slow_and_quick(net::address at, std::vector<std::string>& finished) {
    co_await when_all(timed_get(at, "/nap?ms=500", 0ms, finished),
                      timed_get(at, "/hello", 50ms, finished));
}
} // namespace

TEST_CASE("a handler awaiting a timer does not hold up another connection") {
    probe p;
    http::server srv(test_routes(p));
    std::vector<std::string> finished;
    run_server_test(srv, test_options(),
                    [&finished](net::address at) { return slow_and_quick(at, finished); });
    CHECK(finished == std::vector<std::string>{"hello", "slept"});
}

// ---------------------------------------------------------------------------------------
// Deadlines

namespace {
struct trickle_state {
    int lines_sent = 0;
    bool closed = false;
    bool stop = false;
    std::string received;
    steady::duration open_for{};
    std::optional<raw_response> neighbour;
};

/// A slowloris: a head that never ends, one field line every 50 ms (for 2 s at most).
task<void> trickle(raw_client& c, trickle_state& s) {
    bool sent = co_await c.send("GET /hello HTTP/1.1\r\nHost: test\r\n");
    while (sent && s.lines_sent < 40 && !s.stop) {
        (void)co_await sleep(50ms);
        if (s.stop) break;
        sent = co_await c.send("X-Slow: a\r\n");
        if (sent) ++s.lines_sent;
    }
}

task<void> watch_for_close(raw_client& c, trickle_state& s) {
    const auto started = steady::now();
    s.closed = co_await c.closed(4s);
    s.open_for = steady::now() - started;
    s.received = c.received();
    s.stop = true;
}

task<void> neighbour(net::address at, trickle_state& s) {
    (void)co_await sleep(100ms);
    s.neighbour = co_await exchange(at, get("/hello"));
}

task<void> slowloris(net::address at, trickle_state& s) {
    auto slow = co_await connect_to(at);
    co_await when_all(trickle(slow, s), watch_for_close(slow, s), neighbour(at, s));
}
} // namespace

TEST_CASE("a client trickling its head is cut off by header_timeout while others are served") {
    auto options = test_options();
    options.header_timeout = 300ms;
    probe p;
    http::server srv(test_routes(p));
    trickle_state s;
    run_server_test(srv, options, [&s](net::address at) { return slowloris(at, s); });
    CHECK(s.closed);
    CHECK(s.lines_sent < 40); // cut off before it finished trickling
    CHECK(s.open_for >= 250ms);
    CHECK(s.open_for < 2s);
    // Nothing at all, or a 408, may precede the close.
    CHECK((s.received.empty() || s.received.starts_with("HTTP/1.1 408 ")));
    REQUIRE(s.neighbour.has_value());
    CHECK(s.neighbour->status == 200);
    CHECK(srv.stats().timeouts.load() == 1);
}

TEST_CASE("a head cut off by header_timeout is answered 408 before the close") {
    // connection::run() means to send 408 for a partial head whose deadline expired
    // ("if (!idle) co_await reject(408, ...)").
    auto options = test_options();
    options.header_timeout = 200ms;
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, options, [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send("GET /hello HTTP/1.1\r\nHost: test\r\n"));
        auto r = co_await client.read_response(false, 3s);
        REQUIRE_MESSAGE(r.has_value(), "closed without an answer; received '", client.received(),
                        "'");
        CHECK(r->status == 408);
        CHECK(co_await client.closed());
    });
}

TEST_CASE("a body cut off by body_timeout is answered 408 before the close") {
    auto options = test_options();
    options.body_timeout = 200ms;
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, options, [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send(
            "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\nhalf"));
        auto r = co_await client.read_response(false, 3s);
        REQUIRE_MESSAGE(r.has_value(), "closed without an answer; received '", client.received(),
                        "'");
        CHECK(r->status == 408);
        CHECK(co_await client.closed());
    });
}

TEST_CASE("a connection that sends nothing is closed after header_timeout") {
    auto options = test_options();
    options.header_timeout = 300ms;
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, options, [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        const auto started = steady::now();
        CHECK(co_await client.closed(3s));
        const auto open_for = steady::now() - started;
        CHECK(open_for >= 250ms);
        CHECK(open_for < 2500ms);
        CHECK(client.received().empty());
    });
    CHECK(srv.stats().timeouts.load() == 1);
}

TEST_CASE("an idle keep-alive connection is closed after idle_timeout") {
    auto options = test_options();
    options.idle_timeout = 300ms;
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, options, [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send(get("/hello")));
        auto r = co_await client.read_response();
        REQUIRE(r.has_value());
        const auto answered = steady::now();
        CHECK(co_await client.stays_silent(100ms)); // still open before the deadline
        CHECK(co_await client.closed(3s));
        const auto idle_for = steady::now() - answered;
        CHECK(idle_for >= 250ms);
        CHECK(idle_for < 2500ms);
        CHECK(client.received().empty());
    });
}

namespace {
task<void> never_read(net::address at, http::server& srv, bool& dropped) {
    auto client = co_await connect_to(at);
    REQUIRE(co_await client.send(get("/huge")));
    // 32 MiB cannot fit in the socket buffers of a client that reads nothing.
    dropped = co_await eventually([&srv] { return srv.stats().connections_open.load() == 0; }, 3s);
}
} // namespace

TEST_CASE("a client that never reads its response is dropped after write_timeout") {
    auto options = test_options();
    options.write_timeout = 300ms;
    probe p;
    http::server srv(test_routes(p));
    bool dropped = false;
    run_server_test(srv, options,
                    [&srv, &dropped](net::address at) { return never_read(at, srv, dropped); });
    CHECK(dropped);
}

// ---------------------------------------------------------------------------------------
// Stopping

namespace {
struct shutdown_state {
    std::optional<raw_response> in_flight;
    bool in_flight_closed = false;
    bool idle_closed = false;
    std::string idle_received;
    bool refused = false;
};

task<void> shut_down_while_busy(net::address at, http::server& srv, probe& p, shutdown_state& s) {
    auto idle = co_await connect_to(at);
    REQUIRE(co_await idle.send(get("/hello")));
    REQUIRE((co_await idle.read_response()).has_value());

    auto busy = co_await connect_to(at);
    REQUIRE(co_await busy.send(get("/nap?ms=200")));
    REQUIRE(co_await eventually([&p] { return p.entered; }));
    srv.stop();

    s.idle_closed = co_await idle.closed(2s);
    s.idle_received = idle.received();
    // The listener closes once accepting has stopped: connecting is refused from then on.
    for (int attempt = 0; attempt < 100 && !s.refused; ++attempt) {
        auto late = co_await net::tcp_stream::connect(at);
        if (!late && late.error() == std::errc::connection_refused) s.refused = true;
        if (!s.refused) (void)co_await sleep(10ms);
    }
    CHECK_FALSE(p.finished); // the handler was still running during all of this
    s.in_flight = co_await busy.read_response(false, 3s);
    s.in_flight_closed = co_await busy.closed(2s);
}
} // namespace

TEST_CASE("stop lets a request in flight finish, closes idle connections and refuses new ones") {
    probe p;
    http::server srv(test_routes(p));
    shutdown_state s;
    run_server_test(srv, test_options(), [&srv, &p, &s](net::address at) {
        return shut_down_while_busy(at, srv, p, s);
    });
    CHECK(s.idle_closed);
    CHECK(s.idle_received.empty());
    CHECK(s.refused);
    REQUIRE(s.in_flight.has_value());
    CHECK(s.in_flight->status == 200);
    CHECK(s.in_flight->body == "slept");
    CHECK(s.in_flight->announces_close());
    CHECK(s.in_flight_closed);
    CHECK(p.finished);
}

namespace {
task<void> stop_with_a_stuck_handler(net::address at, http::server& srv, probe& p, bool& closed) {
    auto stuck = co_await connect_to(at);
    REQUIRE(co_await stuck.send(get("/wait")));
    REQUIRE(co_await eventually([&p] { return p.entered; }));
    srv.stop();
    closed = co_await stuck.closed(3s);
}
} // namespace

TEST_CASE("stop cancels a request still running after shutdown_timeout") {
    auto options = test_options();
    options.shutdown_timeout = 200ms;
    probe p;
    http::server srv(test_routes(p));
    bool closed = false;
    const auto started = steady::now();
    run_server_test(srv, options, [&srv, &p, &closed](net::address at) {
        return stop_with_a_stuck_handler(at, srv, p, closed);
    });
    CHECK(closed);
    REQUIRE(p.wait_outcome.has_value());
    CHECK(*p.wait_outcome == std::errc::operation_canceled);
    CHECK(steady::now() - started < 5s);
}

namespace {
task<void> leave_while_waiting(net::address at, probe& p) {
    auto client = co_await connect_to(at);
    REQUIRE(co_await client.send(get("/wait")));
    REQUIRE(co_await eventually([&p] { return p.entered; }));
    co_await client.close();
    CHECK(co_await eventually([&p] { return p.wait_outcome.has_value(); }));
}
} // namespace

TEST_CASE("a client that leaves while its handler awaits a future cancels that await") {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, test_options(),
                    [&p](net::address at) { return leave_while_waiting(at, p); });
    REQUIRE(p.wait_outcome.has_value());
    CHECK(*p.wait_outcome == std::errc::operation_canceled);
}

// ---------------------------------------------------------------------------------------
// Streaming

TEST_CASE("a streamed response arrives chunked and the connection goes on") {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send(get("/stream")));
        auto r = co_await client.read_response();
        REQUIRE(r.has_value());
        CHECK(r->status == 200);
        CHECK(r->chunked);
        CHECK_FALSE(r->header("Content-Length").has_value());
        CHECK(r->body == "onetwothree");
        CHECK(r->raw.ends_with("3\r\none\r\n3\r\ntwo\r\n5\r\nthree\r\n0\r\n\r\n"));
        REQUIRE(co_await client.send(get("/hello")));
        auto next = co_await client.read_response();
        REQUIRE(next.has_value());
        CHECK(next->body == "hello");
    });
}

TEST_CASE("a streamed response to an HTTP/1.0 client runs until the close") {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send("GET /stream HTTP/1.0\r\n\r\n"));
        auto r = co_await client.read_response();
        REQUIRE_MESSAGE(r.has_value(), "received: ", client.received());
        CHECK(r->version == "HTTP/1.0");
        CHECK_FALSE(r->chunked);
        CHECK_FALSE(r->header("Content-Length").has_value());
        CHECK(r->body == "onetwothree");
        CHECK(client.saw_eof());
    });
}

TEST_CASE("a streamed response to HTTP/1.0 keep-alive still closes, and says so") {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send("GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
        auto r = co_await client.read_response();
        REQUIRE(r.has_value());
        CHECK(r->announces_close());
        CHECK(r->body == "onetwothree");
    });
}

TEST_CASE("HEAD of a streamed route sends the head only") {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(
            co_await client.send("HEAD /stream HTTP/1.1\r\nHost: test\r\n\r\n" + get("/hello")));
        auto head = co_await client.read_response(/*head_request=*/true);
        REQUIRE(head.has_value());
        CHECK(head->status == 200);
        auto next = co_await client.read_response();
        REQUIRE(next.has_value());
        CHECK(next->body == "hello");
    });
}

// ---------------------------------------------------------------------------------------
// Routing, queries, middleware

TEST_CASE("regex groups and template parameters reach the handler") {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send(get("/user/42") + get("/user/42/more") +
                                     get("/users/abc/posts") + get("/users/abc") + get("/user/x")));
        std::vector<std::string> answers;
        for (int i = 0; i < 5; ++i) {
            auto r = co_await client.read_response();
            REQUIRE(r.has_value());
            answers.push_back(fmt::format("{} {}", r->status, r->body));
        }
        // Regexes match at the start of the path, as re.match did.
        CHECK(answers == std::vector<std::string>{"200 id 42 of 2", "200 id 42 of 2",
                                                  "200 user abc posts", "404 Not Found",
                                                  "404 Not Found"});
    });
}

TEST_CASE("query parameters are split and percent-decoded") {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto r = co_await exchange(at, get("/query?a=1&b=hello%20world&a=2"));
        REQUIRE(r.has_value());
        CHECK(r->body == "a=1 b=hello world missing=false");
        auto none = co_await exchange(at, get("/query"));
        REQUIRE(none.has_value());
        CHECK(none->body == "a=- b=- missing=false");
    });
}

TEST_CASE("middleware before can answer alone and after sees every final status") {
    probe p;
    http::server srv(test_routes(p));
    int guarded_calls = 0;
    std::vector<int> statuses;
    srv.use({.before = [](request& req) -> std::optional<response> {
                 if (req.path() == "/hello" && !req.header("X-Token"))
                     return http::text("token required", 401);
                 return std::nullopt;
             },
             .after = [&statuses](const request&, response& resp,
                                  std::chrono::nanoseconds) { statuses.push_back(resp.status); }});
    srv.use({.before = [&guarded_calls](request&) -> std::optional<response> {
                 ++guarded_calls; // skipped when an earlier hook answered
                 return std::nullopt;
             },
             .after = nullptr});
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send(get("/hello") + get("/hello", "X-Token: t\r\n") +
                                     get("/missing")));
        std::vector<std::string> answers;
        for (int i = 0; i < 3; ++i) {
            auto r = co_await client.read_response();
            REQUIRE(r.has_value());
            answers.push_back(fmt::format("{} {}", r->status, r->body));
        }
        CHECK(answers ==
              std::vector<std::string>{"401 token required", "200 hello", "404 Not Found"});
    });
    CHECK(statuses == std::vector<int>{401, 200, 404});
    CHECK(guarded_calls == 2);
}

TEST_CASE("access_log writes one line per request") {
    std::FILE* log = std::tmpfile();
    REQUIRE(log != nullptr);
    probe p;
    http::server srv(test_routes(p));
    srv.use(http::access_log(log));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send(get("/hello") + get("/missing") + post("/echo", "abc")));
        for (int i = 0; i < 3; ++i) REQUIRE((co_await client.read_response()).has_value());
    });
    std::fflush(log);
    std::rewind(log);
    std::vector<std::string> lines;
    char line[1024];
    while (std::fgets(line, sizeof line, log) != nullptr) lines.emplace_back(line);
    std::fclose(log);
    REQUIRE(lines.size() == 3);
    CHECK(lines[0].starts_with("127.0.0.1:"));
    CHECK(lines[0].find("\"GET /hello HTTP/1.1\" 200 5 ") != std::string::npos);
    CHECK(lines[1].find("\"GET /missing HTTP/1.1\" 404 ") != std::string::npos);
    CHECK(lines[2].find("\"POST /echo HTTP/1.1\" 200 3 ") != std::string::npos);
    for (const auto& l : lines) CHECK(l.ends_with("ms\n"));
}

TEST_CASE("an 8 KiB hostile path against a backtracking-prone regex is answered") {
    auto options = test_options();
    options.limits.max_target_bytes = 16 * 1024;
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, options, [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        const std::string as(8192, 'a');
        REQUIRE(co_await client.send(get("/evil/" + as + "!") + get("/evil/" + as)));
        auto miss = co_await client.read_response();
        REQUIRE(miss.has_value());
        CHECK(miss->status == 404);
        auto hit = co_await client.read_response();
        REQUIRE(hit.has_value());
        CHECK(hit->status == 200);
        CHECK(hit->body == "matched 8192 bytes");
    });
}

TEST_SUITE_END();
