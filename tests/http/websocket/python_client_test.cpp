// tests/http/websocket/python_client_test.cpp: Python's websockets library (Debian:
// python3-websockets) as a real client: it connects, sends text, binary, a fragmented and a
// large message, pings, and closes; the server echoes each and completes the close.
#include "snow/http/server/websocket.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "support/test_certificates.hpp"

#include "http/support/server_fixture.hpp"
#include "http/websocket/websocket_client_script.hpp"
#include "http/websocket/ws_routes.hpp"

using namespace snow;
using namespace snow::testing;
using namespace std::chrono_literals;

TEST_SUITE_BEGIN("http.websocket_server");

namespace {

/// What a run of the Python client printed, read on a thread of its own while the loop
/// serves.
struct python_run {
    std::atomic<bool> done{false};
    std::string output;
    int status = -1;
};

void run_python(std::string command, python_run& run) {
    if (FILE* pipe = ::popen(command.c_str(), "r")) {
        char buffer[4096];
        std::size_t n = 0;
        while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) run.output.append(buffer, n);
        run.status = ::pclose(pipe);
    }
    run.done = true;
}

bool python_has_websockets() {
    if (::access("/usr/bin/python3", X_OK) != 0) return false;
    return std::system("/usr/bin/python3 -c 'import websockets' 2>/dev/null") == 0;
}

/// Runs the client against `at`; over TLS when `ca_file` is given.
task<void> talk_python(net::address at, std::string ca_file, python_run& run) {
    // The script bounds itself (20 s); `timeout` bounds it again should it hang anyway.
    std::thread python(run_python,
                       fmt::format("timeout 30 /usr/bin/python3 {} {} {} 2>&1",
                                   SNOW_WS_PYTHON_CLIENT, at.port(), ca_file),
                       std::ref(run));
    const bool finished = co_await eventually([&run] { return run.done.load(); }, 35s);
    python.join();
    CHECK(finished);
}

/// Serves with `options` while the Python client talks to the server, then checks both ends.
void python_session(http::server_options options, std::string ca_file) {
    ws_probe p;
    http::websocket_hub hub;
    http::server srv(ws_routes(p, hub));
    python_run run;
    run_server_test(
        srv, std::move(options),
        [&run, ca_file](net::address at) { return talk_python(at, ca_file, run); }, 40s);
    CHECK(run.status == 0);
    CHECK(run.output == "subprotocol json\n"
                        "extensions permessage-deflate\n"
                        "agreed ['permessage-deflate']\n"
                        "text h\xc3\xa9llo\n"
                        "binary 0001ff\n"
                        "fragmented fragments\n"
                        "big 300000\n"
                        "json True\n"
                        "json True\n"
                        "pong\n"
                        "closed 1000\n");
    CHECK(p.ended == 1);
    CHECK(p.status.clean());
    CHECK(p.status.code == 1000);
    CHECK(p.received.size() == 6);
}

} // namespace

TEST_CASE("Python's websockets client talks to the server and closes cleanly") {
    if (!python_has_websockets()) {
        MESSAGE("python3-websockets is not installed (Debian: python3-websockets): skipped");
        return;
    }
    python_session(test_options(), "");
}

TEST_CASE("Python's websockets client does the same over TLS") {
    if (!python_has_websockets()) {
        MESSAGE("python3-websockets is not installed (Debian: python3-websockets): skipped");
        return;
    }
    // Over TLS no pool buffer can take the ciphertext: the reader receives through the
    // session, while the writer sends through it.
    auto options = test_options();
    options.tls_certificate_file = shared_certificates().certificate_file("server");
    options.tls_key_file = shared_certificates().key_file("server");
    python_session(options, shared_certificates().ca_file());
}

TEST_SUITE_END();
