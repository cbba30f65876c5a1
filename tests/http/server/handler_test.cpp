// tests/http/server/handler_test.cpp: handlers on a live connection: an exception becomes 500
// and the connection goes on, a handler awaiting a timer holds up no other connection, and a
// client that leaves cancels what its handler awaits.
#include "snow/http/server/server.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "snow/core/when_all.hpp"

#include "http/support/server_fixture.hpp"

using namespace snow;
using namespace snow::testing;
using namespace std::chrono_literals;
using http::request;
using http::response;

TEST_SUITE_BEGIN("http.server");

TEST_CASE("a handler that throws is answered 500 and the connection serves the next request") {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send(get("/throw")));
        auto failed = co_await client.read_response();
        REQUIRE(failed.has_value());
        CHECK(failed->status == 500);
        CHECK_FALSE(failed->announces_close());
        REQUIRE(co_await client.send(get("/hello")));
        auto next = co_await client.read_response();
        REQUIRE(next.has_value());
        CHECK(next->status == 200);
        CHECK(next->body == "hello");
    });
    CHECK(srv.stats().handler_errors.load() == 1);
}

namespace {
task<void> timed_get(net::address at, std::string path, std::chrono::milliseconds delay,
                     std::vector<std::string>& finished) {
    (void)co_await sleep(delay);
    auto r = co_await exchange(at, get(path));
    REQUIRE(r.has_value());
    finished.push_back(r->body);
}

/// A request to a handler sleeping 500 ms, and 50 ms later one to a quick handler.
task<void> slow_and_quick(net::address at, std::vector<std::string>& finished) {
    co_await when_all(timed_get(at, "/nap?ms=500", 0ms, finished),
                      timed_get(at, "/hello", 50ms, finished));
}
} // namespace

TEST_CASE("a handler awaiting a timer does not hold up another connection") {
    probe p;
    http::server srv(test_routes(p));
    std::vector<std::string> finished;
    run_server_test(srv, test_options(),
                    [&finished](net::address at) { return slow_and_quick(at, finished); });
    CHECK(finished == std::vector<std::string>{"hello", "slept"});
}

namespace {
task<void> leave_while_waiting(net::address at, probe& p) {
    auto client = co_await connect_to(at);
    REQUIRE(co_await client.send(get("/wait")));
    REQUIRE(co_await eventually([&p] { return p.entered; }));
    co_await client.close();
    CHECK(co_await eventually([&p] { return p.wait_outcome.has_value(); }));
}
} // namespace

TEST_CASE("a client that leaves while its handler awaits a future cancels that await") {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, test_options(),
                    [&p](net::address at) { return leave_while_waiting(at, p); });
    REQUIRE(p.wait_outcome.has_value());
    CHECK(*p.wait_outcome == std::errc::operation_canceled);
}

TEST_SUITE_END();
