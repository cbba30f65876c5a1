// tests/http/server/ring_modes_test.cpp: server_options::loop reaches the loops that run()
// starts. With loop.ring.sqpoll each loop's ring is set up with IORING_SETUP_SQPOLL (a
// handler reads its own loop's setup flags), and keep-alive and pipelined requests are served
// over it, also after the SQ thread has gone to sleep and must be woken.
#include "snow/http/server/server.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "snow/io/event_loop.hpp"
#include "support/run_test.hpp"

#include "http/support/blocking_client.hpp"
#include "http/support/running_server.hpp"

using namespace snow;
using namespace std::chrono_literals;

TEST_SUITE_BEGIN("http.server");

namespace {

/// GET /flags answers the IORING_SETUP_* flags of the loop serving it; GET /n/N answers N.
http::router ring_routes() {
    http::router routes;
    routes.get("/flags", [](const http::request&) {
        return http::text(fmt::format("{}", io::event_loop::current().io().setup_flags()));
    });
    routes.get("/n/{n}",
               [](const http::request& req) { return http::text(std::string(req.param("n"))); });
    return routes;
}

std::string get(std::string_view path) {
    return fmt::format("GET {} HTTP/1.1\r\nHost: test\r\n\r\n", path);
}

} // namespace

TEST_CASE("with server_options.loop.ring.sqpoll every loop of run() polls and serves keep-alive "
          "and pipelined requests") {
    (void)testing::make_loop(); // skips the suite without io_uring
    auto probe = io::ring::create({.sqpoll = true});
    if (!probe && probe.error() == std::errc::operation_not_permitted) {
        MESSAGE("this kernel refuses SQPOLL here: " << probe.error().message());
        return;
    }
    REQUIRE(probe.has_value());

    http::server_options options;
    options.threads = 2;
    options.loop.ring.sqpoll = true;
    // Short, so that the SQ thread is asleep by the second round and a request must wake it.
    options.loop.ring.sq_thread_idle_ms = 5;
    testing::running_server server(ring_routes(), options);
    REQUIRE(server.port() != 0);

    constexpr int connections = 4;
    constexpr int pipelined = 8;
    int answered = 0;
    for (int round = 0; round < 2; ++round) {
        // Not a timing assertion: the test passes whether or not the SQ thread slept.
        if (round == 1) std::this_thread::sleep_for(30ms);
        for (int c = 0; c < connections; ++c) {
            CAPTURE(round);
            CAPTURE(c);
            testing::blocking_client client(server.port());
            REQUIRE(client.is_open());
            // Keep-alive: one request after another on the connection.
            for (int i = 0; i < 2; ++i) {
                REQUIRE(client.send_all(get("/flags")));
                auto response = client.read_response();
                REQUIRE(response.has_value());
                CHECK(response->status == 200);
                const unsigned flags = static_cast<unsigned>(std::stoul(response->body));
                CHECK((flags & IORING_SETUP_SQPOLL) != 0);
                CHECK((flags & IORING_SETUP_DEFER_TASKRUN) == 0);
                ++answered;
            }
            // Pipelined: a batch in one send, answered in order.
            std::string batch;
            for (int i = 0; i < pipelined; ++i) batch += get(fmt::format("/n/{}", i));
            REQUIRE(client.send_all(batch));
            for (int i = 0; i < pipelined; ++i) {
                auto response = client.read_response();
                REQUIRE(response.has_value());
                CHECK(response->body == std::to_string(i));
                ++answered;
            }
        }
    }
    CHECK(answered == 2 * connections * (2 + pipelined));
    CHECK(server.stop_and_join() == 0);
    CHECK(server.stats().requests.load() == static_cast<std::uint64_t>(answered));
}

TEST_SUITE_END();
