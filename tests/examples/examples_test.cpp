// tests/examples/examples_test.cpp: the example programs end to end. Each test starts the
// built binaries (found through $SNOW_EXAMPLES) with --port 0, learns the port from their
// "listening on" line, and talks to them over 127.0.0.1: with snow clients where
// concurrency is the point, with plain blocking sockets elsewhere. One test runs every
// program under tests/support's no_io_uring launcher, where each must fail in one line.
#include <doctest/doctest.h>

#include <sys/resource.h>
#include <sys/utsname.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "snow/core/when_all.hpp"
#include "snow/net/tcp_stream.hpp"
#include "snow/net/udp_socket.hpp"
#include "support/programs.hpp"
#include "support/run_test.hpp"

#include "blocking_socket.hpp"
#include "child_process.hpp"

namespace {

using snow::testing::example;
using snow::testing::require_kernel;
using namespace std::chrono_literals;
using snow::task;
using snow::testing::blocking_socket;
using snow::testing::child_process;

/// A server example started with --port 0 (and `extra` flags), with its bound port.
struct server {
    child_process process;
    std::uint16_t port;

    server(std::string_view name, std::vector<std::string> extra = {})
        : process(example(name), with_port_zero(std::move(extra)))
        , port(process.wait_for_port()) {
        REQUIRE_MESSAGE(port != 0, name, " did not print its listening line");
    }

    static std::vector<std::string> with_port_zero(std::vector<std::string> extra) {
        extra.insert(extra.begin(), {"--host", "127.0.0.1", "--port", "0"});
        return extra;
    }
};

void raise_descriptor_limit() {
    rlimit limit{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &limit) == 0);
    limit.rlim_cur = limit.rlim_max;
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &limit) == 0);
}

/// One client of seed 004's Go test: connect, send `message`, expect it back. An empty
/// string on success, else what went wrong.
task<std::string> echo_once(snow::net::address server_address, std::string message) {
    auto stream = co_await snow::net::tcp_stream::connect(server_address, {.timeout = 10s});
    if (!stream) co_return fmt::format("connect: {}", stream.error().message());
    auto sent = co_await stream->send_all(message);
    if (!sent) co_return fmt::format("send: {}", sent.error().message());
    std::string received;
    std::array<std::byte, 256> buffer;
    while (received.size() < message.size()) {
        auto n = co_await stream->recv(buffer).timeout(10s);
        if (!n) co_return fmt::format("recv: {}", n.error().message());
        if (*n == 0) co_return fmt::format("end of stream after '{}'", received);
        received += snow::net::as_text(std::span(buffer).first(*n));
    }
    if (received != message) co_return fmt::format("sent '{}', got '{}'", message, received);
    (void)co_await stream->close();
    co_return std::string{};
}

/// Runs `count` echo clients at once; returns how many failed and reports the first failure.
std::size_t run_echo_clients(std::uint16_t port, std::size_t count, bool distinct_messages) {
    auto outcomes = snow::testing::run_test(
        [](std::uint16_t p, std::size_t n, bool distinct) -> task<std::vector<std::string>> {
            std::vector<task<std::string>> clients;
            clients.reserve(n);
            for (std::size_t i = 0; i < n; ++i)
                clients.push_back(echo_once(snow::net::address::ipv4_loopback(p),
                                            distinct ? fmt::format("message {} of {}", i, n)
                                                     : std::string("hello")));
            co_return co_await snow::when_all(std::move(clients));
        }(port, count, distinct_messages),
        60s);
    std::size_t failures = 0;
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
        if (outcomes[i].empty()) continue;
        if (failures++ == 0) MESSAGE("client ", i, ": ", outcomes[i]);
    }
    return failures;
}

} // namespace

TEST_SUITE_BEGIN("examples");

TEST_CASE("echo_server answers 20 concurrent clients, then 1000, each with its own message") {
    require_kernel();
    raise_descriptor_limit(); // before the server starts: it inherits the limit
    server echo("echo_server");

    CHECK(run_echo_clients(echo.port, 20, false) == 0);
    CHECK(run_echo_clients(echo.port, 1000, true) == 0);
    CHECK_FALSE(echo.process.wait_exit(0ms).has_value()); // still serving
}

