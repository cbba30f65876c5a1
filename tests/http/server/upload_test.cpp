// tests/http/server/upload_test.cpp: streamed() request bodies over loopback: Content-Length and
// chunked uploads of a few MiB split at every kind of boundary, limits (413 before reading
// and mid-chunked), 100-continue sent only when the handler reads, bodies left unread, a
// client that resets mid-upload, and pipelined requests after a streamed one.
#include "snow/http/server/server.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "http/support/upload_cases.hpp"

using namespace snow;
using namespace snow::testing;
using namespace std::chrono_literals;
using http::request;
using http::response;

TEST_SUITE_BEGIN("http.server");

namespace {

/// Waits for the test's go-ahead before reading.
task<response> hash_when_told(request& req, upload_probe& p) {
    p.entered = true;
    (void)co_await p.go.wait();
    co_return co_await hash_body(req, p);
}

http::router upload_routes(upload_probe& p) {
    http::router r;
    r.post("/upload", http::streamed([&p](request& req) { return hash_body(req, p); }));
    r.post("/small", http::streamed([&p](request& req) { return hash_body(req, p); }, 1000));
    r.post("/later", http::streamed([&p](request& req) { return hash_when_told(req, p); }));
    // Answers without reading the body at all.
    r.post("/ignore", http::streamed([&p](request&) -> task<response> {
               p.entered = true;
               co_return http::text("ignored");
           }));
    r.post("/whole", [](request& req) { return http::text(std::string(req.body())); });
    r.get("/hello", [](const request&) { return http::text("hello"); });
    return r;
}

/// test_options() with room for the few-MiB uploads.
http::server_options upload_options() {
    auto options = test_options();
    options.limits.max_body_bytes = 8 << 20;
    return options;
}

} // namespace

TEST_CASE("a streamed Content-Length upload of 3 MiB arrives whole, a receive buffer at a time") {
    upload_probe p;
    http::server srv(upload_routes(p));
    run_server_test(srv, upload_options(), [&p](net::address at) -> task<void> {
        const std::string body = pattern(3 << 20);
        auto client = co_await connect_to(at);
        const std::string request = content_length_upload("/upload", body);
        const std::vector<std::size_t> slices{1, 70, 65536, 3, 100000, 4095, 1 << 20};
        REQUIRE(co_await send_sliced(client, request, slices));
        auto r = co_await client.read_response();
        REQUIRE(r.has_value());
        CHECK(r->status == 200);
        CHECK(r->body == summary(body.size(), fnv1a(fnv_basis, body)));
        CHECK(p.pieces > 1);
        CHECK(p.largest_piece <= 64 * 1024);
        // The connection is in step afterwards.
        REQUIRE(co_await client.send(get("/hello")));
        auto next = co_await client.read_response();
        REQUIRE(next.has_value());
        CHECK(next->body == "hello");
    });
}

TEST_CASE("a streamed chunked upload of 3 MiB arrives whole, split at every kind of boundary") {
    upload_probe p;
    http::server srv(upload_routes(p));
    run_server_test(srv, upload_options(), [&p](net::address at) -> task<void> {
        const std::string body = pattern(3 << 20);
        auto client = co_await connect_to(at);
        const std::vector<std::size_t> chunks{1, 65536, 17, 200000, 4096};
        const std::string request = chunked_upload("/upload", body, chunks);
        const std::vector<std::size_t> slices{1, 2, 3, 5, 8, 9000, 70000, 13, 1 << 20};
        REQUIRE(co_await send_sliced(client, request, slices));
        auto r = co_await client.read_response();
        REQUIRE(r.has_value());
        CHECK(r->status == 200);
        CHECK(r->body == summary(body.size(), fnv1a(fnv_basis, body)));
        CHECK(p.largest_piece <= 64 * 1024);
        REQUIRE(co_await client.send(get("/hello")));
        auto next = co_await client.read_response();
        REQUIRE(next.has_value());
        CHECK(next->body == "hello");
    });
}

