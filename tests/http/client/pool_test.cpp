// tests/http/client/pool_test.cpp: the client's keep-alive pool: one connection reused for
// sequential requests, connections the server closed noticed (and a GET retried once, a POST
// not), max_connections_per_host, idle_timeout, and 500 concurrent GETs through it.
#include "snow/http/client/client.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "snow/core/when_all.hpp"
#include "snow/time/sleep.hpp"
#include "support/run_test.hpp"

#include "http/support/client_fixture.hpp"
#include "http/support/misbehaving_server.hpp"

using namespace snow;
using namespace std::chrono_literals;
using http::client;
using http::client_failure;
using testing::local_server;
using testing::misbehaving_server;
using testing::ok_response;
using testing::run_test;
using testing::seconds_since;

namespace {
using clock = io::clock;
} // namespace

TEST_SUITE_BEGIN("http.client");

TEST_CASE("sequential requests to one host reuse one keep-alive connection") {
    run_test([]() -> task<void> {
        misbehaving_server srv(testing::answer_canned);
        srv.state().canned = std::string(ok_response);
        client http;
        for (int i = 0; i < 5; ++i) {
            auto r = co_await http.get(srv.url("/"));
            REQUIRE(r.has_value());
            CHECK(r->body == "ok");
        }
        CHECK(srv.state().accepted == 1);
        CHECK(srv.state().requests == 5);
        CHECK(http.idle_connections() == 1);
        CHECK(http.active_connections() == 0);
        co_await srv.stop();
    }());
}

TEST_CASE("a pooled connection the server closed while idle is noticed and not used") {
    run_test([]() -> task<void> {
        misbehaving_server srv(testing::answer_canned_then_close);
        srv.state().canned = std::string(ok_response); // says keep-alive, then closes
        client http;
        auto first = co_await http.get(srv.url("/"));
        REQUIRE(first.has_value());
        co_await sleep(50ms); // the FIN arrives
        auto second = co_await http.get(srv.url("/"));
        REQUIRE_MESSAGE(second.has_value(), second.error().message());
        CHECK(srv.state().accepted == 2);
        co_await srv.stop();
    }());
}

TEST_CASE("a GET that meets a pooled connection closing under it is retried once") {
    run_test([]() -> task<void> {
        misbehaving_server srv(testing::close_after_first);
        srv.state().canned = std::string(ok_response);
        client http;
        auto first = co_await http.get(srv.url("/"));
        REQUIRE(first.has_value());
        // Sent on the pooled connection, which the server closes on reading it.
        auto second = co_await http.get(srv.url("/"));
        REQUIRE_MESSAGE(second.has_value(), second.error().message());
        CHECK(second->body == "ok");
        CHECK(srv.state().accepted == 2);
        co_await srv.stop();
    }());
}

TEST_CASE("a POST that meets a pooled connection closing under it is not retried") {
    run_test([]() -> task<void> {
        misbehaving_server srv(testing::close_after_first);
        srv.state().canned = std::string(ok_response);
        client http;
        auto first = co_await http.post(srv.url("/"), "once");
        REQUIRE(first.has_value());
        auto second = co_await http.post(srv.url("/"), "once");
        REQUIRE_FALSE(second.has_value());
        CHECK(second.error() == client_failure::truncated);
        CHECK(srv.state().accepted == 1);
        co_await srv.stop();
    }());
}

TEST_CASE("the pool opens at most max_connections_per_host to one host") {
    run_test([]() -> task<void> {
        misbehaving_server srv(testing::answer_canned);
        srv.state().canned = std::string(ok_response);
        client http({.max_connections_per_host = 2});
        std::vector<task<result<http::client_response>>> gets;
        for (int i = 0; i < 20; ++i) gets.push_back(http.get(srv.url("/"), {.timeout = 5s}));
        auto results = co_await when_all(std::move(gets));
        for (auto& r : results) CHECK(r.has_value());
        CHECK(srv.state().accepted <= 2);
        CHECK(srv.state().requests == 20);
        co_await srv.stop();
    }());
}

TEST_CASE("idle pooled connections are closed after idle_timeout") {
    run_test([]() -> task<void> {
        misbehaving_server srv(testing::answer_canned);
        srv.state().canned = std::string(ok_response);
        client http({.idle_timeout = 100ms});
        auto first = co_await http.get(srv.url("/"));
        REQUIRE(first.has_value());
        CHECK(http.idle_connections() == 1);
        co_await sleep(400ms);
        CHECK(http.idle_connections() == 0);
        auto second = co_await http.get(srv.url("/"));
        REQUIRE(second.has_value());
        CHECK(srv.state().accepted == 2);
        co_await srv.stop();
    }());
}

TEST_CASE("500 concurrent GETs to the in-process server all succeed") {
    run_test(
        []() -> task<void> {
            local_server srv;
            client http({.max_connections_per_host = 64});
            std::vector<task<result<http::client_response>>> gets;
            for (int i = 0; i < 500; ++i)
                gets.push_back(http.get(srv.url(i % 2 ? "/index/" : "/home/"), {.timeout = 20s}));
            const auto start = clock::now();
            auto results = co_await when_all(std::move(gets));
            std::size_t ok = 0;
            for (std::size_t i = 0; i < results.size(); ++i)
                if (results[i] && results[i]->body == (i % 2 ? "OK" : "home")) ++ok;
            CHECK(ok == 500);
            CHECK(seconds_since(start) < 20.0);
            co_await srv.stop();
        }(),
        60s);
}

TEST_SUITE_END();
