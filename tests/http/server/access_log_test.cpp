// tests/http/server/access_log_test.cpp: the access log's two formats line by line (escaping
// included), and end to end through server_options: one line per request, HEAD as 0 bytes,
// rejected requests and clients that left (499) logged too, everything written by the time
// serve() returns.
#include "snow/http/server/access_log.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "snow/http/server/server.hpp"

#include "http/support/server_fixture.hpp"
#include "http/support/temp_dir.hpp"

using namespace snow;
using namespace snow::testing;
using namespace std::chrono_literals;

namespace {

/// 2026-12-02 01:17:45.250 UTC
std::chrono::system_clock::time_point sample_time() {
    return std::chrono::system_clock::time_point(std::chrono::seconds(1796174265)) + 250ms;
}

http::access_record sample() {
    http::access_record r;
    r.time = sample_time();
    r.remote = "127.0.0.1";
    r.method = "GET";
    r.target = "/users/7?tab=posts";
    r.status = 200;
    r.bytes = 5;
    r.duration = 1500us;
    r.referer = "http://example.com/";
    r.user_agent = "curl/8.0";
    return r;
}

std::string line_of(http::access_log_format format, const http::access_record& r) {
    std::string out;
    http::format_access_line(out, format, r);
    return out;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t from = 0;
    while (from < text.size()) {
        const auto end = text.find('\n', from);
        if (end == std::string::npos) break;
        lines.push_back(text.substr(from, end - from));
        from = end + 1;
    }
    return lines;
}

} // namespace

TEST_SUITE_BEGIN("http.server");

TEST_CASE("combined format is nginx's, with the time in UTC") {
    CHECK(line_of(http::access_log_format::combined, sample()) ==
          "127.0.0.1 - - [02/Dec/2026:01:17:45 +0000] \"GET /users/7?tab=posts HTTP/1.1\" 200 5 "
          "\"http://example.com/\" \"curl/8.0\"\n");

    auto r = sample();
    r.referer = "";
    r.user_agent = "evil\" \"agent\n\x01";
    r.bytes.reset(); // a streamed body
    CHECK(line_of(http::access_log_format::combined, r) ==
          "127.0.0.1 - - [02/Dec/2026:01:17:45 +0000] \"GET /users/7?tab=posts HTTP/1.1\" 200 - "
          "\"-\" \"evil\\x22 \\x22agent\\x0A\\x01\"\n");

    r.method = ""; // rejected before the request line parsed
    r.status = 400;
    CHECK(line_of(http::access_log_format::combined, r).find("] \"-\" 400 ") != std::string::npos);
}

TEST_CASE("json format is one valid object per line, every string escaped") {
    CHECK(line_of(http::access_log_format::json, sample()) ==
          "{\"time\":\"2026-12-02T01:17:45.250Z\",\"remote\":\"127.0.0.1\",\"method\":\"GET\","
          "\"target\":\"/users/7?tab=posts\",\"status\":200,\"bytes\":5,\"duration\":0.001500,"
          "\"user_agent\":\"curl/8.0\",\"referer\":\"http://example.com/\"}\n");
    auto r = sample();
    r.user_agent = "a\"b\\c\nd\x01\xff";
    r.bytes.reset();
    const std::string line = line_of(http::access_log_format::json, r);
    CHECK(line.find(R"("user_agent":"a\"b\\c\nd\u0001\u00ff")") != std::string::npos);
    CHECK(line.find("\"bytes\":null") != std::string::npos);
    CHECK(line.find('\n') == line.size() - 1);
}

TEST_CASE("format names parse") {
    CHECK(http::parse_access_log_format("combined") == http::access_log_format::combined);
    CHECK(http::parse_access_log_format("json") == http::access_log_format::json);
    CHECK_FALSE(http::parse_access_log_format("common").has_value());
}

TEST_CASE("access_log option: one line per request, HEAD logs 0 bytes, all written by the end") {
    temp_dir dir;
    const std::string path = dir.file("access.log");
    probe p;
    http::server srv(test_routes(p));
    auto options = test_options();
    options.access_log = path;
    run_server_test(srv, options, [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send(get("/hello", "User-Agent: tester/1\r\nReferer: /from\r\n") +
                                     "HEAD /hello HTTP/1.1\r\nHost: test\r\n\r\n" +
                                     get("/missing") + post("/echo", "abc")));
        REQUIRE((co_await client.read_response()).has_value());
        REQUIRE((co_await client.read_response(true)).has_value());
        REQUIRE((co_await client.read_response()).has_value());
        REQUIRE((co_await client.read_response()).has_value());
    });
    const auto lines = lines_of(read_file(path));
    REQUIRE(lines.size() == 4);
    CHECK(lines[0].starts_with("127.0.0.1 - - ["));
    CHECK(lines[0].ends_with("\"GET /hello HTTP/1.1\" 200 5 \"/from\" \"tester/1\""));
    CHECK(lines[1].find("\"HEAD /hello HTTP/1.1\" 200 0 ") != std::string::npos);
    CHECK(lines[2].find("\"GET /missing HTTP/1.1\" 404 9 ") != std::string::npos);
    CHECK(lines[3].find("\"POST /echo HTTP/1.1\" 200 3 ") != std::string::npos);
}

