// tests/interop/snow_server_test.cpp: snow's HTTPS server (snow_demo --tls-cert/--tls-key)
// against real clients: curl (TLS 1.2 and 1.3, keep-alive, 16 MiB posted to /echo), Python's
// ssl module (both versions, session resumption, close_notify both ways) and openssl
// s_client with its interactive commands: k and K (TLS 1.3 KeyUpdate: the server goes on
// answering, and answers K with a KeyUpdate of its own) and R (TLS 1.2 renegotiation: the
// server refuses it, does not spin, and goes on serving others). Each client connects to
// 127.0.0.1 and names "localhost" by SNI (--resolve, server_hostname, -servername).
#include <doctest/doctest.h>

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "interop/digest.hpp"
#include "interop/peers.hpp"
#include "interop_paths.hpp"
#include "support/programs.hpp"
#include "support/test_certificates.hpp"

#include "examples/child_process.hpp"
#include "http/support/temp_dir.hpp"

using namespace std::chrono_literals;
using snow::testing::child_process;

namespace {

constexpr std::size_t big_size = 16 * 1024 * 1024;

const snow::testing::test_certificates& pki() {
    return snow::testing::shared_certificates();
}

/// snow_demo serving HTTPS on a free port with the test certificate for localhost, taking
/// request bodies up to 32 MiB.
struct tls_demo {
    child_process process;
    std::uint16_t port = 0;

    tls_demo()
        : process((snow::testing::require_kernel(), snow::testing::example("snow_demo")),
                  {"--host", "127.0.0.1", "--port", "0", "--tls-cert",
                   pki().certificate_file("server"), "--tls-key", pki().key_file("server"),
                   "--max-body", "33554432"}) {
        constexpr std::string_view prefix = "snow: listening on https://127.0.0.1:";
        auto line = process.wait_for_line(
            [prefix](std::string_view l) { return l.starts_with(prefix); }, 10s);
        REQUIRE_MESSAGE(line.has_value(), "snow_demo did not announce its port:\n",
                        process.transcript());
        port = static_cast<std::uint16_t>(std::stoul(line->substr(prefix.size())));
    }
};

/// The CPU time `pid` has used so far (user and system), in clock ticks.
long cpu_ticks(pid_t pid) {
    std::ifstream in(fmt::format("/proc/{}/stat", pid));
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // After "pid (comm) ": state is field 3, utime 14, stime 15.
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string field;
    long ticks = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i)
        if (i >= 14) ticks += std::stol(field);
    return ticks;
}

/// What a program printed and how it ended.
struct outcome {
    std::string out{};
    std::string err{};
    std::optional<int> status{};
};

outcome run(const std::string& program, std::vector<std::string> args) {
    child_process child(program, std::move(args), child_process::stderr_to::pipe);
    outcome o;
    o.out = child.read_all(90s);
    o.err = child.read_all_stderr(5s);
    o.status = child.wait_exit(10s);
    return o;
}

/// openssl s_client to the demo over `version` ("-tls1_2" or "-tls1_3"), checking the
/// certificate for localhost, with its handshake messages shown (-msg) and its reports
/// read with what it receives.
struct s_client {
    child_process process;

    s_client(const std::string& openssl, std::uint16_t port, const std::string& version)
        : process(openssl,
                  {"s_client", "-connect", fmt::format("127.0.0.1:{}", port), "-servername",
                   "localhost", "-CAfile", pki().ca_file(), "-verify_return_error", "-brief",
                   "-crlf", "-msg", version},
                  child_process::stderr_to::stdout_pipe) {}

    /// POSTs `text` to /echo and waits for it to come back.
    bool echo(std::string_view text) {
        // -crlf turns each "\n" into "\r\n"; the body has no newline.
        return process.write_stdin(
                   fmt::format("POST /echo HTTP/1.1\nHost: localhost\nContent-Length: {}\n\n{}",
                               text.size(), text)) &&
               process.wait_for_text(text, 10s);
    }
};

} // namespace

TEST_SUITE_BEGIN("interop");

