// tests/http/server/pipelining_test.cpp: requests pipelined on one connection are answered in
// order: in one write, behind a suspended handler, and with or without the loop's pool of
// receive buffers.
#include "snow/http/server/server.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "snow/core/when_all.hpp"

#include "http/support/server_fixture.hpp"

using namespace snow;
using namespace snow::testing;
using namespace std::chrono_literals;
using http::request;
using http::response;

TEST_SUITE_BEGIN("http.server");

TEST_CASE("three pipelined requests in one write are answered in order") {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send(get("/hello") + post("/echo", "abc") + get("/users/9/posts")));
        std::vector<std::string> bodies;
        for (int i = 0; i < 3; ++i) {
            auto r = co_await client.read_response();
            REQUIRE(r.has_value());
            bodies.push_back(r->body);
        }
        CHECK(bodies == std::vector<std::string>{"hello", "abc", "user 9 posts"});
    });
}

TEST_CASE("a hundred pipelined requests in one write are answered in order") {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        std::string all;
        for (int i = 0; i < 100; ++i) all += get(fmt::format("/n/{}", i));
        REQUIRE(co_await client.send(std::move(all)));
        int in_order = 0;
        for (int i = 0; i < 100; ++i) {
            auto r = co_await client.read_response();
            REQUIRE(r.has_value());
            if (r->status == 200 && r->body == std::to_string(i)) ++in_order;
        }
        CHECK(in_order == 100);
        CHECK(co_await client.stays_silent(20ms));
    });
    CHECK(srv.stats().requests.load() == 100);
}

TEST_CASE("requests pipelined behind a suspended handler are answered in order after it") {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        // More than a kilobyte queues up behind the sleeping handler.
        std::string all = get("/nap?ms=50");
        for (int i = 0; i < 40; ++i)
            all += get(fmt::format("/n/{}", i), "X-Pad: a little padding to pass 2 KiB\r\n");
        REQUIRE(all.size() > 2048);
        REQUIRE(co_await client.send(std::move(all)));
        auto first = co_await client.read_response();
        REQUIRE(first.has_value());
        CHECK(first->body == "slept");
        int in_order = 0;
        for (int i = 0; i < 40; ++i) {
            auto r = co_await client.read_response();
            REQUIRE_MESSAGE(r.has_value(), "response ", i, " missing");
            if (r->body == std::to_string(i)) ++in_order;
        }
        CHECK(in_order == 40);
    });
}

namespace {
/// One client's keep-alive round: three requests one after another, then three pipelined.
task<int> keep_alive_round(net::address at, int id) {
    auto client = co_await connect_to(at);
    int answered = 0;
    for (int i = 0; i < 3; ++i) {
        REQUIRE(co_await client.send(get(fmt::format("/n/{}", id * 10 + i))));
        auto r = co_await client.read_response();
        if (r && r->body == std::to_string(id * 10 + i)) ++answered;
    }
    const std::vector<std::string> expected{"hello", std::string(300, 'x'), "user 7 posts"};
    REQUIRE(
        co_await client.send(get("/hello") + post("/echo", expected[1]) + get("/users/7/posts")));
    for (const auto& body : expected) {
        auto r = co_await client.read_response();
        if (r && r->body == body) ++answered;
    }
    co_return answered;
}
} // namespace

TEST_CASE("requests are served alike with no receive-buffer pool and with one that runs dry") {
    // The idle wait selects a pool buffer when bytes arrive; without a pool, or when a turn
    // completes more receives than the pool holds, the connection receives into its own.
    for (unsigned count : {0u, 2u}) {
        CAPTURE(count);
        io::loop_options loop;
        loop.receive_buffers = {.count = count, .size = 64}; // requests span several buffers
        probe p;
        http::server srv(test_routes(p));
        constexpr int clients = 40;
        int answered = 0;
        run_server_test(
            srv, test_options(),
            [&answered](net::address at) -> task<void> {
                std::vector<task<int>> rounds;
                for (int id = 0; id < clients; ++id) rounds.push_back(keep_alive_round(at, id));
                auto results = co_await when_all(std::move(rounds));
                for (int n : results) answered += n;
                // A suspended handler's watcher waits on the pool too.
                auto client = co_await connect_to(at);
                REQUIRE(co_await client.send(get("/nap?ms=20") + get("/hello")));
                auto first = co_await client.read_response();
                auto second = co_await client.read_response();
                if (first && first->body == "slept") ++answered;
                if (second && second->body == "hello") ++answered;
            },
            20s, loop);
        CHECK(answered == clients * 6 + 2);
    }
}

TEST_SUITE_END();
