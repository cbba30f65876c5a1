// tests/http/server/routing_test.cpp: routes as a client sees them, end to end: 404 and 405 are
// answers rather than rejections, so the connection stays open; template parameters, regex
// groups and query parameters reach the handler; a plain callable is a handler; a hostile path
// cannot make a regex route backtrack.
#include "snow/http/server/server.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "http/support/server_fixture.hpp"

using namespace snow;
using namespace snow::testing;
using namespace std::chrono_literals;
using http::request;
using http::response;

TEST_SUITE_BEGIN("http.server");

TEST_CASE("an unknown path is answered 404 Not Found and the connection stays usable") {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send(get("/nowhere")));
        auto missing = co_await client.read_response();
        REQUIRE(missing.has_value());
        CHECK(missing->status == 404);
        CHECK(missing->body == "Not Found");
        CHECK_FALSE(missing->announces_close());
        REQUIRE(co_await client.send(get("/hello")));
        auto next = co_await client.read_response();
        REQUIRE(next.has_value());
        CHECK(next->status == 200);
    });
}

TEST_CASE("a path routed only for other methods is answered 405 with Allow") {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send(get("/only-post")));
        auto r = co_await client.read_response();
        REQUIRE(r.has_value());
        CHECK(r->status == 405);
        REQUIRE(r->header("Allow").has_value());
        CHECK(r->header("Allow")->find("POST") != std::string::npos);
        CHECK(r->header("Allow")->find("GET") == std::string::npos);
        REQUIRE(co_await client.send(post("/only-post", "")));
        auto allowed = co_await client.read_response();
        REQUIRE(allowed.has_value());
        CHECK(allowed->status == 200);
    });
}

TEST_CASE("regex groups and template parameters reach the handler") {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send(get("/user/42") + get("/user/42/more") +
                                     get("/users/abc/posts") + get("/users/abc") + get("/user/x")));
        std::vector<std::string> answers;
        for (int i = 0; i < 5; ++i) {
            auto r = co_await client.read_response();
            REQUIRE(r.has_value());
            answers.push_back(fmt::format("{} {}", r->status, r->body));
        }
        // Regexes match at the start of the path, as re.match did.
        CHECK(answers == std::vector<std::string>{"200 id 42 of 2", "200 id 42 of 2",
                                                  "200 user abc posts", "404 Not Found",
                                                  "404 Not Found"});
    });
}

TEST_CASE("query parameters are split and percent-decoded") {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto r = co_await exchange(at, get("/query?a=1&b=hello%20world&a=2"));
        REQUIRE(r.has_value());
        CHECK(r->body == "a=1 b=hello world missing=false");
        auto none = co_await exchange(at, get("/query"));
        REQUIRE(none.has_value());
        CHECK(none->body == "a=- b=- missing=false");
    });
}

TEST_CASE("an 8 KiB hostile path against a backtracking-prone regex is answered") {
    auto options = test_options();
    options.limits.max_target_bytes = 16 * 1024;
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, options, [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        const std::string as(8192, 'a');
        REQUIRE(co_await client.send(get("/evil/" + as + "!") + get("/evil/" + as)));
        auto miss = co_await client.read_response();
        REQUIRE(miss.has_value());
        CHECK(miss->status == 404);
        auto hit = co_await client.read_response();
        REQUIRE(hit.has_value());
        CHECK(hit->status == 200);
        CHECK(hit->body == "matched 8192 bytes");
    });
}

TEST_CASE("a plain callable registered with get on a default server answers in-process") {
    http::server app;
    app.get("/", [](const snow::http::request&) { return snow::http::text("hi"); });
    run_server_test(app, test_options(), [](net::address at) -> task<void> {
        auto r = co_await exchange(at, get("/"));
        REQUIRE(r.has_value());
        CHECK(r->status == 200);
        CHECK(r->body == "hi");
        CHECK(r->header("Content-Type").value_or("").starts_with("text/plain"));
        auto missing = co_await exchange(at, get("/other"));
        REQUIRE(missing.has_value());
        CHECK(missing->status == 404);
    });
    CHECK(app.stats().requests.load() == 2);
    CHECK(app.stats().handler_errors.load() == 0);
}

TEST_SUITE_END();
