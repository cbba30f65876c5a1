// tests/http/server/streaming_test.cpp: streamed responses: chunked for HTTP/1.1, until the
// close for HTTP/1.0, and the head only for HEAD.
#include "snow/http/server/server.hpp"

#include <doctest/doctest.h>

#include <chrono>

#include "http/support/server_fixture.hpp"

using namespace snow;
using namespace snow::testing;
using namespace std::chrono_literals;
using http::request;
using http::response;

TEST_SUITE_BEGIN("http.server");

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

TEST_SUITE_END();
