// tests/http/support/server_fixture.hpp: what the server tests share. The routes every test
// serves, a probe the handlers report to, and run_server_test, which serves a router on
// 127.0.0.1:0 in-process (server::serve on the test's loop) while the test's client talks to
// it with raw sockets, then stops the server gracefully and awaits serve(), so that no
// connection outlives the test.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <fmt/format.h>

#include "snow/http/server/server.hpp"
#include "snow/io/run.hpp"
#include "snow/net/tcp_listener.hpp"
#include "snow/sync/event.hpp"
#include "snow/sync/future.hpp"
#include "snow/time/sleep.hpp"
#include "support/run_test.hpp"

#include "http/support/raw_client.hpp"

namespace snow::testing {

// ---------------------------------------------------------------------------------------
// The server under test

/// Short deadlines, so a test that trips one fails in seconds rather than minutes.
inline http::server_options test_options() {
    using namespace std::chrono_literals;
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

/// The handlers behind test_routes().
namespace handlers {

using http::request;
using http::response;

inline task<response> hello(request&) {
    co_return http::text("hello");
}

inline task<response> echo(request& req) {
    co_return http::text(std::string(req.body()));
}

inline task<response> fail(request&) {
    throw std::runtime_error("the handler failed on purpose");
    co_return http::text("unreachable");
}

/// Sleeps `?ms=` milliseconds on a timer, then answers "slept".
inline task<response> nap(request& req, probe& p) {
    p.entered = true;
    auto ms = req.query("ms");
    const bool expired = co_await sleep(std::chrono::milliseconds(ms ? std::stoi(*ms) : 100));
    p.finished = expired;
    co_return http::text(expired ? "slept" : "woken");
}

/// Awaits a future nobody resolves; records how the wait ended (cancellation, in practice).
inline task<response> wait_forever(request&, probe& p) {
    p.entered = true;
    p.pending.emplace();
    auto waiting = p.pending->get_future();
    auto outcome = co_await waiting;
    p.wait_outcome = outcome ? std::error_code{} : outcome.error();
    co_return http::text("resolved");
}

inline task<response> user_posts(request& req) {
    co_return http::text(fmt::format("user {} posts", req.param("id")));
}

inline task<response> user_by_regex(request& req) {
    co_return http::text(fmt::format("id {} of {}", req.group(1), req.group_count()));
}

inline task<response> numbered(request& req) {
    co_return http::text(std::string(req.param("n")));
}

inline task<response> show_query(request& req) {
    co_return http::text(fmt::format("a={} b={} missing={}", req.query("a").value_or("-"),
                                     req.query("b").value_or("-"),
                                     req.query("missing").has_value()));
}

inline task<result<void>> three_chunks(http::body_writer& out) {
    for (std::string_view part : {"one", "two", "three"}) {
        if (auto written = co_await out.write(part); !written) co_return written;
        (void)co_await sleep(std::chrono::milliseconds(5));
    }
    co_return result<void>{};
}

inline task<response> streamed(request&) {
    response r;
    r.headers.add("Content-Type", "text/plain");
    r.stream = three_chunks;
    co_return r;
}

inline task<response> huge(request&) {
    co_return http::text(std::string(std::size_t{32} << 20, 'x'));
}

inline task<response> goodbye(request&) {
    co_return http::text("bye").header("Connection", "close");
}

inline task<response> evil(request& req) {
    co_return http::text(fmt::format("matched {} bytes", req.group(1).size()));
}

} // namespace handlers

/// The routes every test serves. `p` receives what the probing handlers see.
inline http::router test_routes(probe& p) {
    using namespace handlers;
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

inline task<void> serve_then_signal(http::server& srv, net::tcp_listener listener,
                                    http::server_options options, event& stopped) {
    co_await srv.serve(std::move(listener), std::move(options));
    stopped.set();
}

/// Serves on 127.0.0.1:0 while `client` runs, then stops the server and waits for serve() to
/// return: also when the client failed, so a failed check never leaves connections behind.
inline task<void> serve_while(http::server& srv, http::server_options options, client_body client) {
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

inline void run_server_test(http::server& srv, http::server_options options, client_body client,
                            std::chrono::milliseconds limit = std::chrono::seconds(20),
                            io::loop_options loop = {}) {
    run_test(serve_while(srv, std::move(options), std::move(client)), limit, loop);
    CHECK(srv.stats().connections_open.load() == 0);
}

inline std::string get(std::string_view path, std::string_view extra_headers = "") {
    return fmt::format("GET {} HTTP/1.1\r\nHost: test\r\n{}\r\n", path, extra_headers);
}

inline std::string post(std::string_view path, std::string_view body) {
    return fmt::format("POST {} HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n\r\n{}", path,
                       body.size(), body);
}

inline task<raw_client> connect_to(net::address at) {
    auto client = co_await raw_client::connect(at);
    REQUIRE(client.has_value());
    co_return std::move(*client);
}

/// Sends `bytes` on its own connection and reads one response.
inline task<std::optional<raw_response>> exchange(net::address at, std::string bytes) {
    auto client = co_await connect_to(at);
    REQUIRE(co_await client.send(std::move(bytes)));
    co_return co_await client.read_response();
}

/// Polls `done` every few milliseconds; false if it is still false after `within`.
inline task<bool> eventually(std::function<bool()> done,
                             std::chrono::milliseconds within = std::chrono::seconds(2)) {
    const auto deadline = std::chrono::steady_clock::now() + within;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) co_return false;
        (void)co_await sleep(std::chrono::milliseconds(2));
    }
    co_return true;
}

} // namespace snow::testing