TEST_CASE("curl gets from snow's server over TLS 1.2 and 1.3 on one connection, posts 16 MiB") {
    auto curl = snow::testing::require_peer("curl", "curl");
    if (!curl) return;
    snow::testing::temp_dir dir;
    const std::string expected = snow::testing::write_random_file(dir.file("big"), big_size);
    tls_demo demo;
    const std::string origin = fmt::format("https://localhost:{}", demo.port);
    const std::vector<std::string> common = {"-sS",
                                             "--noproxy",
                                             "*",
                                             "--cacert",
                                             pki().ca_file(),
                                             "--resolve",
                                             fmt::format("localhost:{}:127.0.0.1", demo.port),
                                             "--max-time",
                                             "60"};
    struct version {
        std::vector<std::string> flags;
        std::string_view name;
    };
    for (const version& v : {version{{"--tlsv1.2", "--tls-max", "1.2"}, "TLSv1.2"},
                             version{{"--tlsv1.3"}, "TLSv1.3"}}) {
        CAPTURE(v.name);
        std::vector<std::string> args = common;
        args.insert(args.end(), v.flags.begin(), v.flags.end());
        // Two URLs, one connection: the second transfer makes no new one.
        for (const std::string& arg : std::vector<std::string>{
                 "-v", "-w", "\n%{http_code} %{num_connects} %{ssl_verify_result}\n",
                 origin + "/index/", origin + "/plaintext"})
            args.push_back(arg);
        const outcome got = run(*curl, args);
        INFO("curl's stderr:\n", got.err);
        CHECK(got.status == 0);
        CHECK(got.out == "OK\n200 1 0\nHello, World!\n200 0 0\n");
        CHECK(got.err.find(fmt::format("SSL connection using {}", v.name)) != std::string::npos);
    }
    std::vector<std::string> post = common;
    for (const std::string& arg : std::vector<std::string>{
             "--data-binary", "@" + dir.file("big"), "-H", "Content-Type: application/octet-stream",
             "-o", dir.file("echoed"), "-w", "%{http_code}", origin + "/echo"})
        post.push_back(arg);
    const outcome posted = run(*curl, post);
    INFO("curl's stderr:\n", posted.err);
    CHECK(posted.status == 0);
    CHECK(posted.out == "200");
    CHECK(snow::testing::file_sha256(dir.file("echoed")) == expected);
}

TEST_CASE("Python's ssl module talks to snow's server: both versions, resumption, close_notify") {
    auto python = snow::testing::require_peer("python3", "python3");
    if (!python) return;
    tls_demo demo;
    const outcome got = run(*python, {SNOW_INTEROP_PYTHON_CLIENT, std::to_string(demo.port),
                                      pki().ca_file(), "localhost"});
    INFO("python's stderr:\n", got.err);
    CHECK(got.status == 0);
    CHECK(got.out == "TLSv1.2 TLSv1.2 HTTP/1.1 200 OK OK\n"
                     "TLSv1.2 echo HTTP/1.1 200 OK 1048576 same\n"
                     "TLSv1.2 closed with close_notify\n"
                     "TLSv1.2 resumed=True HTTP/1.1 200 OK Hello, World!\n"
                     "TLSv1.3 TLSv1.3 HTTP/1.1 200 OK OK\n"
                     "TLSv1.3 echo HTTP/1.1 200 OK 1048576 same\n"
                     "TLSv1.3 closed with close_notify\n"
                     "TLSv1.3 resumed=True HTTP/1.1 200 OK Hello, World!\n");
}