TEST_CASE("access_log option in json") {
    temp_dir dir;
    const std::string path = dir.file("access.json");
    probe p;
    http::server srv(test_routes(p));
    auto options = test_options();
    options.access_log = path;
    options.access_log_format = http::access_log_format::json;
    run_server_test(srv, options, [](net::address at) -> task<void> {
        auto answer = co_await exchange(at, get("/n/42"));
        REQUIRE(answer.has_value());
    });
    const auto lines = lines_of(read_file(path));
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].starts_with("{\"time\":\""));
    CHECK(lines[0].find("\"method\":\"GET\",\"target\":\"/n/42\",\"status\":200,\"bytes\":2,") !=
          std::string::npos);
}

TEST_CASE("rejected requests (400, 413, 431, 408) are logged with their status") {
    temp_dir dir;
    const std::string path = dir.file("access.log");
    probe p;
    http::server srv(test_routes(p));
    auto options = test_options();
    options.access_log = path;
    options.limits.max_body_bytes = 16;
    options.limits.max_header_bytes = 1024;
    options.header_timeout = std::chrono::milliseconds(200);
    run_server_test(srv, options, [](net::address at) -> task<void> {
        auto bad = co_await exchange(at, "GET /a b HTTP/1.1\r\nHost: test\r\n\r\n");
        REQUIRE(bad.has_value());
        CHECK(bad->status == 400);
        // Over the limit by its Content-Length: refused with the head, before it is a request.
        auto big = co_await exchange(at, post("/echo", std::string(64, 'x')));
        REQUIRE(big.has_value());
        CHECK(big->status == 413);
        // Over the limit while the body arrives: the head is known.
        auto chunked = co_await exchange(at, "POST /echo HTTP/1.1\r\nHost: test\r\n"
                                             "Transfer-Encoding: chunked\r\n\r\n40\r\n" +
                                                 std::string(64, 'x') + "\r\n0\r\n\r\n");
        REQUIRE(chunked.has_value());
        CHECK(chunked->status == 413);
        auto huge_head =
            co_await exchange(at, get("/hello", "X-Big: " + std::string(2048, 'x') + "\r\n"));
        REQUIRE(huge_head.has_value());
        CHECK(huge_head->status == 431);
        // Half a head, then silence until the header deadline.
        auto slow = co_await exchange(at, "GET /hello HTTP/1.1\r\nHost: te");
        REQUIRE(slow.has_value());
        CHECK(slow->status == 408);
    });
    const auto lines = lines_of(read_file(path));
    REQUIRE(lines.size() == 5);
    CHECK(lines[0].find("] \"-\" 400 ") != std::string::npos);
    CHECK(lines[1].find("] \"-\" 413 ") != std::string::npos);
    CHECK(lines[2].find("\"POST /echo HTTP/1.1\" 413 ") != std::string::npos);
    CHECK(lines[3].find("] \"-\" 431 ") != std::string::npos);
    CHECK(lines[4].find("] \"-\" 408 ") != std::string::npos);
}

TEST_CASE("a client that leaves before the answer is logged as 499") {
    temp_dir dir;
    const std::string path = dir.file("access.log");
    probe p;
    http::server srv(test_routes(p));
    auto options = test_options();
    options.access_log = path;
    run_server_test(srv, options, [&p](net::address at) -> task<void> {
        {
            auto client = co_await connect_to(at);
            REQUIRE(co_await client.send(get("/wait")));
            REQUIRE(co_await eventually([&p] { return p.entered; }));
            co_await client.close();
        }
        // The handler is cancelled when the server notices the client has gone.
        REQUIRE(co_await eventually([&p] { return p.wait_outcome.has_value(); }));
    });
    const auto lines = lines_of(read_file(path));
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].find("\"GET /wait HTTP/1.1\" 499 ") != std::string::npos);
}

TEST_SUITE_END();
