// tests/http/client/request_test.cpp: what the client sends and gets back over loopback: status,
// headers and body from snow's server, the request line and Host on the wire, and a POST body.
#include "snow/http/client/client.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include <fmt/format.h>

#include "support/run_test.hpp"

#include "http/support/client_fixture.hpp"
#include "http/support/misbehaving_server.hpp"

using namespace snow;
using namespace std::chrono_literals;
using http::client;
using testing::local_server;
using testing::misbehaving_server;
using testing::ok_response;
using testing::run_test;

TEST_SUITE_BEGIN("http.client");

TEST_CASE("a GET to snow's server returns status, headers and body") {
    run_test([]() -> task<void> {
        local_server srv;
        client http;
        auto r = co_await http.get(srv.url("/index/"), {.timeout = 5s});
        REQUIRE_MESSAGE(r.has_value(), r.error().message());
        CHECK(r->status == 200);
        CHECK(r->reason == "OK");
        CHECK(r->body == "OK");
        CHECK(r->headers.get("Content-Type").value_or("").starts_with("text/plain"));
        CHECK(r->url == srv.url("/index/"));
        CHECK(r->redirects == 0);
        auto missing = co_await http.get(srv.url("/nope"));
        REQUIRE(missing.has_value()); // a 404 is a response, not an error
        CHECK(missing->status == 404);
        co_await srv.stop();
    }());
}

TEST_CASE("the request line carries path and query, and Host carries a port other than 80") {
    run_test([]() -> task<void> {
        misbehaving_server srv(testing::answer_canned);
        srv.state().canned = std::string(ok_response);
        client http;
        auto r = co_await http.get(srv.url("/a b/c?x=1&y=2#frag"));
        REQUIRE(r.has_value());
        const std::string expected =
            fmt::format("GET /a%20b/c?x=1&y=2 HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n", srv.port());
        CHECK(srv.state().last_request.starts_with(expected));
        CHECK(srv.state().last_request.find("Content-Length") == std::string::npos);

        http::headers extra{{"X-Test", "1"}, {"Content-Length", "999"}};
        auto p = co_await http.post(srv.url("/p"), "body!", extra);
        REQUIRE(p.has_value());
        const std::string& sent = srv.state().last_request;
        CHECK(sent.starts_with("POST /p HTTP/1.1\r\n"));
        CHECK(sent.find("\r\nX-Test: 1\r\n") != std::string::npos);
        CHECK(sent.find("\r\nContent-Length: 5\r\n") != std::string::npos);
        CHECK(sent.find("999") == std::string::npos); // the client frames the body itself
        CHECK(sent.ends_with("\r\n\r\nbody!"));
        co_await srv.stop();
    }());
}

TEST_CASE("an HTTP/1.0 request says so, and its connection is not reused") {
    run_test([]() -> task<void> {
        misbehaving_server srv(testing::answer_canned);
        srv.state().canned = std::string(ok_response); // HTTP/1.1, which would keep it open
        client http;
        const http::request_options old{.version_minor = 0};
        auto first = co_await http.get(srv.url("/one"), old);
        REQUIRE_MESSAGE(first.has_value(), first.error().message());
        CHECK(srv.state().last_request.starts_with("GET /one HTTP/1.0\r\nHost: "));
        auto second = co_await http.get(srv.url("/two"), old);
        REQUIRE(second.has_value());
        CHECK_FALSE(second->timings.reused_connection);
        CHECK(srv.state().accepted == 2);

        local_server snow_server; // and snow's own server answers it as HTTP/1.0 asks
        auto answered = co_await http.get(snow_server.url("/index/"), old);
        REQUIRE_MESSAGE(answered.has_value(), answered.error().message());
        CHECK(answered->status == 200);
        CHECK(answered->version_minor == 0);
        CHECK(answered->body == "OK");
        co_await snow_server.stop();
        co_await srv.stop();
    }());
}

TEST_CASE("POST sends its body and snow's server echoes it") {
    run_test([]() -> task<void> {
        local_server srv;
        client http;
        // Built apart: GCC 12 cannot put an initializer_list inside a co_await expression.
        http::headers fields{{"Content-Type", "application/octet-stream"}};
        auto r = co_await http.post(srv.url("/echo"), std::string(100'000, 'p'), fields);
        REQUIRE_MESSAGE(r.has_value(), r.error().message());
        CHECK(r->status == 200);
        CHECK(r->body == std::string(100'000, 'p'));
        auto host = co_await http.get(srv.url("/host"));
        REQUIRE(host.has_value());
        CHECK(host->body == fmt::format("127.0.0.1:{}", srv.port()));
        co_await srv.stop();
    }());
}

TEST_SUITE_END();
