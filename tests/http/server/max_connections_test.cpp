// tests/http/server/max_connections_test.cpp: server_options::max_connections: at the limit
// the server stops accepting, the kernel's backlog holds newcomers, and each close lets one
// in.
#include "snow/http/server/server.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <vector>

#include "http/support/server_fixture.hpp"

using namespace snow;
using namespace snow::testing;
using namespace std::chrono_literals;
using http::request;
using http::response;

TEST_SUITE_BEGIN("http.server");

TEST_CASE("at max_connections a newcomer waits until a connection closes") {
    auto options = test_options();
    options.max_connections = 2;
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, options, [](net::address at) -> task<void> {
        auto first = co_await connect_to(at);
        auto second = co_await connect_to(at);
        for (raw_client* c : {&first, &second}) {
            REQUIRE(co_await c->send(get("/hello")));
            REQUIRE((co_await c->read_response()).has_value());
        }
        auto third = co_await connect_to(at); // the kernel's backlog takes it
        REQUIRE(co_await third.send(get("/hello")));
        CHECK_MESSAGE(co_await third.stays_silent(300ms), "over the limit, yet received '",
                      third.received(), "'");
        co_await first.close();
        auto r = co_await third.read_response(false, 3s);
        REQUIRE(r.has_value());
        CHECK(r->body == "hello");
    });
    CHECK(srv.stats().connections_accepted.load() == 3);
}

namespace {
task<void> burst(net::address at, std::size_t& served_at_once, std::size_t& served_in_all) {
    std::vector<raw_client> clients;
    for (int i = 0; i < 8; ++i) {
        clients.push_back(co_await connect_to(at));
        REQUIRE(co_await clients.back().send(get("/hello")));
    }
    (void)co_await sleep(300ms);
    std::vector<bool> answered(clients.size(), false);
    for (std::size_t i = 0; i < clients.size(); ++i)
        answered[i] = (co_await clients[i].read_response(false, 20ms)).has_value();
    served_at_once = static_cast<std::size_t>(std::count(answered.begin(), answered.end(), true));
    // Leaving frees the places, one by one, for those still waiting.
    served_in_all = served_at_once;
    for (std::size_t i = 0; i < clients.size(); ++i)
        if (answered[i]) co_await clients[i].close();
    for (std::size_t i = 0; i < clients.size(); ++i) {
        if (answered[i]) continue;
        if ((co_await clients[i].read_response(false, 3s)).has_value()) ++served_in_all;
        co_await clients[i].close();
    }
}
} // namespace

TEST_CASE("a burst of connections is held to max_connections") {
    auto options = test_options();
    options.max_connections = 2;
    probe p;
    http::server srv(test_routes(p));
    std::size_t at_once = 0;
    std::size_t in_all = 0;
    run_server_test(srv, options,
                    [&at_once, &in_all](net::address at) { return burst(at, at_once, in_all); });
    CHECK(at_once == 2);
    CHECK(in_all == 8);
}

TEST_SUITE_END();
