// tests/http/server/metrics_test.cpp: /metrics end to end: requests counted by method, route
// pattern (never the raw path) and status, the duration histogram, the server's connection
// counters (TLS handshakes waiting among them) and the loop's ring counters, all in valid text
// format 0.0.4 (checked here, and by promtool when it is installed).
#include "snow/http/server/metrics.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "snow/http/server/server.hpp"
#include "snow/io/run.hpp"

#include "http/support/prometheus_text.hpp"
#include "http/support/server_fixture.hpp"
#include "http/support/temp_dir.hpp"

using namespace snow;
using namespace snow::testing;

namespace {

bool has_line(const std::string& text, std::string_view line) {
    return text.find(std::string(line) + "\n") != std::string::npos;
}

std::string scrape_after_traffic(http::server& srv, http::server_options options) {
    std::string scraped;
    run_server_test(srv, std::move(options), [&scraped](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send(get("/hello") + get("/hello") + get("/users/7/posts") +
                                     get("/users/8/posts") + get("/user/12") + get("/missing") +
                                     "PROPFIND /hello HTTP/1.1\r\nHost: test\r\n\r\n" +
                                     get("/only-post")));
        for (int i = 0; i < 8; ++i) REQUIRE((co_await client.read_response()).has_value());
        REQUIRE(co_await client.send(get("/metrics")));
        auto answer = co_await client.read_response();
        REQUIRE(answer.has_value());
        CHECK(answer->status == 200);
        CHECK(answer->header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
        scraped = answer->body;
    });
    return scraped;
}

} // namespace

TEST_SUITE_BEGIN("http.server");

TEST_CASE("metrics_path serves the counters in the Prometheus text format") {
    probe p;
    http::server srv(test_routes(p));
    auto options = test_options();
    options.metrics_path = "/metrics";
    const std::string text = scrape_after_traffic(srv, options);
    INFO(text);

    CHECK(has_line(text,
                   R"x(snow_http_requests_total{method="GET",route="/hello",status="200"} 2)x"));
    // The pattern, not the path: two users, one series.
    CHECK(has_line(
        text,
        R"x(snow_http_requests_total{method="GET",route="/users/{id}/posts",status="200"} 2)x"));
    // A regex route's backslash is escaped in the label value.
    CHECK(has_line(
        text, R"x(snow_http_requests_total{method="GET",route="/user/(\\d+)",status="200"} 1)x"));
    CHECK(has_line(text,
                   R"x(snow_http_requests_total{method="GET",route="unmatched",status="404"} 1)x"));
    CHECK(has_line(
        text, R"x(snow_http_requests_total{method="other",route="unmatched",status="405"} 1)x"));
    CHECK(has_line(text,
                   R"x(snow_http_requests_total{method="GET",route="unmatched",status="405"} 1)x"));
    // The scrape itself is counted after it is rendered, so it is not in this one.
    CHECK(text.find("route=\"/metrics\"") == std::string::npos);

    CHECK(has_line(text, "# TYPE snow_http_request_duration_seconds histogram"));
    CHECK(has_line(text, R"x(snow_http_request_duration_seconds_bucket{le="+Inf"} 8)x"));
    CHECK(has_line(text, "snow_http_request_duration_seconds_count 8"));
    CHECK(has_line(text, "snow_http_connections_open 1"));
    CHECK(has_line(text, "snow_http_connections_accepted_total 1"));
    CHECK(has_line(text, "snow_http_requests_rejected_total 0"));
    CHECK(has_line(text, "snow_http_timeouts_total 0"));
    CHECK(has_line(text, "snow_http_handshakes_waiting 0"));
    CHECK(text.find("snow_io_ring_submissions_total{loop=\"0\"} ") != std::string::npos);
    CHECK(text.find("snow_io_ring_enters_total{loop=\"0\"} ") != std::string::npos);
    CHECK(text.find("snow_io_ring_overflows_total{loop=\"0\"} ") != std::string::npos);

    const auto problems = check_exposition(text);
    for (const auto& problem : problems) FAIL_CHECK(problem);
    CHECK(problems.empty());
}

