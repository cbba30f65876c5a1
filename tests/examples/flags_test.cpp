// tests/examples/flags_test.cpp: the example programs' flags (examples/cli.hpp, CLI11): --help
// and --version answer on stdout with status 0, a bad flag is one line on stderr and status 2
// before the program starts anything, and the forms scripts and tests pass are accepted.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "support/programs.hpp"

#include "blocking_socket.hpp"
#include "child_process.hpp"

#ifndef SNOW_PROJECT_VERSION
#error "tests/examples/meson.build passes the project's version"
#endif

namespace {

using namespace std::chrono_literals;
using snow::testing::child_process;
using snow::testing::example;

struct program {
    std::string_view name;
    std::vector<std::string_view> flags; ///< every flag the program has ever taken
};

// The flags are those of the hand-written parser these programs had before CLI11 (scripts,
// benchmarks and the docs name them), then those added since.
const std::vector<program> programs = {
    {"snow_demo",
     {"--host", "--port", "--threads", "--max-body", "--header-timeout-ms", "--idle-timeout-ms",
      "--shutdown-timeout-ms", "--log-level", "--access-log", "--access-log-format", "--metrics",
      "--metrics-address", "--health", "--systemd", "--tls-cert", "--tls-key", "--pin",
      "--tls-sni-cert", "--max-handshakes",
      // The opt-in ring modes.
      "--sqpoll", "--napi-busy-poll-us"}},
    {"echo_server", {"--host", "--port"}},
    {"upper_server", {"--host", "--port"}},
    {"udp_server", {"--host", "--port"}},
    {"framed_server", {"--host", "--port"}},
    {"line_logger", {"--host", "--port", "--max-line"}},
    {"greeter", {"--host", "--port", "--threads"}},
    {"upper_client", {"--host", "--port"}},
    {"udp_client", {"--host", "--port", "--timeout-ms", "MESSAGE"}},
    {"framed_client", {"--host", "--port", "--repeat", "--message"}},
    {"snow-fetch", {"--timeout", "--concurrency"}},
};

/// A run that ends by itself: its exit status, stdout and stderr.
struct finished {
    std::optional<int> status;
    std::string out;
    std::string err;
};

finished run(std::string_view name, std::vector<std::string> args) {
    child_process child(example(name), std::move(args), child_process::stderr_to::pipe);
    child.close_stdin();
    finished f;
    f.out = child.read_all(5s);
    f.err = child.read_all_stderr(5s);
    f.status = child.wait_exit(5s);
    return f;
}

} // namespace

TEST_SUITE_BEGIN("examples");

TEST_CASE("every example answers --help and -h with its name and every flag, and exits 0") {
    for (const program& p : programs) {
        for (std::string flag : {"--help", "-h"}) {
            CAPTURE(p.name);
            CAPTURE(flag);
            const finished help = run(p.name, {flag});
            CHECK(help.status == 0);
            CHECK(help.err.empty());
            CHECK_MESSAGE(help.out.find(fmt::format("Usage: {} ", p.name)) != std::string::npos,
                          help.out);
            for (std::string_view wanted : p.flags) {
                CAPTURE(wanted);
                CHECK(help.out.find(wanted) != std::string::npos);
            }
            CHECK(help.out.find("--version") != std::string::npos);
        }
    }
}

TEST_CASE("every example answers --version with its name and the project's version") {
    for (const program& p : programs) {
        CAPTURE(p.name);
        const finished version = run(p.name, {"--version"});
        CHECK(version.status == 0);
        CHECK(version.err.empty());
        CHECK(version.out == fmt::format("{} {}\n", p.name, SNOW_PROJECT_VERSION));
    }
}

