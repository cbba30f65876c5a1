// tests/http/server/response_test.cpp: what every response carries: Date and Content-Length,
// and for HEAD the GET headers without the body.
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

TEST_SUITE_END();
