// tests/http/server/connection_header_test.cpp: the server reads Connection as a list of tokens,
// from the request and from the handler's response alike: `close` ends the connection after the
// response, and a token that merely contains "close" does not.
#include "snow/http/server/server.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "http/support/server_fixture.hpp"

using namespace snow;
using namespace snow::testing;
using namespace std::chrono_literals;
using http::request;
using http::response;

TEST_SUITE_BEGIN("http.server");

namespace {

task<response> closeable(request&) {
    co_return http::text("kept").header("Connection", "closeable");
}

task<response> closes_in_a_list(request&) {
    co_return http::text("closing").header("Connection", "keep-alive, Close");
}

http::router connection_routes() {
    http::router r;
    r.get("/closeable", closeable);
    r.get("/closes", closes_in_a_list);
    r.get("/hello", [](request&) -> task<response> { co_return http::text("hello"); });
    return r;
}

/// Sends `request` twice on one connection: both are answered, neither announces a close, and
/// the connection is still open afterwards.
task<void> expect_kept_open(net::address at, std::string request) {
    auto client = co_await connect_to(at);
    for (int i = 0; i < 2; ++i) {
        REQUIRE(co_await client.send(request));
        auto r = co_await client.read_response();
        REQUIRE(r.has_value());
        CHECK(r->status == 200);
        CHECK_FALSE(r->announces_close());
    }
    CHECK(co_await client.stays_silent(50ms));
}

} // namespace

TEST_CASE("a handler's Connection: closeable keeps the connection open") {
    http::server srv(connection_routes());
    run_server_test(srv, test_options(),
                    [](net::address at) { return expect_kept_open(at, get("/closeable")); });
    CHECK(srv.stats().connections_accepted.load() == 1);
    CHECK(srv.stats().requests.load() == 2);
}

TEST_CASE("a request's Connection: keep-alive, closeable keeps the connection open") {
    http::server srv(connection_routes());
    run_server_test(srv, test_options(), [](net::address at) {
        return expect_kept_open(at, get("/hello", "Connection: keep-alive, closeable\r\n"));
    });
    CHECK(srv.stats().connections_accepted.load() == 1);
    CHECK(srv.stats().requests.load() == 2);
}

TEST_CASE("an HTTP/1.0 request's Connection: x-close, keep-alive keeps the connection open") {
    http::server srv(connection_routes());
    run_server_test(srv, test_options(), [](net::address at) {
        return expect_kept_open(at,
                                "GET /hello HTTP/1.0\r\nConnection: x-close, keep-alive\r\n\r\n");
    });
    CHECK(srv.stats().connections_accepted.load() == 1);
}

TEST_CASE("a handler's Connection: keep-alive, Close closes after its response") {
    http::server srv(connection_routes());
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send(get("/closes") + get("/hello")));
        auto r = co_await client.read_response();
        REQUIRE(r.has_value());
        CHECK(r->body == "closing");
        CHECK(r->announces_close());
        CHECK(r->header_count("Connection") == 1);
        CHECK(co_await client.closed());
        CHECK(client.received().empty()); // the pipelined /hello is not answered
    });
}

TEST_CASE("a request's Connection: CLOSE among other options closes after the response") {
    http::server srv(connection_routes());
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send(get("/hello", "Connection: te, CLOSE\r\nTE: trailers\r\n")));
        auto r = co_await client.read_response();
        REQUIRE(r.has_value());
        CHECK(r->status == 200);
        CHECK(r->announces_close());
        CHECK(co_await client.closed());
    });
}

TEST_SUITE_END();
