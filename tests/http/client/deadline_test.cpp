// tests/http/client/deadline_test.cpp: one deadline per request, covering connect, head and body:
// a silent or trickling server times out while other requests go on, the deadline starts once a
// request has a connection slot (queue_timeout bounds the wait for one), and connect_timeout ends
// a handshake that never completes.
#include "snow/http/client/client.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <system_error>
#include <tuple>
#include <utility>

#include <fmt/format.h>

#include "snow/core/when_all.hpp"
#include "support/run_test.hpp"

#include "http/support/client_fixture.hpp"
#include "http/support/misbehaving_server.hpp"

using namespace snow;
using namespace std::chrono_literals;
using http::client;
using http::client_failure;
using http::method;
using testing::local_server;
using testing::misbehaving_server;
using testing::run_test;
using testing::seconds_since;

namespace {
using clock = io::clock;
} // namespace

TEST_SUITE_BEGIN("http.client");

TEST_CASE("a server that never answers times out at the deadline while others go on") {
    run_test([]() -> task<void> {
        misbehaving_server silent(testing::never_answer);
        local_server good;
        client http;
        const auto start = clock::now();
        auto timed = [](client& c,
                        std::string url) -> task<std::pair<result<http::client_response>, double>> {
            const auto t0 = clock::now();
            auto r = co_await c.get(std::move(url), {.timeout = 300ms});
            co_return std::pair{std::move(r), seconds_since(t0)};
        };
        auto [slow, fast] =
            co_await when_all(timed(http, silent.url("/")), timed(http, good.url("/index/")));
        REQUIRE_FALSE(slow.first.has_value());
        CHECK(slow.first.error() == client_failure::timeout);
        CHECK(slow.second >= 0.299);
        CHECK(slow.second < 2.0);
        REQUIRE(fast.first.has_value());
        CHECK(fast.first->body == "OK");
        CHECK(fast.second < slow.second);
        CHECK(seconds_since(start) < 3.0);
        co_await silent.stop();
        co_await good.stop();
    }());
}

TEST_CASE("a server trickling its head a byte at a time still times out") {
    run_test([]() -> task<void> {
        misbehaving_server srv(testing::trickle);
        srv.state().canned = "HTTP/1.1 200 OK\r\nX-Padding: " + std::string(200, 'p') + "\r\n\r\n";
        srv.state().pace = 10ms;
        client http;
        const auto start = clock::now();
        auto r = co_await http.get(srv.url("/"), {.timeout = 400ms});
        const double took = seconds_since(start);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error() == client_failure::timeout);
        CHECK(took >= 0.399);
        CHECK(took < 2.5);
        co_await srv.stop();
    }());
}

TEST_CASE("the deadline covers the body: a trickled body times out mid-receive") {
    run_test([]() -> task<void> {
        misbehaving_server srv(testing::trickle);
        srv.state().canned = "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n";
        srv.state().pace = 2ms;
        client http;
        const auto start = clock::now();
        auto s = co_await http.open(method::get, srv.url("/"), {}, {}, {.timeout = 600ms});
        REQUIRE_MESSAGE(s.has_value(), s.error().message());
        std::error_code failed;
        for (;;) {
            auto chunk = co_await s->next_chunk();
            if (!chunk) {
                failed = chunk.error();
                break;
            }
            REQUIRE_FALSE(chunk->empty());
        }
        const double took = seconds_since(start);
        CHECK(failed == client_failure::timeout);
        CHECK(s->body_bytes() > 0); // it was receiving the body when the deadline struck
        CHECK(took >= 0.599);
        CHECK(took < 2.5);
        // The failure sticks.
        auto again = co_await s->next_chunk();
        CHECK(again.error() == client_failure::timeout);
        co_await srv.stop();
    }());
}

TEST_CASE("queue_timeout bounds the wait for a pooled connection, which fails in queue") {
    run_test([]() -> task<void> {
        misbehaving_server srv(testing::never_answer);
        client http({.max_connections_per_host = 1});
        auto timed = [](client& c, std::string url, http::request_options options)
            -> task<std::pair<http::client::open_outcome, double>> {
            const auto t0 = clock::now();
            std::string no_body;
            http::headers no_fields;
            auto r = co_await c.open_traced(method::get, std::move(url), std::move(no_body),
                                            std::move(no_fields), options);
            co_return std::pair{std::move(r), seconds_since(t0)};
        };
        http::request_options holding;
        holding.timeout = 1500ms;
        http::request_options waiting;
        waiting.timeout = 5s;
        waiting.queue_timeout = 200ms;
        auto [holder, waiter] = co_await when_all(timed(http, srv.url("/"), holding),
                                                  timed(http, srv.url("/"), waiting));
        CHECK(holder.first.stream.error() == client_failure::timeout);
        CHECK(holder.first.timings.failed_in == "ttfb");
        CHECK(waiter.first.stream.error() == client_failure::timeout);
        CHECK(waiter.first.timings.failed_in == "queue");
        CHECK(waiter.second >= 0.199);
        CHECK(waiter.second < 1.0); // did not wait for the holder
        CHECK(srv.state().accepted == 1);
        co_await srv.stop();
    }());
}