TEST_CASE("a chunked body sent a byte at a time streams whole, framing and trailer included") {
    upload_probe p;
    http::server srv(upload_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        const std::string body = pattern(3000);
        auto client = co_await connect_to(at);
        const std::vector<std::size_t> chunks{1, 2, 1000, 7};
        const std::string request = chunked_upload("/upload", body, chunks);
        const std::vector<std::size_t> bytewise{1};
        REQUIRE(co_await send_sliced(client, request, bytewise));
        auto r = co_await client.read_response();
        REQUIRE(r.has_value());
        CHECK(r->body == summary(body.size(), fnv1a(fnv_basis, body)));
    });
}

TEST_CASE("an empty streamed body ends at the first next()") {
    upload_probe p;
    http::server srv(upload_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        std::string empty = content_length_upload("/upload", "");
        auto r = co_await exchange(at, std::move(empty));
        REQUIRE(r.has_value());
        CHECK(r->body == summary(0, fnv_basis));
        const std::vector<std::size_t> chunks{1};
        std::string empty_chunked = chunked_upload("/upload", "", chunks);
        auto chunked = co_await exchange(at, std::move(empty_chunked));
        REQUIRE(chunked.has_value());
        CHECK(chunked->body == summary(0, fnv_basis));
    });
}

TEST_CASE("requests pipelined behind a streamed body are served in order") {
    upload_probe p;
    http::server srv(upload_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        const std::string body = pattern(100000);
        auto client = co_await connect_to(at);
        const std::vector<std::size_t> chunks{7000};
        std::string requests = get("/hello") + content_length_upload("/upload", body) +
                               get("/hello") + chunked_upload("/upload", body, chunks) +
                               post("/whole", "whole") + get("/hello");
        REQUIRE(co_await client.send(std::move(requests)));
        // Empty: the upload's summary.
        const std::vector<std::string_view> answers{"hello", "", "hello", "", "whole", "hello"};
        for (std::string_view expected : answers) {
            auto r = co_await client.read_response();
            REQUIRE(r.has_value());
            CHECK(r->status == 200);
            if (expected.empty())
                CHECK(r->body == summary(body.size(), fnv1a(fnv_basis, body)));
            else
                CHECK(r->body == expected);
        }
    });
}

TEST_CASE("a Content-Length over the route's limit is answered 413 before the handler runs") {
    upload_probe p;
    http::server srv(upload_routes(p));
    run_server_test(srv, test_options(), [&p](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send(
            "POST /small HTTP/1.1\r\nHost: test\r\nContent-Length: 1001\r\n\r\n"));
        auto r = co_await client.read_response();
        REQUIRE(r.has_value());
        CHECK(r->status == 413);
        CHECK(co_await client.closed());
        CHECK_FALSE(p.entered);
        // Within the limit the same route streams.
        auto fits = co_await exchange(at, content_length_upload("/small", pattern(1000)));
        REQUIRE(fits.has_value());
        CHECK(fits->status == 200);
    });
}

TEST_CASE("a Content-Length over the server's limit is answered 413 before a streamed route runs") {
    auto options = test_options();
    options.limits.max_body_bytes = 4096;
    upload_probe p;
    http::server srv(upload_routes(p));
    run_server_test(srv, options, [&p](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send(
            "POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 1000000\r\n\r\n"));
        auto r = co_await client.read_response();
        REQUIRE(r.has_value());
        CHECK(r->status == 413);
        CHECK(co_await client.closed());
        CHECK_FALSE(p.entered);
    });
}

TEST_CASE("a chunked body that grows over the limit is answered 413 and the connection closes") {
    upload_probe p;
    http::server srv(upload_routes(p));
    run_server_test(srv, test_options(), [&p](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        const std::vector<std::size_t> chunks{600};
        std::string request = chunked_upload("/small", pattern(1500), chunks);
        REQUIRE(co_await client.send(std::move(request)));
        auto r = co_await client.read_response();
        REQUIRE(r.has_value());
        CHECK(r->status == 413);
        CHECK(co_await client.closed());
        CHECK(p.entered);
        REQUIRE(p.failure.has_value());
        CHECK(*p.failure == http::errc::body_too_large);
        CHECK(p.largest_piece <= 1000);
    });
}

TEST_CASE("a malformed chunked streamed body is answered 400 and the connection closes") {
    upload_probe p;
    http::server srv(upload_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send("POST /upload HTTP/1.1\r\nHost: test\r\n"
                                     "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n"));
        auto r = co_await client.read_response();
        REQUIRE(r.has_value());
        CHECK(r->status == 400);
        CHECK(co_await client.closed());
    });
}

