// tests/http/server/upload_end_test.cpp: how a streamed() request ends when its client leaves
// or the server stops: a client gone while the handler waits before or after reading its
// body, a read waiting at a graceful stop, and a body that arrived before the stop, still
// answered.
#include "snow/http/server/server.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "snow/sync/future.hpp"
#include "snow/time/sleep.hpp"

#include "http/support/upload_cases.hpp"

using namespace snow;
using namespace snow::testing;
using namespace std::chrono_literals;
using http::request;
using http::response;

TEST_SUITE_BEGIN("http.server");

namespace {

/// What a handler did after reading its body.
struct parked_probe {
    upload_probe upload;
    bool parked = false;
    std::optional<std::error_code> outcome;      ///< how its wait ended
    std::optional<promise<std::string>> pending; ///< resolved by nobody
};

/// Reads the body whole, then waits on a future nobody resolves.
task<response> read_then_wait(request& req, parked_probe& p) {
    auto read = co_await hash_body(req, p.upload);
    if (read.status != 200) co_return read;
    p.parked = true;
    p.pending.emplace();
    auto waiting = p.pending->get_future();
    auto outcome = co_await waiting;
    p.outcome = outcome ? std::error_code{} : outcome.error();
    co_return http::text("resolved");
}

/// Reads the body whole, then sleeps on a timer for far longer than any test runs.
task<response> read_then_sleep(request& req, parked_probe& p) {
    auto read = co_await hash_body(req, p.upload);
    if (read.status != 200) co_return read;
    p.parked = true;
    const bool expired = co_await sleep(1h);
    p.outcome = expired ? std::error_code{} : make_error_code(std::errc::operation_canceled);
    co_return http::text("slept");
}

/// Waits for the test's go-ahead, then reads the body whole.
task<response> read_when_told(request& req, parked_probe& p) {
    p.parked = true;
    (void)co_await p.upload.go.wait();
    co_return co_await hash_body(req, p.upload);
}

/// Waits for the test's go-ahead before reading a byte of its body, and answers without it.
task<response> wait_unread(parked_probe& p) {
    p.parked = true;
    const bool told = co_await p.upload.go.wait();
    p.outcome = told ? std::error_code{} : make_error_code(std::errc::operation_canceled);
    co_return http::text("held");
}

http::router parked_routes(parked_probe& p) {
    http::router r;
    r.post("/wait", http::streamed([&p](request& req) { return read_then_wait(req, p); }));
    r.post("/sleep", http::streamed([&p](request& req) { return read_then_sleep(req, p); }));
    r.post("/upload", http::streamed([&p](request& req) { return hash_body(req, p.upload); }));
    r.post("/later", http::streamed([&p](request& req) { return read_when_told(req, p); }));
    r.post("/unread", http::streamed([&p](request&) { return wait_unread(p); }));
    return r;
}

/// True once the server holds no connection: the one that served the test has been freed.
task<bool> all_closed(http::server& srv) {
    return eventually([&srv] { return srv.stats().connections_open.load() == 0; });
}

} // namespace

TEST_CASE("a client that leaves while a streamed handler waits after its body cancels the wait") {
    parked_probe p;
    http::server srv(parked_routes(p));
    run_server_test(srv, test_options(), [&p, &srv](net::address at) -> task<void> {
        {
            auto client = co_await connect_to(at);
            // The body arrives in two parts, so the handler reads it across several waits and
            // the socket falls free only when the last part is read.
            const std::string body = pattern(20000);
            const std::string request = content_length_upload("/wait", body);
            const std::size_t first = request.size() - 5000;
            REQUIRE(co_await client.send(request.substr(0, first)));
            REQUIRE(co_await eventually([&p] { return p.upload.pieces > 0; }));
            REQUIRE(co_await client.send(request.substr(first)));
            REQUIRE(co_await eventually([&p] { return p.parked; }));
            CHECK(p.upload.pieces > 1);
            co_await client.close();
        }
        REQUIRE(co_await eventually([&p] { return p.outcome.has_value(); }));
        CHECK(*p.outcome == std::errc::operation_canceled);
        CHECK(co_await all_closed(srv));
    });
}

TEST_CASE("a client that leaves while a streamed handler sleeps after a whole body cancels it") {
    parked_probe p;
    http::server srv(parked_routes(p));
    run_server_test(srv, test_options(), [&p, &srv](net::address at) -> task<void> {
        {
            auto client = co_await connect_to(at);
            // Head and body in one write: the body is read before the handler first waits.
            REQUIRE(co_await client.send(content_length_upload("/sleep", "small")));
            REQUIRE(co_await eventually([&p] { return p.parked; }));
            co_await client.close();
        }
        REQUIRE(co_await eventually([&p] { return p.outcome.has_value(); }));
        CHECK(*p.outcome == std::errc::operation_canceled);
        CHECK(co_await all_closed(srv));
    });
}

