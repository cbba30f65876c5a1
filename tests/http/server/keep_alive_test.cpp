// tests/http/server/keep_alive_test.cpp: how long a connection lives: HTTP/1.1 stays open by
// default, HTTP/1.0 only when asked, and Connection: close from either side ends it after the
// response.
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

TEST_SUITE_END();