namespace {
/// How get_traced() went: the whole response, or why not, and where the time went.
struct traced {
    result<http::client_response> response;
    http::request_timings timings;
};

/// GETs `url` with `timeout` and reads the whole body, which frees the connection for the
/// next request.
task<traced> get_traced(client& c, std::string url, std::chrono::milliseconds timeout) {
    std::string no_body;
    http::headers no_fields;
    http::request_options options;
    options.timeout = timeout;
    auto outcome = co_await c.open_traced(method::get, std::move(url), std::move(no_body),
                                          std::move(no_fields), options);
    traced done{std::make_error_code(std::errc::operation_canceled), outcome.timings};
    if (!outcome.stream) {
        done.response = outcome.stream.error();
        co_return done;
    }
    done.response = co_await outcome.stream->read_all(1 << 20);
    co_return done;
}
} // namespace

TEST_CASE("the deadline starts once the request has a connection slot, not while it waits") {
    run_test([]() -> task<void> {
        local_server srv;
        client http({.max_connections_per_host = 1});
        // The first holds the one slot for 400 ms; the second waits that long, twice its own
        // timeout, and then answers in a few milliseconds.
        auto both = co_await when_all(get_traced(http, srv.url("/sleep/400"), 3000ms),
                                      get_traced(http, srv.url("/sleep/1"), 200ms));
        auto& first = std::get<0>(both);
        auto& second = std::get<1>(both);
        REQUIRE_MESSAGE(first.response.has_value(), first.response.error().message());
        CHECK(first.response->body == "slept");
        REQUIRE_MESSAGE(second.response.has_value(), second.response.error().message());
        CHECK(second.response->body == "slept");
        CHECK(second.timings.queue > 200ms);
        CHECK(second.timings.reused_connection); // the first one's, handed over
        co_await srv.stop();
    }());
}

TEST_CASE("a request that waited in the queue still times out when it then runs too long") {
    run_test([]() -> task<void> {
        local_server srv;
        client http({.max_connections_per_host = 1});
        const auto start = clock::now();
        auto both = co_await when_all(get_traced(http, srv.url("/sleep/300"), 3000ms),
                                      get_traced(http, srv.url("/sleep/1000"), 200ms));
        auto& first = std::get<0>(both);
        auto& second = std::get<1>(both);
        const double took = seconds_since(start);
        REQUIRE_MESSAGE(first.response.has_value(), first.response.error().message());
        REQUIRE_FALSE(second.response.has_value());
        CHECK(second.response.error() == client_failure::timeout);
        CHECK(second.timings.failed_in == "ttfb");
        CHECK(second.timings.queue >= 250ms);
        CHECK(took >= 0.45); // the queue, then its own 200 ms
        CHECK(took < 0.95);  // not the slow answer
        co_await srv.stop();
    }());
}

namespace {
/// A listener with a backlog of one that never accepts, its one place taken: the kernel
/// drops further SYNs, so a connect to it hangs until the client gives up.
class full_backlog {
public:
    full_backlog() {
        listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in at{};
        at.sin_family = AF_INET;
        at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof at;
        REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&at), sizeof at) == 0);
        REQUIRE(::listen(listener_, 0) == 0);
        REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&at), &length) == 0);
        port_ = ntohs(at.sin_port);
        filler_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(::connect(filler_, reinterpret_cast<sockaddr*>(&at), sizeof at) == 0);
    }
    full_backlog(const full_backlog&) = delete;
    full_backlog& operator=(const full_backlog&) = delete;
    ~full_backlog() {
        ::close(filler_);
        ::close(listener_);
    }
    std::uint16_t port() const noexcept { return port_; }

private:
    int listener_ = -1;
    int filler_ = -1;
    std::uint16_t port_ = 0;
};
} // namespace

TEST_CASE("the connect timeout ends a handshake that never completes, before the deadline") {
    full_backlog blackhole;
    run_test([](std::uint16_t port) -> task<void> {
        client http;
        const auto start = clock::now();
        auto r = co_await http.get(fmt::format("http://127.0.0.1:{}/", port),
                                   {.timeout = 5s, .connect_timeout = 200ms});
        const double took = seconds_since(start);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error() == client_failure::timeout);
        CHECK(took >= 0.199);
        CHECK(took < 2.0); // the connect timeout, not the 5 s deadline
    }(blackhole.port()));
}

TEST_CASE("a silent listener that accepts but never reads times out too") {
    run_test([]() -> task<void> {
        misbehaving_server srv(testing::silent);
        client http;
        auto r = co_await http.get(srv.url("/"), {.timeout = 200ms, .connect_timeout = 100ms});
        CHECK(r.error() == client_failure::timeout);
        co_await srv.stop();
    }());
}

TEST_SUITE_END();
