// tests/http/server/pinning_test.cpp: server_options::pin_threads end to end through run().
// A handler answers the CPU it runs on and the CPUs its thread may use, so the client sees
// which loop served it: with two pinned loops on CPUs 0 and 1 and the steering program
// taken, a connection made from CPU c is served by the loop on CPU c; with more threads than
// CPUs nothing is pinned and the server still serves.
#include "snow/http/server/server.hpp"

#include <doctest/doctest.h>

#include <sched.h>

#include <chrono>
#include <iterator>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "snow/io/cpu_affinity.hpp"
#include "snow/net/reuseport.hpp"
#include "snow/net/tcp_listener.hpp"
#include "support/run_test.hpp"

#include "http/support/blocking_client.hpp"
#include "http/support/running_server.hpp"

using namespace snow;
using namespace std::chrono_literals;

TEST_SUITE_BEGIN("http.server");

namespace {

/// "CPU ALLOWED…": where the handler runs and the CPUs its loop's thread may use.
http::response where(const http::request&) {
    std::string body = fmt::format("{}", ::sched_getcpu());
    for (int cpu : io::allowed_cpus()) fmt::format_to(std::back_inserter(body), " {}", cpu);
    return http::text(body);
}

struct placement {
    int cpu = -1;
    std::vector<int> allowed;
};

placement parse_placement(const std::string& body) {
    placement p;
    std::istringstream in(body);
    in >> p.cpu;
    for (int cpu = 0; in >> cpu;) p.allowed.push_back(cpu);
    return p;
}

http::router where_routes() {
    http::router routes;
    routes.get("/where", where);
    return routes;
}

/// GET /where on a new connection made from `cpu` (-1: wherever the test runs).
std::optional<placement> ask_where(std::uint16_t port, int cpu) {
    std::optional<placement> answer;
    std::thread client([&answer, port, cpu] {
        if (cpu >= 0 && !io::pin_this_thread(std::vector<int>{cpu})) return;
        testing::blocking_client c(port);
        if (!c.is_open() || !c.send_all("GET /where HTTP/1.1\r\nHost: x\r\n\r\n")) return;
        auto response = c.read_response(5000ms);
        if (response && response->status == 200) answer = parse_placement(response->body);
    });
    client.join();
    return answer;
}

/// Whether this kernel takes the steering program: tried on a group of its own.
bool kernel_steers() {
    auto first = net::tcp_listener::bind("127.0.0.1:0", {.reuse_port = true});
    if (!first) return false;
    auto second = net::tcp_listener::bind(first->local_address(), {.reuse_port = true});
    if (!second) return false;
    auto steered = net::steer_by_cpu(first->native_handle(), 2);
    if (!steered) MESSAGE("no steering here: " << steered.error().message());
    return static_cast<bool>(steered);
}

} // namespace

TEST_CASE("pinned loops each run on a CPU of their own and serve the CPU that received the "
          "connection") {
    (void)testing::make_loop(); // skips the suite without io_uring
    const std::vector<int> cpus = io::allowed_cpus();
    if (cpus.size() < 2) {
        MESSAGE("one CPU allowed: two pinned loops cannot be observed here");
        return;
    }
    // The server steers only when loop i is on CPU i; otherwise the kernel's hash places.
    const bool steering = cpus[0] == 0 && cpus[1] == 1 && kernel_steers();

    http::server_options server_options;
    server_options.threads = 2;
    server_options.pin_threads = true;
    testing::running_server server(where_routes(), server_options);
    REQUIRE(server.port() != 0);

    std::set<int> loops_seen;
    auto check = [&loops_seen, &cpus](const std::optional<placement>& p) {
        REQUIRE(p.has_value());
        CHECK((p->cpu == cpus[0] || p->cpu == cpus[1]));
        CHECK(p->allowed == std::vector<int>{p->cpu}); // its loop is pinned to that one CPU
        loops_seen.insert(p->cpu);
    };
    for (int round = 0; round < 3; ++round) {
        for (int i = 0; i < 2; ++i) {
            auto p = ask_where(server.port(), cpus[i]);
            check(p);
            INFO("connection made on CPU " << cpus[i] << ", round " << round);
            if (steering) CHECK(p->cpu == cpus[i]);
        }
    }
    // Without steering the hash spreads connections: both loops serve within a few dozen
    // (all 64 on one loop of two: odds 2^-63).
    for (int i = 0; i < 64 && loops_seen.size() < 2; ++i) check(ask_where(server.port(), -1));
    CHECK(loops_seen.size() == 2);

    CHECK(server.stop_and_join() == 0);
    CHECK(server.cpus_after() == cpus); // loop 0's thread has its CPUs back
}

TEST_CASE("with more threads than CPUs pin_threads pins nothing and the server still serves") {
    (void)testing::make_loop();
    const std::vector<int> cpus = io::allowed_cpus();
    REQUIRE_FALSE(cpus.empty());
    http::server_options server_options;
    server_options.threads = cpus.size() + 1;
    server_options.pin_threads = true;
    testing::running_server server(where_routes(), server_options);
    REQUIRE(server.port() != 0);
    for (int i = 0; i < 8; ++i) {
        auto p = ask_where(server.port(), -1);
        REQUIRE(p.has_value());
        CHECK(p->allowed == cpus); // every loop may run on every CPU the process may
    }
    CHECK(server.stop_and_join() == 0);
    CHECK(server.cpus_after() == cpus);
}

TEST_SUITE_END();