TEST_CASE("upper_client prints each stdin line upper-cased by upper_server") {
    require_kernel();
    server upper("upper_server");
    child_process client(example("upper_client"),
                         {"--host", "127.0.0.1", "--port", std::to_string(upper.port)});
    REQUIRE(client.write_stdin("hello\nsnow on io_uring\nMixed Case 42\n"));
    client.close_stdin();

    CHECK(client.read_all(10s) == "HELLO\nSNOW ON IO_URING\nMIXED CASE 42\n");
    CHECK(client.wait_exit(10s) == 0);
}

TEST_CASE("udp_client prints the server's ok and the server prints the datagram's sender") {
    require_kernel();
    server udp("udp_server");
    child_process client(example("udp_client"), {"--port", std::to_string(udp.port), "hello"});
    CHECK(client.read_all(10s) == "ok\n");
    CHECK(client.wait_exit(10s) == 0);

    auto line = udp.process.wait_for_line(
        [](std::string_view l) {
            return l.starts_with("from 127.0.0.1:") && l.ends_with(": hello");
        },
        5s);
    REQUIRE_MESSAGE(line.has_value(), udp.process.transcript());
    // The sender's port is a real one: the client's ephemeral port.
    auto port_text = line->substr(15, line->size() - 15 - 7);
    CHECK(std::stoul(port_text) > 0);

    SUBCASE("stdin lines are datagrams too") {
        child_process lines(example("udp_client"), {"--port", std::to_string(udp.port)});
        REQUIRE(lines.write_stdin("one\ntwo\n"));
        lines.close_stdin();
        CHECK(lines.read_all(10s) == "ok\nok\n");
        CHECK(lines.wait_exit(10s) == 0);
        CHECK(udp.process.wait_for_line([](std::string_view l) { return l.ends_with(": two"); }, 5s)
                  .has_value());
    }
}

TEST_CASE("udp_client gives up after its timeout when nobody answers") {
    require_kernel();
    // A bound socket that never replies: the datagram is accepted, the answer never comes.
    auto silent = snow::net::udp_socket::bind("127.0.0.1:0");
    REQUIRE(silent.has_value());
    auto bound = silent->local_address();
    REQUIRE(bound.has_value());

    const auto started = std::chrono::steady_clock::now();
    child_process client(example("udp_client"), {"--port", std::to_string(bound->port()),
                                                 "--timeout-ms", "200", "anyone?"});
    CHECK(client.wait_exit(10s) == 1);
    const auto took = std::chrono::steady_clock::now() - started;
    CHECK(took >= 200ms);
    CHECK(took < 5s);
    CHECK(client.read_all(1s).empty());
}

TEST_CASE("framed_client gets one reply per frame for 10000 back-to-back frames") {
    require_kernel();
    server framed("framed_server");
    child_process client(example("framed_client"), {"--port", std::to_string(framed.port),
                                                    "--repeat", "10000", "--message", "echo hi"});
    CHECK(client.read_all(60s) == "received 10000 replies\n");
    CHECK(client.wait_exit(10s) == 0);
}

TEST_CASE("framed_server answers time, echo, stats and unknown commands, one frame each") {
    require_kernel();
    server framed("framed_server");
    child_process client(example("framed_client"), {"--port", std::to_string(framed.port)});
    REQUIRE(client.write_stdin("echo two words\nrm -rf /\necho\nstats\ntime\n"));
    client.close_stdin();
    auto out = client.read_all(10s);
    CHECK(client.wait_exit(10s) == 0);

    auto expected_start = std::string("two words\nerror: unknown command\n\n"
                                      "frames 4 connections 1 open 1\n");
    REQUIRE_MESSAGE(out.starts_with(expected_start), out);
    auto time = std::string_view(out).substr(expected_start.size());
    // 2024-05-01T12:34:56Z
    CHECK(time.size() == 21);
    CHECK(time.ends_with("Z\n"));
}