TEST_CASE("Expect: 100-continue is answered only once the handler starts reading") {
    upload_probe p;
    http::server srv(upload_routes(p));
    run_server_test(srv, test_options(), [&p](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send("POST /later HTTP/1.1\r\nHost: test\r\nContent-Length: 7\r\n"
                                     "Expect: 100-continue\r\n\r\n"));
        REQUIRE(co_await eventually([&p] { return p.entered; }));
        // The handler runs but has not read: nothing has been sent.
        CHECK(co_await client.stays_silent(50ms));
        CHECK(client.received().empty());
        p.go.set();
        auto interim = co_await client.read_response();
        REQUIRE(interim.has_value());
        CHECK(interim->raw == "HTTP/1.1 100 Continue\r\n\r\n");
        REQUIRE(co_await client.send("payload"));
        auto r = co_await client.read_response();
        REQUIRE(r.has_value());
        CHECK(r->status == 200);
        CHECK(r->body == summary(7, fnv1a(fnv_basis, "payload")));
    });
}

TEST_CASE("a handler that answers without reading sends no 100 Continue, and the server closes") {
    upload_probe p;
    http::server srv(upload_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send("POST /ignore HTTP/1.1\r\nHost: test\r\n"
                                     "Content-Length: 100000\r\nExpect: 100-continue\r\n\r\n"));
        auto r = co_await client.read_response();
        REQUIRE(r.has_value());
        CHECK(r->status == 200); // the final answer, not 100
        CHECK(r->body == "ignored");
        CHECK(co_await client.closed());
    });
}

TEST_CASE("a small body left unread is drained and the connection stays in step") {
    upload_probe p;
    http::server srv(upload_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        const std::vector<std::size_t> chunks{300};
        std::string requests = content_length_upload("/ignore", pattern(100000)) +
                               chunked_upload("/ignore", pattern(5000), chunks) + get("/hello");
        REQUIRE(co_await client.send(std::move(requests)));
        const std::vector<std::string_view> answers{"ignored", "ignored", "hello"};
        for (std::string_view expected : answers) {
            auto r = co_await client.read_response();
            REQUIRE(r.has_value());
            CHECK(r->body == expected);
        }
    });
}

TEST_CASE("a large body left unread closes the connection after the response") {
    auto options = test_options();
    options.limits.max_body_bytes = 20'000'000;
    upload_probe p;
    http::server srv(upload_routes(p));
    run_server_test(srv, options, [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send(
            "POST /ignore HTTP/1.1\r\nHost: test\r\nContent-Length: 10000000\r\n\r\nsome"));
        auto r = co_await client.read_response();
        REQUIRE(r.has_value());
        CHECK(r->body == "ignored");
        CHECK(r->header("Connection") == "close");
        CHECK(co_await client.closed());
    });
}

TEST_CASE("a client that resets mid-upload ends next() with an error; the server serves on") {
    upload_probe p;
    http::server srv(upload_routes(p));
    run_server_test(srv, test_options(), [&p](net::address at) -> task<void> {
        {
            auto client = co_await connect_to(at);
            std::string start =
                "POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 1000000\r\n\r\n" +
                pattern(5000);
            REQUIRE(co_await client.send(std::move(start)));
            REQUIRE(co_await eventually([&p] { return p.pieces > 0; }));
            client.reset_on_close();
            co_await client.close();
        }
        REQUIRE(co_await eventually([&p] { return p.failure.has_value(); }));
        CHECK(*p.failure);
        auto r = co_await exchange(at, get("/hello"));
        REQUIRE(r.has_value());
        CHECK(r->body == "hello");
    });
}

TEST_CASE("a streamed body that stalls is cut off by the body deadline, per read") {
    auto options = test_options();
    options.body_timeout = 300ms;
    upload_probe p;
    http::server srv(upload_routes(p));
    run_server_test(srv, options, [&p](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send(
            "POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\nabc"));
        auto r = co_await client.read_response();
        REQUIRE(r.has_value());
        CHECK(r->status == 408);
        CHECK(co_await client.closed());
        REQUIRE(p.failure.has_value());
        CHECK(*p.failure == std::errc::timed_out);
    });
}

TEST_SUITE_END();
