// tests/http/client/response_test.cpp: how the client reads a response body: by Content-Length,
// chunked (extensions skipped, trailers kept), until the close, and none at all for HEAD, 204
// and 304; interim 1xx responses are skipped and an unasked-for 101 refused.
#include "snow/http/client/client.hpp"

#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "support/run_test.hpp"

#include "http/support/client_fixture.hpp"
#include "http/support/misbehaving_server.hpp"

using namespace snow;
using namespace std::chrono_literals;
using http::client;
using http::client_error;
using http::client_failure;
using testing::local_server;
using testing::misbehaving_server;
using testing::run_test;
using testing::seconds_since;

namespace {
using clock = io::clock;
} // namespace

TEST_SUITE_BEGIN("http.client");

TEST_CASE("a Content-Length body is complete without waiting for the server to close") {
    run_test([]() -> task<void> {
        // answer_canned keeps the connection open: only the length can end the body.
        misbehaving_server srv(testing::answer_canned);
        srv.state().canned = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world";
        client http;
        const auto start = clock::now();
        auto r = co_await http.get(srv.url("/"), {.timeout = 5s});
        REQUIRE(r.has_value());
        CHECK(r->body == "hello world");
        CHECK(seconds_since(start) < 2.0);
        co_await srv.stop();
    }());
}

TEST_CASE("a chunked body is de-chunked, extensions skipped and trailers kept") {
    run_test([]() -> task<void> {
        misbehaving_server srv(testing::answer_canned);
        srv.state().canned = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "5;name=value;quoted=\"a b\"\r\nhello\r\n"
                             "6\r\n world\r\n"
                             "0\r\nX-Checksum: 42\r\n\r\n";
        client http;
        auto r = co_await http.get(srv.url("/"));
        REQUIRE_MESSAGE(r.has_value(), r.error().message());
        CHECK(r->body == "hello world");
        CHECK(r->trailers.get("X-Checksum") == "42");
        // The connection survives a chunked body: the next request reuses it.
        auto again = co_await http.get(srv.url("/"));
        REQUIRE(again.has_value());
        CHECK(srv.state().accepted == 1);
        co_await srv.stop();
    }());
}

TEST_CASE("a chunked response from snow's server streams through") {
    run_test([]() -> task<void> {
        local_server srv;
        client http;
        auto r = co_await http.get(srv.url("/chunked"));
        REQUIRE_MESSAGE(r.has_value(), r.error().message());
        CHECK(r->body == "hello world");
        CHECK(r->headers.get("Transfer-Encoding") == "chunked");
        co_await srv.stop();
    }());
}

TEST_CASE("a body without length ends when the server closes, and its connection is not pooled") {
    run_test([]() -> task<void> {
        misbehaving_server srv(testing::answer_canned_then_close);
        srv.state().canned = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close";
        client http;
        auto r = co_await http.get(srv.url("/"));
        REQUIRE_MESSAGE(r.has_value(), r.error().message());
        CHECK(r->body == "until close");
        CHECK(http.idle_connections() == 0);
        co_await srv.stop();
    }());
}

TEST_CASE("interim 1xx responses are skipped and the final one returned") {
    run_test([]() -> task<void> {
        misbehaving_server srv(testing::answer_canned);
        srv.state().canned = "HTTP/1.1 100 Continue\r\n\r\n"
                             "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
                             "HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone";
        client http;
        auto r = co_await http.get(srv.url("/"));
        REQUIRE_MESSAGE(r.has_value(), r.error().message());
        CHECK(r->status == 201);
        CHECK(r->body == "done");
        CHECK_FALSE(r->headers.contains("Link"));
        co_await srv.stop();
    }());
}

TEST_CASE("an unasked-for 101 Switching Protocols is a protocol error") {
    run_test([]() -> task<void> {
        misbehaving_server srv(testing::answer_canned);
        srv.state().canned = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
        client http;
        auto r = co_await http.get(srv.url("/"));
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error() == client_error::unexpected_upgrade);
        CHECK(r.error() == client_failure::protocol);
        co_await srv.stop();
    }());
}

TEST_CASE("HEAD, 204 and 304 responses carry no body whatever their fields say") {
    run_test([]() -> task<void> {
        local_server snow_server;
        client http;
        auto head = co_await http.head(snow_server.url("/index/"));
        REQUIRE(head.has_value());
        CHECK(head->status == 200);
        CHECK(head->headers.get("Content-Length") == "2");
        CHECK(head->body.empty());
        co_await snow_server.stop();

        // If the client read a body here, it would wait forever (the connection stays open)
        // or take the next response for one.
        misbehaving_server srv(testing::answer_canned);
        const std::array<std::string_view, 2> statuses{"204 No Content", "304 Not Modified"};
        for (std::string_view status : statuses) {
            srv.state().canned =
                fmt::format("HTTP/1.1 {}\r\nContent-Length: 10\r\nETag: \"x\"\r\n\r\n", status);
            for (int i = 0; i < 2; ++i) {
                auto r = co_await http.get(srv.url("/"), {.timeout = 2s});
                REQUIRE_MESSAGE(r.has_value(), r.error().message());
                CHECK(r->status == std::stoi(std::string(status)));
                CHECK(r->body.empty());
            }
        }
        CHECK(srv.state().accepted == 1);
        co_await srv.stop();
    }());
}

TEST_SUITE_END();