TEST_CASE("an oversized frame closes only its own connection") {
    require_kernel();
    server framed("framed_server");
    blocking_socket good(framed.port);
    blocking_socket bad(framed.port);
    REQUIRE(good.is_open());
    REQUIRE(bad.is_open());

    REQUIRE(good.send_frame("echo before"));
    CHECK(good.read_frame() == "before");

    SUBCASE("a frame of exactly 64 KiB is still served") {
        std::string command = "echo " + std::string(64 * 1024 - 5, 'x');
        REQUIRE(bad.send_frame(command));
        CHECK(bad.read_frame() == command.substr(5));
        REQUIRE(bad.send_frame("echo same connection"));
        CHECK(bad.read_frame() == "same connection");
    }
    SUBCASE("one byte more is not") {
        REQUIRE(bad.send_all(blocking_socket::frame_header(64 * 1024 + 1) + "echo "));
        CHECK(bad.closed_by_peer());
        CHECK(framed.process
                  .wait_for_line(
                      [](std::string_view l) {
                          return l.ends_with(": frame over 65536 bytes, closing");
                      },
                      5s)
                  .has_value());

        REQUIRE(good.send_frame("echo after"));
        CHECK(good.read_frame() == "after");
        blocking_socket fresh(framed.port);
        REQUIRE(fresh.send_frame("echo new connection"));
        CHECK(fresh.read_frame() == "new connection");
    }
}

TEST_CASE("line_logger logs whole lines per client and drops only the client with a long line") {
    require_kernel();
    server logger("line_logger", {"--max-line", "16"});
    blocking_socket a(logger.port);
    blocking_socket b(logger.port);
    REQUIRE(a.is_open());
    REQUIRE(b.is_open());
    const std::string a_name = a.local_name();
    const std::string b_name = b.local_name();
    auto saw = [&](const std::string& line) {
        bool found = logger.process.wait_for_line(line, 5s);
        if (!found) MESSAGE("missing '", line, "' in:\n", logger.process.transcript());
        return found;
    };

    // Connections are logged in accept order, which need not be connect order.
    auto first = logger.process.wait_for_line(
        [](std::string_view l) { return l.starts_with("connect "); }, 5s);
    auto second = logger.process.wait_for_line(
        [](std::string_view l) { return l.starts_with("connect "); }, 5s);
    REQUIRE(first.has_value());
    REQUIRE(second.has_value());
    CHECK(((*first == "connect " + a_name && *second == "connect " + b_name) ||
           (*first == "connect " + b_name && *second == "connect " + a_name)));

    REQUIRE(a.send_all("hello from a\n"));
    CHECK(saw(a_name + ": hello from a"));
    REQUIRE(b.send_all("spl"));
    REQUIRE(b.send_all("it\r\nand two\n"));
    CHECK(saw(b_name + ": split"));
    CHECK(saw(b_name + ": and two"));

    REQUIRE(a.send_all("this line is far too long for sixteen bytes\n"));
    CHECK(saw(a_name + ": line over 16 bytes, closing"));
    CHECK(saw("disconnect " + a_name));
    CHECK(a.closed_by_peer());

    REQUIRE(b.send_all("still here\n"));
    CHECK(saw(b_name + ": still here"));
    b.close();
    CHECK(saw("disconnect " + b_name));
}

TEST_CASE("greeter with two threads greets, answers each message, and uses both loops") {
    require_kernel();
    server greeter("greeter", {"--threads", "2"});
    {
        blocking_socket client(greeter.port);
        REQUIRE(client.is_open());
        CHECK(client.read_exact(25) == "Thank you for connecting\n");
        REQUIRE(client.send_all("hi\n"));
        CHECK(client.read_exact(9) == "response\n");
        REQUIRE(client.send_all("again\n"));
        CHECK(client.read_exact(9) == "response\n");
    }

    // SO_REUSEPORT spreads connections by hash: 64 connections all landing on one loop of
    // two would take a broken kernel or a single listener (odds 2^-63 otherwise).
    for (int i = 0; i < 64; ++i) {
        blocking_socket client(greeter.port);
        REQUIRE(client.is_open());
        REQUIRE(client.read_exact(25) == "Thank you for connecting\n");
    }
    bool loop_used[2] = {false, false};
    while (!(loop_used[0] && loop_used[1])) {
        auto line = greeter.process.wait_for_line(
            [](std::string_view l) { return l.find(": connect ") != std::string_view::npos; }, 5s);
        if (!line) break;
        if (line->starts_with("loop 0:")) loop_used[0] = true;
        if (line->starts_with("loop 1:")) loop_used[1] = true;
    }
    CHECK(loop_used[0]);
    CHECK(loop_used[1]);
}

