// tests/http/client/fetch_all_test.cpp: http::fetch_all: a callback per request as each
// finishes, a slow one holding up none, and the status of a response whose body then failed.
#include "snow/http/client/fetch_all.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <set>
#include <vector>

#include <fmt/format.h>

#include "snow/http/client/client.hpp"
#include "support/run_test.hpp"

#include "http/support/client_fixture.hpp"
#include "http/support/misbehaving_server.hpp"

using namespace snow;
using namespace std::chrono_literals;
using http::client;
using http::client_failure;
using testing::local_server;
using testing::misbehaving_server;
using testing::run_test;

TEST_SUITE_BEGIN("http.client");

TEST_CASE("fetch_all calls back once per request as each finishes; a slow one blocks none") {
    run_test([]() -> task<void> {
        local_server good;
        misbehaving_server silent(testing::never_answer);
        client http;
        std::vector<http::fetch_request> requests;
        requests.push_back({.url = silent.url("/"), .options = {.timeout = 400ms}});
        for (int i = 0; i < 30; ++i) requests.push_back({.url = good.url("/index/")});
        requests.push_back({.url = "ftp://nowhere/"});

        std::vector<std::size_t> order;
        std::set<std::size_t> seen;
        std::size_t ok = 0;
        co_await http::fetch_all(http, std::move(requests),
                                 [&](http::fetch_result& done) {
                                     order.push_back(done.index);
                                     seen.insert(done.index);
                                     if (done.response && done.response->body == "OK") ++ok;
                                 },
                                 {.concurrency = 4});
        CHECK(order.size() == 32);
        CHECK(seen.size() == 32);
        CHECK(ok == 30);
        CHECK(order.back() == 0); // the slow one, started first, finished last
        co_await silent.stop();
        co_await good.stop();
    }());
}

TEST_CASE("fetch_all reports the status of a response whose body then failed") {
    run_test([]() -> task<void> {
        misbehaving_server srv(testing::answer_canned_then_close);
        srv.state().canned = "HTTP/1.1 206 Partial\r\nContent-Length: 10\r\n\r\nabc";
        client http;
        std::optional<http::fetch_result> got;
        std::vector<http::fetch_request> one(1);
        one[0].url = srv.url("/");
        co_await http::fetch_all(http, std::move(one),
                                 [&](http::fetch_result& done) { got.emplace(std::move(done)); },
                                 {.keep_bodies = false});
        REQUIRE(got.has_value());
        CHECK(got->status == 206);
        CHECK(got->body_bytes == 3);
        CHECK(got->response.error() == client_failure::truncated);
        co_await srv.stop();
    }());
}

TEST_SUITE_END();
