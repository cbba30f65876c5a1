// tests/http/server/health_test.cpp: /livez and /readyz, switched on by server_options: both
// answer 200 while serving, /readyz turns 503 once a graceful stop has begun, and without the
// option the paths are the application's.
#include "snow/http/server/server.hpp"

#include <doctest/doctest.h>

#include <string>

#include "http/support/server_fixture.hpp"

using namespace snow;
using namespace snow::testing;

TEST_SUITE_BEGIN("http.server");

TEST_CASE("health checks answer 200 while serving") {
    probe p;
    http::server srv(test_routes(p));
    auto options = test_options();
    options.health_checks = true;
    run_server_test(srv, options, [](net::address at) -> task<void> {
        auto live = co_await exchange(at, get("/livez"));
        REQUIRE(live.has_value());
        CHECK(live->status == 200);
        auto ready = co_await exchange(at, get("/readyz"));
        REQUIRE(ready.has_value());
        CHECK(ready->status == 200);
        CHECK(ready->body == "ready\n");
        // Other methods and paths reach the application's routes.
        auto posted = co_await exchange(at, post("/livez", "x"));
        REQUIRE(posted.has_value());
        CHECK(posted->status == 404);
    });
}

TEST_CASE("readyz answers 503 while the server drains") {
    probe p;
    http::server srv(test_routes(p));
    auto options = test_options();
    options.health_checks = true;
    run_server_test(srv, options, [&srv, &p](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        // Both heads arrive before the stop, so the drain answers both.
        REQUIRE(co_await client.send(get("/nap?ms=200") + get("/readyz")));
        REQUIRE(co_await eventually([&p] { return p.entered; }));
        srv.stop();
        auto napped = co_await client.read_response();
        REQUIRE(napped.has_value());
        CHECK(napped->status == 200);
        auto ready = co_await client.read_response();
        REQUIRE(ready.has_value());
        CHECK(ready->status == 503);
        CHECK(ready->body == "draining\n");
    });
}

TEST_CASE("without the option the paths belong to the application") {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto live = co_await exchange(at, get("/livez"));
        REQUIRE(live.has_value());
        CHECK(live->status == 404);
    });
}

TEST_SUITE_END();