TEST_CASE("rejected requests and clients that left are counted by their status") {
    probe p;
    http::server srv(test_routes(p));
    auto options = test_options();
    options.metrics_path = "/metrics";
    std::string text;
    run_server_test(srv, options, [&p, &text](net::address at) -> task<void> {
        auto bad = co_await exchange(at, "GET /a b HTTP/1.1\r\nHost: test\r\n\r\n");
        REQUIRE(bad.has_value());
        CHECK(bad->status == 400);
        {
            auto client = co_await connect_to(at);
            REQUIRE(co_await client.send(get("/wait")));
            REQUIRE(co_await eventually([&p] { return p.entered; }));
            co_await client.close();
        }
        REQUIRE(co_await eventually([&p] { return p.wait_outcome.has_value(); }));
        auto scraped = co_await exchange(at, get("/metrics"));
        REQUIRE(scraped.has_value());
        text = scraped->body;
    });
    INFO(text);
    CHECK(has_line(
        text, R"x(snow_http_requests_total{method="none",route="unmatched",status="400"} 1)x"));
    CHECK(
        has_line(text, R"x(snow_http_requests_total{method="GET",route="/wait",status="499"} 1)x"));
    CHECK(has_line(text, "snow_http_requests_rejected_total 1"));
    CHECK(check_exposition(text).empty());
}

TEST_CASE("promtool accepts the metrics, when it is installed") {
    const bool installed = std::system("command -v promtool >/dev/null 2>&1") == 0;
    if (!installed) {
        // CI installs it (scripts/install-deps.sh metrics) and asks for it to be used.
        REQUIRE_MESSAGE(std::getenv("SNOW_REQUIRE_PROMTOOL") == nullptr,
                        "SNOW_REQUIRE_PROMTOOL is set but promtool is not installed");
        MESSAGE(
            "promtool not installed (Debian: apt-get install prometheus); format checked above");
        return;
    }
    probe p;
    http::server srv(test_routes(p));
    auto options = test_options();
    options.metrics_path = "/metrics";
    const std::string text = scrape_after_traffic(srv, options);
    temp_dir dir;
    const std::string path = dir.file("metrics.txt");
    std::ofstream(path) << text;
    const std::string command =
        "promtool check metrics < " + path + " > " + dir.file("out") + " 2>&1";
    const int status = std::system(command.c_str());
    INFO(read_file(dir.file("out")));
    CHECK(status == 0);
}

TEST_CASE("the checker rejects what a scraper would") {
    CHECK(check_exposition("# TYPE a counter\na 1\n").empty());
    CHECK_FALSE(check_exposition("a 1\n").empty());                             // no TYPE
    CHECK_FALSE(check_exposition("# TYPE a counter\na{x=\"\"\"} 1\n").empty()); // bad quote
    CHECK_FALSE(check_exposition("# TYPE a counter\na one\n").empty());         // bad value
    CHECK_FALSE(check_exposition("# TYPE h histogram\nh_bucket{le=\"1\"} 2\n"
                                 "h_bucket{le=\"+Inf\"} 1\nh_count 1\n")
                    .empty()); // not cumulative
}

TEST_CASE("metrics can be rendered without a server, and only the threads that counted appear") {
    http::metrics m;
    const std::string empty = m.render(nullptr);
    CHECK(has_line(empty, "snow_http_request_duration_seconds_count 0"));
    CHECK(empty.find("snow_http_connections_open") == std::string::npos);
    CHECK(check_exposition(empty).empty());
}

TEST_CASE("the TLS connections waiting for a handshake place are a gauge") {
    http::metrics m;
    http::server_stats stats;
    stats.handshakes_waiting = 3;
    const std::string text = m.render(&stats);
    INFO(text);
    CHECK(has_line(text, "# TYPE snow_http_handshakes_waiting gauge"));
    CHECK(has_line(text, "snow_http_handshakes_waiting 3"));
    stats.handshakes_waiting = 0; // a gauge: it goes down again
    CHECK(has_line(m.render(&stats), "snow_http_handshakes_waiting 0"));
    CHECK(check_exposition(text).empty());
}

TEST_CASE("a route label whose memory a later server reuses is counted under its new text") {
    // Series are found by the route pattern's address. When a server stops, the hooks'
    // finish empties that cache, so the next router's patterns, which may reuse the
    // addresses, are not counted under the old labels.
    http::metrics m;
    const http::middleware hook = m.counter();
    http::request_head head;
    head.method_name = "GET";
    std::string pattern = "/a";
    http::request req(head, {}, net::address{});
    http::response resp;
    resp.status = 200;
    req.set_route({}, {}, pattern);
    hook.after(req, resp, std::chrono::microseconds(10));
    hook.after(req, resp, std::chrono::microseconds(10));
    run(hook.finish()); // the first server stops

    pattern[1] = 'b'; // the next server's route, at the same address
    req.set_route({}, {}, pattern);
    hook.after(req, resp, std::chrono::microseconds(10));
    const std::string text = m.render(nullptr);
    INFO(text);
    CHECK(has_line(text, R"x(snow_http_requests_total{method="GET",route="/a",status="200"} 2)x"));
    CHECK(has_line(text, R"x(snow_http_requests_total{method="GET",route="/b",status="200"} 1)x"));
    CHECK(has_line(text, "snow_http_request_duration_seconds_count 3"));
}

TEST_SUITE_END();
