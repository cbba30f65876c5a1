// tests/faults/deadline_storm_test.cpp: 10,000 requests through fetch_all with random
// deadlines, many shorter than the random delay of the server's answer. Each must end exactly
// once, timed out or answered, and when client and server are gone no descriptor is left.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <future>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "snow/http/client/error.hpp"
#include "snow/http/client/fetch_all.hpp"
#include "snow/http/server/server.hpp"
#include "snow/net/tcp_listener.hpp"
#include "snow/time/sleep.hpp"

#include "faults/loop_thread.hpp"

using namespace snow;
using namespace std::chrono_literals;
using testing::loop_thread;
using testing::run_test;

namespace {

constexpr int requests = 10'000;
constexpr int at_once = 200;

struct outcomes {
    std::vector<int> ends = std::vector<int>(requests); ///< how many times each request ended
    int ok = 0;
    int timeout = 0;
    int other = 0;
    int wrong = 0; ///< answered, but not with what was asked for
    std::string first_other{};
    io::loop_stats client_loop{};
};

task<void> storm(std::uint16_t port, outcomes& seen) {
    // Delays of 0 to 20 ms. Half the requests have deadlines of 1 to 10 ms, which expire
    // first more often than not (in the connect, the send or mid-response), the other half
    // 1 to 3 s, which leave room for the answer even on a loaded machine under a sanitizer
    // (and cost nothing where the answer comes at once).
    std::mt19937 random(20261202);
    std::uniform_int_distribution<int> delay_ms(0, 20);
    std::uniform_int_distribution<int> short_deadline_ms(1, 10);
    std::uniform_int_distribution<int> long_deadline_ms(1000, 3000);
    std::vector<http::fetch_request> list(requests);
    std::vector<std::string> expected(requests);
    for (int i = 0; i < requests; ++i) {
        const int delay = delay_ms(random);
        const int deadline = i % 2 == 0 ? short_deadline_ms(random) : long_deadline_ms(random);
        list[i].url = fmt::format("http://127.0.0.1:{}/nap/{}/{}", port, delay, i);
        list[i].options.timeout = std::chrono::milliseconds(deadline);
        expected[i] = fmt::format("{} after {} ms", i, delay);
    }
    // A connection for each request in flight: the deadlines race the server, not a queue
    // for the pool's connections.
    http::client_options pool;
    pool.max_connections_per_host = at_once;
    http::client client(pool);
    http::fetch_options options;
    options.concurrency = at_once;
    co_await http::fetch_all(
        client, std::move(list),
        [&seen, &expected](http::fetch_result& done) {
            ++seen.ends.at(done.index);
            if (done.response) {
                ++seen.ok;
                if (done.response->status != 200 || done.response->body != expected[done.index])
                    ++seen.wrong;
            } else if (done.response.error() == http::client_failure::timeout) {
                ++seen.timeout;
            } else if (seen.other++ == 0) {
                seen.first_other = done.response.error().message();
            }
        },
        options);
    seen.client_loop = io::event_loop::current().stats();
}

} // namespace

TEST_SUITE_BEGIN("faults");

TEST_CASE("10,000 requests with random deadlines each end once and leave no descriptor") {
    const int baseline = testing::open_descriptors();
    outcomes seen;
    {
        http::server server;
        server.get("/nap/{ms}/{n}", [](http::request& req) -> task<http::response> {
            const int ms = std::stoi(std::string(req.param("ms")));
            (void)co_await sleep(std::chrono::milliseconds(ms));
            co_return http::text(fmt::format("{} after {} ms", req.param("n"), ms));
        });
        auto port_promise = std::make_shared<std::promise<std::uint16_t>>();
        auto port_future = port_promise->get_future();
        loop_thread loop({}, [&server, port_promise] {
            return testing::serve_on_loopback(server, port_promise);
        });
        run_test(storm(port_future.get(), seen), 120s);
        server.stop();
        loop.join();
    }
    const int after = testing::open_descriptors();

    int never = 0;
    int twice = 0;
    for (int ends : seen.ends) {
        never += ends == 0;
        twice += ends > 1;
    }
    std::printf("faults.deadline_storm: %d requests: %d ok (%d wrong), %d timed out, %d other%s%s;"
                " ended never %d, more than once %d; descriptors %d before, %d after; client "
                "loop: turns %llu, timers fired %llu, timer and completion in one turn %llu\n",
                requests, seen.ok, seen.wrong, seen.timeout, seen.other,
                seen.other > 0 ? ", first: " : "", seen.first_other.c_str(), never, twice, baseline,
                after, static_cast<unsigned long long>(seen.client_loop.turns),
                static_cast<unsigned long long>(seen.client_loop.timers_fired),
                static_cast<unsigned long long>(seen.client_loop.timer_completion_turns));
    CHECK(seen.ok + seen.timeout + seen.other == requests);
    CHECK(never == 0);
    CHECK(twice == 0);
    CHECK(seen.wrong == 0);
    // The storm was one: both outcomes happened many times.
    CHECK(seen.ok > 0);
    CHECK(seen.timeout > 0);
    CHECK(after == baseline);
}

TEST_SUITE_END();
