// tests/http/client/broken_response_test.cpp: responses that go wrong, from misbehaving servers:
// cut short (a truncated error), garbage or conflicting framing (a protocol error), and heads
// or bodies over the client's limits.
#include "snow/http/client/client.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <string>
#include <system_error>

#include <fmt/format.h>

#include "support/run_test.hpp"

#include "http/support/client_fixture.hpp"
#include "http/support/misbehaving_server.hpp"

using namespace snow;
using namespace std::chrono_literals;
using http::client;
using http::client_error;
using http::client_failure;
using http::method;
using testing::local_server;
using testing::misbehaving_server;
using testing::run_test;

TEST_SUITE_BEGIN("http.client");

namespace {
/// The error a GET gets from a server that sends `canned` (then closes when `close`).
task<std::error_code> error_from(std::string canned, bool close) {
    misbehaving_server srv(close ? testing::answer_canned_then_close : testing::answer_canned);
    srv.state().canned = std::move(canned);
    client http;
    auto r = co_await http.get(srv.url("/"), {.timeout = 5s});
    co_await srv.stop();
    if (r) co_return std::error_code{};
    co_return r.error();
}
} // namespace

TEST_CASE("a body cut short by the server closing is a truncated error") {
    auto e = run_test(error_from("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", true));
    CHECK(e == client_error::body_truncated);
    CHECK(e == client_failure::truncated);
    auto chunked =
        run_test(error_from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", true));
    CHECK(chunked == client_failure::truncated);
}

TEST_CASE("a head cut short by the server closing is a truncated error") {
    auto e = run_test(error_from("HTTP/1.1 200 OK\r\nContent-Le", true));
    CHECK(e == client_error::head_truncated);
    CHECK(e == client_failure::truncated);
    CHECK(run_test(error_from("", true)) == client_failure::truncated);
}

TEST_CASE("garbage instead of a response is a protocol error, not a truncated one") {
    auto e = run_test(error_from("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n\r\n", false));
    CHECK(e == client_failure::protocol);
    CHECK(run_test(error_from("HTTP/1.1 2000 OK\r\n\r\n", false)) == client_failure::protocol);
    CHECK(run_test(error_from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                              false)) == client_failure::protocol);
}

TEST_CASE("conflicting Content-Length values are a protocol error") {
    auto e = run_test(
        error_from("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc", false));
    CHECK(e == http::errc::conflicting_content_length);
    CHECK(e == client_failure::protocol);
}

TEST_CASE("a head over the size limit is a protocol error") {
    const std::string big_head = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(70 * 1024, 'a') +
                                 "\r\nContent-Length: 0\r\n\r\n";
    auto e = run_test(error_from(big_head, false));
    CHECK(e == http::errc::header_too_large);
    CHECK(e == client_failure::protocol);
    // Just under the limit (64 KiB) is fine.
    const std::string fits = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(60 * 1024, 'a') +
                             "\r\nContent-Length: 0\r\n\r\n";
    CHECK_FALSE(run_test(error_from(fits, false)));
}

TEST_CASE("a body over the whole-body limit is a protocol error; a stream has no limit") {
    run_test([]() -> task<void> {
        local_server srv;
        http::client_options options;
        options.limits.max_body_bytes = 1 << 20;
        client http(options);
        auto r = co_await http.get(srv.url("/big"));
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error() == http::errc::body_too_large);
        CHECK(r.error() == client_failure::protocol);

        auto s = co_await http.open(method::get, srv.url("/big"));
        REQUIRE(s.has_value());
        std::size_t chunks = 0;
        std::size_t largest = 0;
        for (;;) {
            auto chunk = co_await s->next_chunk();
            REQUIRE(chunk.has_value());
            if (chunk->empty()) break;
            ++chunks;
            largest = std::max(largest, chunk->size());
        }
        CHECK(s->done());
        CHECK(s->body_bytes() == (3u << 20));
        CHECK(s->content_length() == (3u << 20));
        CHECK(chunks > 10);
        CHECK(largest <= 64 * 1024); // read piece by piece, never held whole
        co_await srv.stop();
    }());
}

TEST_SUITE_END();
