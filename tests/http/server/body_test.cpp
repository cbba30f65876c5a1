// tests/http/server/body_test.cpp: request bodies: chunked with extensions and trailers,
// chunked across many writes, and Expect: 100-continue, answered 100 before the body is sent
// or 413 without it.
#include "snow/http/server/server.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include <fmt/format.h>

#include "http/support/server_fixture.hpp"

using namespace snow;
using namespace snow::testing;
using namespace std::chrono_literals;
using http::request;
using http::response;

TEST_SUITE_BEGIN("http.server");

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

TEST_SUITE_END();
