// tests/http/server/stop_test.cpp: server::stop() under live connections: a request in flight
// finishes, idle connections close, newcomers are refused, and a handler still running after
// shutdown_timeout is cancelled.
#include "snow/http/server/server.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>

#include "snow/net/tcp_stream.hpp"

#include "http/support/server_fixture.hpp"

using namespace snow;
using namespace snow::testing;
using namespace std::chrono_literals;
using http::request;
using http::response;
using steady = std::chrono::steady_clock;

TEST_SUITE_BEGIN("http.server");

namespace {
struct shutdown_state {
    std::optional<raw_response> in_flight;
    bool in_flight_closed = false;
    bool idle_closed = false;
    std::string idle_received;
    bool refused = false;
};

task<void> shut_down_while_busy(net::address at, http::server& srv, probe& p, shutdown_state& s) {
    auto idle = co_await connect_to(at);
    REQUIRE(co_await idle.send(get("/hello")));
    REQUIRE((co_await idle.read_response()).has_value());

    auto busy = co_await connect_to(at);
    REQUIRE(co_await busy.send(get("/nap?ms=200")));
    REQUIRE(co_await eventually([&p] { return p.entered; }));
    srv.stop();

    s.idle_closed = co_await idle.closed(2s);
    s.idle_received = idle.received();
    // The listener closes once accepting has stopped: connecting is refused from then on.
    for (int attempt = 0; attempt < 100 && !s.refused; ++attempt) {
        auto late = co_await net::tcp_stream::connect(at);
        if (!late && late.error() == std::errc::connection_refused) s.refused = true;
        if (!s.refused) (void)co_await sleep(10ms);
    }
    CHECK_FALSE(p.finished); // the handler was still running during all of this
    s.in_flight = co_await busy.read_response(false, 3s);
    s.in_flight_closed = co_await busy.closed(2s);
}
} // namespace

TEST_CASE("stop lets a request in flight finish, closes idle connections and refuses new ones") {
    probe p;
    http::server srv(test_routes(p));
    shutdown_state s;
    run_server_test(srv, test_options(), [&srv, &p, &s](net::address at) {
        return shut_down_while_busy(at, srv, p, s);
    });
    CHECK(s.idle_closed);
    CHECK(s.idle_received.empty());
    CHECK(s.refused);
    REQUIRE(s.in_flight.has_value());
    CHECK(s.in_flight->status == 200);
    CHECK(s.in_flight->body == "slept");
    CHECK(s.in_flight->announces_close());
    CHECK(s.in_flight_closed);
    CHECK(p.finished);
}

namespace {
task<void> stop_with_a_stuck_handler(net::address at, http::server& srv, probe& p, bool& closed) {
    auto stuck = co_await connect_to(at);
    REQUIRE(co_await stuck.send(get("/wait")));
    REQUIRE(co_await eventually([&p] { return p.entered; }));
    srv.stop();
    closed = co_await stuck.closed(3s);
}
} // namespace

TEST_CASE("stop cancels a request still running after shutdown_timeout") {
    auto options = test_options();
    options.shutdown_timeout = 200ms;
    probe p;
    http::server srv(test_routes(p));
    bool closed = false;
    const auto started = steady::now();
    run_server_test(srv, options, [&srv, &p, &closed](net::address at) {
        return stop_with_a_stuck_handler(at, srv, p, closed);
    });
    CHECK(closed);
    REQUIRE(p.wait_outcome.has_value());
    CHECK(*p.wait_outcome == std::errc::operation_canceled);
    CHECK(steady::now() - started < 5s);
}

TEST_SUITE_END();