namespace {

/// One full exchange with a server, so that `client` is known to be accepted and the server
/// is waiting in recv on it; then a partial request it must be torn down in the middle of.
void leave_mid_request(std::string_view name, blocking_socket& client, child_process& process) {
    if (name == "echo_server" || name == "upper_server") {
        REQUIRE(client.send_all("ping"));
        CHECK(client.read_exact(4) == (name == "echo_server" ? "ping" : "PING"));
        REQUIRE(client.send_all("half a req"));
    } else if (name == "framed_server") {
        REQUIRE(client.send_frame("echo ping"));
        CHECK(client.read_frame() == "ping");
        REQUIRE(client.send_all(blocking_socket::frame_header(100) + "echo"));
    } else if (name == "line_logger") {
        REQUIRE(client.send_all("ping\n"));
        CHECK(process.wait_for_line(client.local_name() + ": ping", 5s));
        REQUIRE(client.send_all("half a li"));
    } else if (name == "greeter") {
        CHECK(client.read_exact(25) == "Thank you for connecting\n");
        REQUIRE(client.send_all("ping"));
        CHECK(client.read_exact(9) == "response\n");
    }
}

} // namespace

TEST_CASE("every server stops cleanly on SIGTERM, even with clients connected") {
    require_kernel();
    // Exit status 0 means the accept loop saw the cancel, the loop tore down a connection
    // waiting in recv (and one perhaps not yet accepted), and in a sanitizer build
    // LeakSanitizer found nothing at exit.
    for (std::string_view name :
         {"echo_server", "upper_server", "framed_server", "line_logger", "greeter"}) {
        CAPTURE(name);
        server running(name, name == "greeter" ? std::vector<std::string>{"--threads", "2"}
                                               : std::vector<std::string>{});
        blocking_socket busy(running.port);
        REQUIRE(busy.is_open());
        leave_mid_request(name, busy, running.process);
        blocking_socket idle(running.port);
        REQUIRE(idle.is_open());

        CHECK(running.process.stop() == 0);
        CHECK(busy.closed_by_peer());
        CHECK(idle.closed_by_peer());
    }
    server udp("udp_server");
    CHECK(udp.process.stop() == 0);
}

TEST_CASE("with io_uring blocked every program says why in one line and exits 1 at once") {
    // No require_kernel(): this is the machine where io_uring does not work, made on purpose
    // by the no_io_uring launcher (EPERM from io_uring_*, as Docker 25+'s default profile).
    const char* launcher = std::getenv("SNOW_NO_IO_URING");
    REQUIRE_MESSAGE(launcher != nullptr, "SNOW_NO_IO_URING must name the no_io_uring launcher");
    struct program {
        std::string_view name;
        std::vector<std::string> args;
    };
    // Port 9 (discard) for the clients: they must fail before they would connect anywhere.
    const std::vector<program> programs = {
        {"snow_demo", {"--port", "0"}},
        {"echo_server", {"--port", "0"}},
        {"upper_server", {"--port", "0"}},
        {"udp_server", {"--port", "0"}},
        {"framed_server", {"--port", "0"}},
        {"line_logger", {"--port", "0"}},
        {"greeter", {"--port", "0", "--threads", "2"}},
        {"upper_client", {"--port", "9"}},
        {"udp_client", {"--port", "9", "hello"}},
        {"framed_client", {"--port", "9"}},
        {"snow-fetch", {"http://127.0.0.1:9/"}},
    };
    for (const program& p : programs) {
        CAPTURE(p.name);
        std::vector<std::string> command{example(p.name)};
        command.insert(command.end(), p.args.begin(), p.args.end());
        const auto started = std::chrono::steady_clock::now();
        child_process run(launcher, command, child_process::stderr_to::pipe);
        run.close_stdin();
        const auto status = run.wait_exit(2s);
        const auto took = std::chrono::steady_clock::now() - started;
        const std::string errors = run.read_all_stderr(1s);
        if (status == 77) {
            MESSAGE("no_io_uring has no seccomp filter for this architecture: skipping");
            return;
        }
        REQUIRE_MESSAGE(status.has_value(), "still running after 2 s; stderr: ", errors);
        CHECK_MESSAGE(*status == 1, "stderr: ", errors);
        CHECK(took < 2s);
        CHECK_MESSAGE(std::count(errors.begin(), errors.end(), '\n') == 1, errors);
        CHECK(errors.ends_with('\n'));
        CHECK(errors.find("io_uring") != std::string::npos);
        CHECK(errors.find("Operation not permitted") != std::string::npos);
        const std::string output = run.read_all(1s);
        CHECK_MESSAGE(output.find("listening") == std::string::npos, output);
    }
}

TEST_SUITE_END();