TEST_CASE("a bad flag or value is one line on stderr naming it, and exit status 2") {
    struct bad_run {
        std::string_view name;
        std::vector<std::string> args;
        std::string_view named; ///< what the line must mention
    };
    std::vector<bad_run> runs;
    for (const program& p : programs) {
        if (p.name == "snow-fetch") continue; // one line and a hint: fetch_test checks it
        runs.push_back({p.name, {"--bogus"}, "--bogus"});
        runs.push_back({p.name, {"--port", "70000"}, "--port"});
        runs.push_back({p.name, {"--port", "-1"}, "--port"});
        runs.push_back({p.name, {"--port", "0x10"}, "--port"});
        runs.push_back({p.name, {"--port"}, "--port"});
        runs.push_back({p.name, {"--port="}, "--port"});
    }
    const std::vector<bad_run> specific = {
        {"echo_server", {"stray"}, "stray"},
        {"echo_server", {"--host", "localhost"}, "--host"},
        {"greeter", {"--threads", "0"}, "--threads"},
        {"greeter", {"--threads", "1025"}, "--threads"},
        {"line_logger", {"--max-line", "0"}, "--max-line"},
        {"udp_client", {"--timeout-ms", "0"}, "--timeout-ms"},
        {"udp_client", {"-x"}, "-x"},
        {"upper_client", {"--port", "0"}, "--port"},
        {"framed_client", {"--repeat", "100000001"}, "--repeat"},
        {"framed_client", {"--repeat", "1.5"}, "--repeat"},
        {"snow_demo", {"--threads", "257"}, "--threads"},
        {"snow_demo", {"--pin", "2"}, "--pin"},
        {"snow_demo", {"--max-body", "4294967297"}, "--max-body"},
        {"snow_demo", {"--header-timeout-ms", "0"}, "--header-timeout-ms"},
        {"snow_demo", {"--idle-timeout-ms", "3600001"}, "--idle-timeout-ms"},
        {"snow_demo", {"--shutdown-timeout-ms", "600001"}, "--shutdown-timeout-ms"},
        {"snow_demo", {"--health", "2"}, "--health"},
        {"snow_demo", {"--systemd", "yes"}, "--systemd"},
        {"snow_demo", {"--log-level", "loud"}, "--log-level"},
        {"snow_demo", {"--access-log-format", "xml"}, "--access-log-format"},
        {"snow_demo", {"--tls-cert", "cert.pem"}, "--tls-key"},
        {"snow_demo", {"--tls-sni-cert", "cert.pem"}, "--tls-sni-cert"},
        {"snow_demo", {"--tls-sni-cert", ",key.pem"}, "--tls-sni-cert"},
        {"snow_demo", {"--tls-sni-cert", "cert.pem,"}, "--tls-sni-cert"},
        {"snow_demo", {"--tls-sni-cert", "a.pem,a.key", "b.pem,b.key"}, "b.pem,b.key"},
        {"snow_demo", {"--max-handshakes", "0"}, "--max-handshakes"},
        {"snow_demo", {"--max-handshakes", "1000001"}, "--max-handshakes"},
        {"snow_demo", {"--max-handshakes", "-5"}, "--max-handshakes"},
        {"snow_demo", {"--sqpoll", "2"}, "--sqpoll"},
        {"snow_demo", {"--napi-busy-poll-us", "1000001"}, "--napi-busy-poll-us"},
    };
    runs.insert(runs.end(), specific.begin(), specific.end());
    for (const bad_run& r : runs) {
        CAPTURE(r.name);
        CAPTURE(fmt::format("{}", fmt::join(r.args, " ")));
        const auto started = std::chrono::steady_clock::now();
        const finished bad = run(r.name, r.args);
        CHECK(bad.status == 2);
        CHECK(std::chrono::steady_clock::now() - started < 5s);
        CHECK_MESSAGE(bad.out.empty(), bad.out);
        CHECK(bad.err.starts_with(fmt::format("{}: ", r.name)));
        CHECK_MESSAGE(std::count(bad.err.begin(), bad.err.end(), '\n') == 1, bad.err);
        CHECK(bad.err.ends_with('\n'));
        CHECK_MESSAGE(bad.err.find(r.named) != std::string::npos, bad.err);
    }
}

TEST_CASE("--name=value, a repeated flag (the last counts) and -- before messages all work") {
    snow::testing::require_kernel();
    // --name=value, and a repeated --port whose first value could never be bound.
    for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
             {"--host=127.0.0.1", "--port=0"},
             {"--port", "9", "--port", "0"},
         }) {
        CAPTURE(fmt::format("{}", fmt::join(args, " ")));
        child_process echo(example("echo_server"), args);
        const std::uint16_t port = echo.wait_for_port();
        REQUIRE(port != 0);
        CHECK(port != 9);
        snow::testing::blocking_socket client(port);
        REQUIRE(client.is_open());
        REQUIRE(client.send_all("ping"));
        CHECK(client.read_exact(4) == "ping");
        CHECK(echo.stop() == 0);
    }

    // The demo with the 0/1 and numeric forms the README, the tests and bench/run.sh pass.
    child_process demo(example("snow_demo"),
                       {"--port=0", "--health", "1", "--systemd", "0", "--access-log", "0",
                        "--max-body=010", "--log-level", "error", "--shutdown-timeout-ms", "500",
                        "--sqpoll", "0", "--napi-busy-poll-us=0"});
    CHECK(demo.wait_for_line(
                  [](std::string_view line) { return line.starts_with("snow: listening on"); }, 10s)
              .has_value());
    CHECK(demo.stop() == 0);

    // A message that looks like a flag goes after --.
    child_process udp(example("udp_server"), {"--port", "0"});
    const std::uint16_t udp_port = udp.wait_for_port();
    REQUIRE(udp_port != 0);
    const finished sent = run("udp_client", {"--port", std::to_string(udp_port), "--timeout-ms",
                                             "5000", "--", "--not-a-flag"});
    CHECK_MESSAGE(sent.status == 0, sent.err);
    CHECK(sent.out == "ok\n");
    CHECK(udp.wait_for_line([](std::string_view line) { return line.ends_with(": --not-a-flag"); },
                            5s));
    CHECK(udp.stop() == 0);
}

TEST_SUITE_END();