TEST_CASE("openssl s_client's k and K update the keys over TLS 1.3 and snow's server answers") {
    auto openssl = snow::testing::require_peer("openssl", "openssl");
    if (!openssl) return;
    tls_demo demo;
    s_client client(*openssl, demo.port, "-tls1_3");
    child_process& c = client.process;
    REQUIRE_MESSAGE(c.wait_for_text("CONNECTION ESTABLISHED", 10s), c.transcript());
    REQUIRE_MESSAGE(c.wait_for_text("Protocol version: TLSv1.3", 10s), c.transcript());
    CHECK_MESSAGE(c.wait_for_text("Ciphersuite: TLS_AES_128_GCM_SHA256", 10s), c.transcript());
    REQUIRE_MESSAGE(client.echo("before-any-update"), c.transcript());

    // k: our sending keys change; the server reads on with its receiving keys updated.
    REQUIRE(c.write_stdin("k\n"));
    REQUIRE_MESSAGE(c.wait_for_text("KEYUPDATE", 10s), c.transcript());
    REQUIRE_MESSAGE(c.wait_for_text(">>> TLS 1.3, Handshake [length 0005], KeyUpdate", 10s),
                    c.transcript());
    CHECK_MESSAGE(client.echo("after-k"), c.transcript());

    // K: the same, and the server must update its own sending keys before its next record.
    REQUIRE(c.write_stdin("K\n"));
    REQUIRE_MESSAGE(c.wait_for_text("KEYUPDATE", 10s), c.transcript());
    REQUIRE_MESSAGE(c.wait_for_text(">>> TLS 1.3, Handshake [length 0005], KeyUpdate", 10s),
                    c.transcript());
    REQUIRE(c.write_stdin("POST /echo HTTP/1.1\nHost: localhost\nContent-Length: 7\n\nafter-K"));
    CHECK_MESSAGE(c.wait_for_text("<<< TLS 1.3, Handshake [length 0005], KeyUpdate", 10s),
                  c.transcript());
    CHECK_MESSAGE(c.wait_for_text("after-K", 10s), c.transcript());
    CHECK_MESSAGE(client.echo("after-both"), c.transcript());

    // Q: close_notify, answered by the server's.
    REQUIRE(c.write_stdin("Q\n"));
    CHECK(c.wait_exit(10s) == 0);
}

TEST_CASE("openssl s_client's R over TLS 1.2: snow's server refuses, does not spin, serves on") {
    auto openssl = snow::testing::require_peer("openssl", "openssl");
    if (!openssl) return;
    tls_demo demo;
    {
        s_client client(*openssl, demo.port, "-tls1_2");
        child_process& c = client.process;
        REQUIRE_MESSAGE(c.wait_for_text("CONNECTION ESTABLISHED", 10s), c.transcript());
        REQUIRE_MESSAGE(c.wait_for_text("Protocol version: TLSv1.2", 10s), c.transcript());
        // The server's preference, over the AES-256 that OpenSSL's client lists first.
        CHECK_MESSAGE(c.wait_for_text("Ciphersuite: ECDHE-ECDSA-AES128-GCM-SHA256", 10s),
                      c.transcript());
        REQUIRE_MESSAGE(client.echo("before-renegotiation"), c.transcript());

        REQUIRE(c.write_stdin("R\n"));
        REQUIRE_MESSAGE(c.wait_for_text("RENEGOTIATING", 10s), c.transcript());
        // The server says no; OpenSSL's client takes that as fatal and the connection ends.
        CHECK_MESSAGE(
            c.wait_for_text("<<< TLS 1.2, Alert [length 0002], warning no_renegotiation", 10s),
            c.transcript());
        const auto ended = c.wait_exit(10s);
        CHECK_MESSAGE(ended.has_value(), "s_client still runs after the refused renegotiation:\n",
                      c.transcript());
    }

    // A loop spinning on the refused connection would burn the whole of this window.
    const long ticks_per_second = ::sysconf(_SC_CLK_TCK);
    const long before = cpu_ticks(demo.process.pid());
    std::this_thread::sleep_for(500ms); // a measurement window, not a wait for an event
    const long used = cpu_ticks(demo.process.pid()) - before;
    CHECK_MESSAGE(used * 4 < ticks_per_second, "snow_demo used ", used, " ticks of ",
                  ticks_per_second, "/s in an idle half second");

    s_client next(*openssl, demo.port, "-tls1_2");
    child_process& c = next.process;
    REQUIRE_MESSAGE(c.wait_for_text("CONNECTION ESTABLISHED", 10s), c.transcript());
    CHECK_MESSAGE(next.echo("served-after-the-refusal"), c.transcript());
    REQUIRE(c.write_stdin("Q\n"));
    CHECK(c.wait_exit(10s) == 0);
}

TEST_SUITE_END();