TEST_CASE("a client that leaves while a streamed handler waits before its body cancels it") {
    // The socket is the handler's to read, so nothing reads it meanwhile: the hangup alone
    // is noticed, whether a FIN behind unread body bytes or a reset.
    for (const bool reset : {false, true}) {
        CAPTURE(reset);
        parked_probe p;
        http::server srv(parked_routes(p));
        run_server_test(srv, test_options(), [&p, &srv, reset](net::address at) -> task<void> {
            {
                auto client = co_await connect_to(at);
                REQUIRE(co_await client.send(
                    "POST /unread HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\nabc"));
                REQUIRE(co_await eventually([&p] { return p.parked; }));
                if (reset) client.reset_on_close();
                co_await client.close();
            }
            REQUIRE(co_await eventually([&p] { return p.outcome.has_value(); }));
            CHECK(*p.outcome == std::errc::operation_canceled);
            CHECK(co_await all_closed(srv));
        });
    }
}

TEST_CASE("a streamed handler that waits before its body still answers a client that stays") {
    parked_probe p;
    http::server srv(parked_routes(p));
    run_server_test(srv, test_options(), [&p](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        // The whole body is in the socket, unread: no hangup, only bytes.
        REQUIRE(co_await client.send(
            "POST /unread HTTP/1.1\r\nHost: test\r\nContent-Length: 3\r\n\r\nabc"));
        REQUIRE(co_await eventually([&p] { return p.parked; }));
        p.upload.go.set();
        auto r = co_await client.read_response(false, 3s);
        REQUIRE(r.has_value());
        CHECK(r->status == 200);
        CHECK(r->body == "held");
        CHECK_FALSE(r->announces_close()); // the body it left unread was drained
    });
    REQUIRE(p.outcome.has_value());
    CHECK_FALSE(*p.outcome);
}

TEST_CASE("a streamed handler that waits after its body still answers a client that stays") {
    parked_probe p;
    http::server srv(parked_routes(p));
    run_server_test(srv, test_options(), [&p](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        // The next request, pipelined behind the body, is kept for after the answer.
        REQUIRE(co_await client.send(content_length_upload("/wait", "body") +
                                     content_length_upload("/upload", "next")));
        REQUIRE(co_await eventually([&p] { return p.parked; }));
        p.pending->set_value("go");
        auto r = co_await client.read_response();
        REQUIRE(r.has_value());
        CHECK(r->status == 200);
        CHECK(r->body == "resolved");
        auto next = co_await client.read_response();
        REQUIRE(next.has_value());
        CHECK(next->body == summary(4, fnv1a(fnv_basis, "next")));
    });
}

TEST_CASE("a graceful stop ends a streamed read that waits for bytes that never come") {
    auto options = test_options();
    options.shutdown_timeout = 200ms;
    parked_probe p;
    http::server srv(parked_routes(p));
    std::optional<raw_response> answer;
    bool closed = false;
    run_server_test(srv, options, [&](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send(
            "POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\nabc"));
        REQUIRE(co_await eventually([&p] { return p.upload.pieces > 0; }));
        srv.stop();
        answer = co_await client.read_response(false, 3s);
        closed = co_await client.closed(2s);
    });
    REQUIRE(p.upload.failure.has_value());
    CHECK(*p.upload.failure == std::errc::operation_canceled);
    REQUIRE(answer.has_value());
    CHECK(answer->status == 503);
    CHECK(closed);
}

TEST_CASE("a streamed body that arrived before a graceful stop is still read and answered") {
    parked_probe p;
    http::server srv(parked_routes(p));
    std::optional<raw_response> answer;
    const std::string body = pattern(200000);
    run_server_test(srv, test_options(), [&](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send(content_length_upload("/later", body)));
        REQUIRE(co_await eventually([&p] { return p.parked; }));
        srv.stop();
        p.upload.go.set();
        answer = co_await client.read_response(false, 3s);
    });
    CHECK_FALSE(p.upload.failure.has_value());
    REQUIRE(answer.has_value());
    CHECK(answer->status == 200);
    CHECK(answer->body == summary(body.size(), fnv1a(fnv_basis, body)));
    CHECK(answer->announces_close());
}

TEST_SUITE_END();
