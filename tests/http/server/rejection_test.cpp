// tests/http/server/rejection_test.cpp: every request in tests/http/cases that the parser
// rejects, sent to a live server: each is answered with the status its file name gives, the
// answer announces the close, the connection closes, and stats().rejected counts it. The
// server runs under the limits the cases are written against.
#include "snow/http/server/server.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <set>
#include <string>

#include "http/support/http_cases.hpp"
#include "http/support/server_fixture.hpp"

using namespace snow;
using namespace snow::testing;
using namespace std::chrono_literals;

TEST_SUITE_BEGIN("http.server");

namespace {

/// The request is answered with `status`, announces the close, and the connection closes.
task<void> expect_rejected(net::address at, std::string bytes, int status) {
    auto client = co_await connect_to(at);
    (void)co_await client.send(std::move(bytes)); // a server that cut us off may refuse the rest
    auto r = co_await client.read_response();
    REQUIRE_MESSAGE(r.has_value(), "no response; received: ", client.received());
    CHECK(r->status == status);
    CHECK(r->version == "HTTP/1.1");
    CHECK(r->announces_close());
    CHECK(r->header("Content-Length").has_value());
    CHECK(co_await client.closed());
}

/// One rejection: `bytes` are answered `status` and the connection closed, on a server of its
/// own, whose counters then show one rejection and no request handled.
void check_rejected(std::string bytes, int status, http::server_options options) {
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, std::move(options), [bytes, status](net::address at) {
        return expect_rejected(at, bytes, status);
    });
    CHECK(srv.stats().rejected.load() == 1);
    CHECK(srv.stats().requests.load() == 0);
}

} // namespace

TEST_CASE("every rejected request of the corpus is answered with its status and closed") {
    const auto& cases = rejected_request_cases();
    // Every status a rejection can have is exercised, not only 400.
    std::set<int> statuses;
    for (const auto& c : cases) statuses.insert(c.status);
    CHECK(statuses == std::set<int>{400, 413, 414, 431, 501, 505});
    REQUIRE(cases.size() > 90);

    auto options = test_options();
    options.limits = http_case_limits;
    for (const auto& c : cases) {
        // One subcase per file: a failure names the file, and the other files still run.
        SUBCASE(c.name.c_str()) {
            check_rejected(c.bytes, c.status, options);
        }
    }
}

TEST_CASE("a HEAD request whose body fails is answered without a body") {
    // The body's rejection follows a head that parsed: an answer to HEAD carries no body, or
    // the client would read its text as the next response.
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        (void)co_await client.send(
            "HEAD / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
        auto r = co_await client.read_response(true);
        REQUIRE_MESSAGE(r.has_value(), "no response; received: ", client.received());
        CHECK(r->status == 400);
        CHECK(r->announces_close());
        const bool closed = co_await client.closed();
        CHECK(closed);
        CHECK(client.received().empty());
    });
    CHECK(srv.stats().rejected.load() == 1);
}

TEST_SUITE_END();
