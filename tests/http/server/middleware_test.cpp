// tests/http/server/middleware_test.cpp: server::use(): a before hook may answer alone, an
// after hook sees every final status, and access_log writes one line per request.
#include "snow/http/server/server.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "snow/http/server/middleware.hpp"

#include "http/support/server_fixture.hpp"

using namespace snow;
using namespace snow::testing;
using namespace std::chrono_literals;
using http::request;
using http::response;

TEST_SUITE_BEGIN("http.server");

TEST_CASE("middleware before can answer alone and after sees every final status") {
    probe p;
    http::server srv(test_routes(p));
    int guarded_calls = 0;
    std::vector<int> statuses;
    srv.use({.before = [](request& req) -> std::optional<response> {
                 if (req.path() == "/hello" && !req.header("X-Token"))
                     return http::text("token required", 401);
                 return std::nullopt;
             },
             .after = [&statuses](const request&, response& resp,
                                  std::chrono::nanoseconds) { statuses.push_back(resp.status); }});
    srv.use({.before = [&guarded_calls](request&) -> std::optional<response> {
                 ++guarded_calls; // skipped when an earlier hook answered
                 return std::nullopt;
             },
             .after = nullptr});
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send(get("/hello") + get("/hello", "X-Token: t\r\n") +
                                     get("/missing")));
        std::vector<std::string> answers;
        for (int i = 0; i < 3; ++i) {
            auto r = co_await client.read_response();
            REQUIRE(r.has_value());
            answers.push_back(fmt::format("{} {}", r->status, r->body));
        }
        CHECK(answers ==
              std::vector<std::string>{"401 token required", "200 hello", "404 Not Found"});
    });
    CHECK(statuses == std::vector<int>{401, 200, 404});
    CHECK(guarded_calls == 2);
}

TEST_CASE("access_log writes one line per request") {
    std::FILE* log = std::tmpfile();
    REQUIRE(log != nullptr);
    probe p;
    http::server srv(test_routes(p));
    srv.use(http::access_log(log));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send(get("/hello") + get("/missing") + post("/echo", "abc")));
        for (int i = 0; i < 3; ++i) REQUIRE((co_await client.read_response()).has_value());
    });
    std::fflush(log);
    std::rewind(log);
    std::vector<std::string> lines;
    char line[1024];
    while (std::fgets(line, sizeof line, log) != nullptr) lines.emplace_back(line);
    std::fclose(log);
    REQUIRE(lines.size() == 3);
    CHECK(lines[0].starts_with("127.0.0.1:"));
    CHECK(lines[0].find("\"GET /hello HTTP/1.1\" 200 5 ") != std::string::npos);
    CHECK(lines[1].find("\"GET /missing HTTP/1.1\" 404 ") != std::string::npos);
    CHECK(lines[2].find("\"POST /echo HTTP/1.1\" 200 3 ") != std::string::npos);
    for (const auto& l : lines) CHECK(l.ends_with("ms\n"));
}

TEST_SUITE_END();
