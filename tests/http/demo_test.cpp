// tests/http/demo_test.cpp: the snow_demo program end to end. Each test starts the built demo
// (found through $SNOW_EXAMPLES) with --port 0, learns the port from its "listening on" line,
// and talks to it over 127.0.0.1 with plain blocking sockets that share nothing with snow.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "support/free_port.hpp"
#include "support/programs.hpp"
#include "support/run_test.hpp"

#include "examples/child_process.hpp"
#include "http/support/blocking_client.hpp"
#include "http/support/temp_dir.hpp"

namespace {

using snow::testing::example;
using snow::testing::require_kernel;
using namespace std::chrono_literals;
using snow::testing::blocking_client;
using snow::testing::child_process;
using snow::testing::free_port;
using snow::testing::raw_response;
using steady = std::chrono::steady_clock;

std::string demo_path() {
    return snow::testing::example("snow_demo");
}

/// snow_demo started with --port 0 (and `extra` flags), with its bound port.
struct demo {
    child_process process;
    std::uint16_t port = 0;

    explicit demo(std::vector<std::string> extra = {})
        : process((require_kernel(), demo_path()), with_port_zero(std::move(extra))) {
        // "snow: listening on http://127.0.0.1:PORT/ (1 thread)"
        constexpr std::string_view prefix = "snow: listening on http://127.0.0.1:";
        auto line = process.wait_for_line(
            [prefix](std::string_view l) { return l.starts_with(prefix); }, 10s);
        REQUIRE_MESSAGE(line.has_value(), "snow_demo did not announce its port; it printed:\n",
                        process.transcript());
        port = static_cast<std::uint16_t>(std::stoul(line->substr(prefix.size())));
        REQUIRE(port != 0);
    }

    static std::vector<std::string> with_port_zero(std::vector<std::string> extra) {
        extra.insert(extra.begin(), {"--host", "127.0.0.1", "--port", "0"});
        return extra;
    }
};

std::string get(std::string_view path) {
    return fmt::format("GET {} HTTP/1.1\r\nHost: demo\r\n\r\n", path);
}

/// One request on its own connection.
std::optional<raw_response> round_trip(std::uint16_t port, std::string_view bytes,
                                       std::chrono::milliseconds timeout = 5s) {
    blocking_client client(port);
    if (!client.is_open() || !client.send_all(bytes)) return std::nullopt;
    return client.read_response(timeout);
}

/// A request on an existing connection.
std::optional<raw_response> round_trip(blocking_client& client, std::string_view bytes,
                                       std::chrono::milliseconds timeout = 5s) {
    if (!client.send_all(bytes)) return std::nullopt;
    return client.read_response(timeout);
}

/// Two round trips on `control`: by the time they are answered, the single-threaded demo has
/// read what an earlier connection sent (and parked it, for /req/).
void settle(blocking_client& control) {
    for (int i = 0; i < 2; ++i) {
        auto r = round_trip(control, get("/index/"));
        REQUIRE(r.has_value());
        REQUIRE(r->body == "OK");
    }
}

void raise_descriptor_limit(rlim_t wanted) {
    rlimit limit{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &limit) == 0);
    if (limit.rlim_cur >= wanted) return;
    limit.rlim_cur = std::min(limit.rlim_max, std::max(limit.rlim_cur, wanted));
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &limit) == 0);
    if (limit.rlim_cur < wanted) {
        MESSAGE("RLIMIT_NOFILE hard limit " << limit.rlim_max << " is too low: skipping");
        std::exit(77);
    }
}

/// How many of `clients[from..]` have bytes (or EOF) waiting right now: one poll(2) for all.
std::size_t readable_among(const std::vector<std::unique_ptr<blocking_client>>& clients,
                           std::size_t from) {
    std::vector<pollfd> fds;
    fds.reserve(clients.size() - from);
    for (std::size_t i = from; i < clients.size(); ++i)
        fds.push_back({.fd = clients[i]->native_handle(), .events = POLLIN, .revents = 0});
    if (fds.empty()) return 0;
    int ready = ::poll(fds.data(), fds.size(), 0);
    return ready < 0 ? 0 : static_cast<std::size_t>(ready);
}

} // namespace

TEST_SUITE_BEGIN("http.demo");

TEST_CASE("the demo answers /index/, /home/, /plaintext and 404 on one connection") {
    demo d;
    blocking_client client(d.port);
    REQUIRE(client.is_open());
    struct expectation {
        std::string_view path;
        int status;
        std::string_view body;
    };
    for (const expectation& e :
         {expectation{"/index/", 200, "OK"}, expectation{"/home/", 200, "home"},
          expectation{"/plaintext", 200, "Hello, World!"},
          expectation{"/no/such/page", 404, "Not Found"}}) {
        CAPTURE(e.path);
        auto r = round_trip(client, get(e.path));
        REQUIRE(r.has_value());
        CHECK(r->status == e.status);
        CHECK(r->body == e.body);
        CHECK(r->header("Content-Length") == std::to_string(e.body.size()));
    }
}

TEST_CASE("the demo's /bytes/N answers N bytes, and 400 for what is not a number") {
    demo d;
    blocking_client client(d.port);
    REQUIRE(client.is_open());
    auto big = round_trip(client, get("/bytes/100000"));
    REQUIRE(big.has_value());
    CHECK(big->status == 200);
    CHECK(big->body == std::string(100000, 'x'));
    auto none = round_trip(client, get("/bytes/0"));
    REQUIRE(none.has_value());
    CHECK(none->status == 200);
    CHECK(none->body.empty());
    for (std::string_view bad : {"/bytes/ten", "/bytes/-1", "/bytes/1073741825", "/bytes/1x"}) {
        CAPTURE(bad);
        auto r = round_trip(client, get(bad));
        REQUIRE(r.has_value());
        CHECK(r->status == 400);
    }
}

TEST_CASE("the demo's routes match at the start of the path, as the original's re.match did") {
    demo d;
    blocking_client client(d.port);
    REQUIRE(client.is_open());
    struct expectation {
        std::string_view path;
        int status;
        std::string_view body;
    };
    for (const expectation& e :
         {expectation{"/index/extra/path", 200, "OK"}, expectation{"/home/x", 200, "home"},
          expectation{"/index/?q=1", 200, "OK"}, expectation{"/index", 404, "Not Found"},
          expectation{"/x/index/", 404, "Not Found"},
          expectation{"/plaintext/more", 404, "Not Found"}}) {
        CAPTURE(e.path);
        auto r = round_trip(client, get(e.path));
        REQUIRE(r.has_value());
        CHECK(r->status == e.status);
        CHECK(r->body == e.body);
    }
}

TEST_CASE("the demo echoes POST /echo bodies sent with Content-Length and chunked") {
    demo d;
    blocking_client client(d.port);
    REQUIRE(client.is_open());
    const std::string_view json = R"({"snow": true})";
    auto sized = round_trip(client, fmt::format("POST /echo HTTP/1.1\r\nHost: demo\r\n"
                                                "Content-Type: application/json\r\n"
                                                "Content-Length: {}\r\n\r\n{}",
                                                json.size(), json));
    REQUIRE(sized.has_value());
    CHECK(sized->status == 200);
    CHECK(sized->body == json);
    CHECK(sized->header("Content-Type") == "application/json");

    auto chunked = round_trip(client, "POST /echo HTTP/1.1\r\nHost: demo\r\n"
                                      "Transfer-Encoding: chunked\r\n\r\n"
                                      "6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n");
    REQUIRE(chunked.has_value());
    CHECK(chunked->status == 200);
    CHECK(chunked->body == "hello world");
}

TEST_CASE("/stop/ with nothing parked answers 404 nothing to stop") {
    demo d;
    auto r = round_trip(d.port, get("/stop/"));
    REQUIRE(r.has_value());
    CHECK(r->status == 404);
    CHECK(r->body == "nothing to stop");
}

TEST_CASE("a thousand parked /req/ are resolved by a thousand /stop/ in the order they parked") {
    constexpr std::size_t parked_count = 1000;
    raise_descriptor_limit(parked_count + 64);
    demo d;
    blocking_client control(d.port);
    REQUIRE(control.is_open());

    std::vector<std::unique_ptr<blocking_client>> parked;
    parked.reserve(parked_count);
    for (std::size_t i = 0; i < parked_count; ++i) {
        auto client = std::make_unique<blocking_client>(d.port);
        REQUIRE_MESSAGE(client->is_open(), "connection ", i, " failed");
        REQUIRE(client->send_all(get("/req/")));
        parked.push_back(std::move(client));
        settle(control); // parks them one at a time, so the parking order is known
    }
    CHECK(readable_among(parked, 0) == 0); // nobody has been answered yet

    std::size_t in_order = 0;
    std::size_t answered_early = 0;
    for (std::size_t i = 0; i < parked_count; ++i) {
        auto stopped = round_trip(control, get("/stop/"));
        REQUIRE_MESSAGE(stopped.has_value(), "/stop/ number ", i, " was not answered");
        REQUIRE(stopped->body == "stop");
        auto done = parked[i]->read_response(5s);
        REQUIRE_MESSAGE(done.has_value(), "/req/ number ", i, " was not resolved by its /stop/");
        if (done->status == 200 && done->body == "done") ++in_order;
        answered_early += readable_among(parked, i + 1); // later ones must still wait
    }
    CHECK(in_order == parked_count);
    CHECK(answered_early == 0);

    auto nothing = round_trip(control, get("/stop/"));
    REQUIRE(nothing.has_value());
    CHECK(nothing->status == 404);
    CHECK(nothing->body == "nothing to stop");
}

TEST_CASE("a parked client that leaves does not swallow the /stop/ meant for the next") {
    demo d;
    blocking_client control(d.port);
    REQUIRE(control.is_open());
    blocking_client first(d.port);
    REQUIRE(first.send_all(get("/req/")));
    settle(control);
    blocking_client second(d.port);
    REQUIRE(second.send_all(get("/req/")));
    settle(control);

    first.close();
    // The demo notices the close when the kernel reports it; give it that moment.
    std::this_thread::sleep_for(200ms);

    auto stopped = round_trip(control, get("/stop/"));
    REQUIRE(stopped.has_value());
    CHECK(stopped->body == "stop");
    auto done = second.read_response(3s);
    REQUIRE_MESSAGE(done.has_value(), "the second parked request was not resolved");
    CHECK(done->body == "done");

    auto nothing = round_trip(control, get("/stop/"));
    REQUIRE(nothing.has_value());
    CHECK(nothing->body == "nothing to stop");
}

TEST_CASE("/async/ does not hold up /index/ and answers async after five seconds") {
    demo d;
    blocking_client slow(d.port);
    REQUIRE(slow.is_open());
    const auto sent = steady::now();
    REQUIRE(slow.send_all(get("/async/")));

    const auto asked = steady::now();
    auto quick = round_trip(d.port, get("/index/"));
    const auto quick_took = steady::now() - asked;
    REQUIRE(quick.has_value());
    CHECK(quick->body == "OK");
    CHECK(quick_took < 1s);
    CHECK_FALSE(slow.readable_now());

    auto answer = slow.read_response(10s);
    const auto slow_took = steady::now() - sent;
    REQUIRE(answer.has_value());
    CHECK(answer->status == 200);
    CHECK(answer->body == "async");
    CHECK(slow_took >= 4950ms);
}

TEST_CASE("SIGTERM drains the demo: requests in flight are answered and it exits 0") {
    demo d;
    blocking_client control(d.port);
    REQUIRE(control.is_open());
    blocking_client parked(d.port);
    REQUIRE(parked.send_all(get("/req/")));
    // A /stop/ whose head is still arriving: in flight, so the drain waits for it.
    blocking_client stopper(d.port);
    REQUIRE(stopper.send_all("GET /stop/ HTTP/1.1\r\nHost: demo\r\n"));
    settle(control);

    REQUIRE(::kill(d.process.pid(), SIGTERM) == 0);
    CHECK(control.closed_by_peer(3s)); // idle: closed at once

    // New connections are refused once the listener is closed.
    bool refused = false;
    for (int attempt = 0; attempt < 100 && !refused; ++attempt) {
        blocking_client late(d.port);
        refused = !late.is_open();
        if (!refused) std::this_thread::sleep_for(10ms);
    }
    CHECK(refused);

    REQUIRE(stopper.send_all("\r\n"));
    auto stopped = stopper.read_response(3s);
    REQUIRE_MESSAGE(stopped.has_value(), "the in-flight /stop/ was not answered");
    CHECK(stopped->body == "stop");
    CHECK(stopped->announces_close());
    auto done = parked.read_response(3s);
    REQUIRE_MESSAGE(done.has_value(), "the parked /req/ was not answered");
    CHECK(done->body == "done");

    auto status = d.process.wait_exit(5s);
    REQUIRE_MESSAGE(status.has_value(), "snow_demo did not exit after SIGTERM");
    CHECK(*status == 0);
}

// ---------------------------------------------------------------------------------------
// Operations: signals, the access log, metrics and health checks, the log level.

namespace {

/// The demo with its stderr on a pipe, for the tests that read what it says there.
struct quiet_demo {
    child_process process;
    std::uint16_t port = 0;

    explicit quiet_demo(std::vector<std::string> extra)
        : process((require_kernel(), demo_path()), demo::with_port_zero(std::move(extra)),
                  child_process::stderr_to::pipe) {
        constexpr std::string_view prefix = "snow: listening on http://127.0.0.1:";
        auto line = process.wait_for_line(
            [prefix](std::string_view l) { return l.starts_with(prefix); }, 10s);
        REQUIRE_MESSAGE(line.has_value(), "snow_demo did not announce its port");
        port = static_cast<std::uint16_t>(std::stoul(line->substr(prefix.size())));
    }
};

/// Polls `path` until it contains `text`; false after `within`.
bool file_gets(const std::string& path, std::string_view text, std::chrono::milliseconds within) {
    const auto deadline = steady::now() + within;
    while (steady::now() < deadline) {
        if (snow::testing::read_file(path).find(text) != std::string::npos) return true;
        std::this_thread::sleep_for(5ms);
    }
    return false;
}

} // namespace

TEST_CASE("a second SIGTERM stops the draining demo at once, saying so") {
    quiet_demo d({"--shutdown-timeout-ms", "30000"});
    blocking_client control(d.port);
    REQUIRE(control.is_open());
    blocking_client parked(d.port); // keeps the drain waiting for 30 s
    REQUIRE(parked.send_all(get("/req/")));
    settle(control);

    REQUIRE(::kill(d.process.pid(), SIGTERM) == 0);
    // The idle connection closing shows the first signal was taken: a second one sent before
    // that could merge with it in the kernel.
    REQUIRE(control.closed_by_peer(3s));
    const auto second = steady::now();
    REQUIRE(::kill(d.process.pid(), SIGTERM) == 0);
    auto status = d.process.wait_exit(3s);
    REQUIRE_MESSAGE(status.has_value(), "snow_demo still drains after a second SIGTERM");
    CHECK(steady::now() - second < 2s);
    CHECK(*status == 128 + SIGTERM);
    const std::string said = d.process.read_all_stderr(2s);
    CHECK(said.find("SIGTERM received, draining") != std::string::npos);
    CHECK(said.find("snow: SIGTERM received again: stopping at once") != std::string::npos);
}

TEST_CASE("SIGHUP and SIGUSR1 reopen the demo's access log instead of ending it") {
    snow::testing::temp_dir dir;
    const std::string path = dir.file("access.log");
    quiet_demo d({"--access-log", path});
    REQUIRE(round_trip(d.port, get("/index/")).has_value());
    REQUIRE(file_gets(path, "\"GET /index/ HTTP/1.1\" 200 2 ", 3s));

    std::string expected_in_old = "\"GET /index/ HTTP/1.1\"";
    for (int signal : {SIGHUP, SIGUSR1}) {
        CAPTURE(signal);
        const std::string rotated = dir.file(fmt::format("access.log.{}", signal));
        REQUIRE(std::rename(path.c_str(), rotated.c_str()) == 0);
        REQUIRE(::kill(d.process.pid(), signal) == 0);
        // The reopen creates the file anew; the next request's line goes there.
        const auto deadline = steady::now() + 3s;
        while (steady::now() < deadline && ::access(path.c_str(), F_OK) != 0)
            std::this_thread::sleep_for(5ms);
        REQUIRE(::access(path.c_str(), F_OK) == 0);
        const std::string target = signal == SIGHUP ? "/home/" : "/plaintext";
        REQUIRE(round_trip(d.port, get(target)).has_value());
        const std::string line = fmt::format("\"GET {} HTTP/1.1\" 200 ", target);
        CHECK(file_gets(path, line, 3s));
        const std::string old_file = snow::testing::read_file(rotated);
        CHECK(old_file.find(expected_in_old) != std::string::npos);
        CHECK(old_file.find(line) == std::string::npos);
        CHECK(snow::testing::read_file(path).find(expected_in_old) == std::string::npos);
        CHECK_FALSE(d.process.wait_exit(0ms).has_value()); // still serving
        expected_in_old = line;
    }
    auto status = d.process.stop(10s);
    REQUIRE(status.has_value());
    CHECK(*status == 0);
}

TEST_CASE("the demo serves metrics and health checks when asked, in json access log format") {
    snow::testing::temp_dir dir;
    const std::string path = dir.file("access.json");
    quiet_demo d({"--metrics", "/metrics", "--health", "1", "--access-log", path,
                  "--access-log-format", "json"});
    auto live = round_trip(d.port, get("/livez"));
    REQUIRE(live.has_value());
    CHECK(live->status == 200);
    auto ready = round_trip(d.port, get("/readyz"));
    REQUIRE(ready.has_value());
    CHECK(ready->status == 200);
    REQUIRE(round_trip(d.port, get("/index/anything")).has_value());
    auto scraped = round_trip(d.port, get("/metrics"));
    REQUIRE(scraped.has_value());
    CHECK(scraped->status == 200);
    CHECK(scraped->body.find(
              R"x(snow_http_requests_total{method="GET",route="/readyz",status="200"} 1)x") !=
          std::string::npos);
    CHECK(scraped->body.find(
              R"x(snow_http_requests_total{method="GET",route="/index/",status="200"} 1)x") !=
          std::string::npos);
    CHECK(file_gets(path, "\"method\":\"GET\",\"target\":\"/metrics\",\"status\":200", 3s));
    auto status = d.process.stop(10s);
    REQUIRE(status.has_value());
    CHECK(*status == 0);
}

TEST_CASE("--metrics-address serves metrics on a port of their own, not on the public one") {
    const std::uint16_t metrics_port = free_port();
    quiet_demo d({"--metrics-address", fmt::format("127.0.0.1:{}", metrics_port)});
    REQUIRE(round_trip(d.port, get("/plaintext")).has_value());
    auto scraped = round_trip(metrics_port, get("/metrics"));
    REQUIRE(scraped.has_value());
    CHECK(scraped->status == 200);
    CHECK(scraped->body.find("snow_http_requests_total{method=\"GET\",route=\"/plaintext\","
                             "status=\"200\"} 1\n") != std::string::npos);
    auto public_side = round_trip(d.port, get("/metrics"));
    REQUIRE(public_side.has_value());
    CHECK(public_side->status == 404);
    auto status = d.process.stop(10s);
    REQUIRE(status.has_value());
    CHECK(*status == 0);
}

TEST_CASE("--proxy-protocol 1 logs the client the load balancer names, and closes the rest") {
    snow::testing::temp_dir dir;
    const std::string path = dir.file("access.log");
    quiet_demo d({"--proxy-protocol", "1", "--access-log", path});
    auto behind =
        round_trip(d.port, "PROXY TCP4 203.0.113.7 127.0.0.1 40000 8012\r\n" + get("/index/"));
    REQUIRE(behind.has_value());
    CHECK(behind->status == 200);
    CHECK(file_gets(path, "203.0.113.7 - - [", 3s));
    // A client that skips the load balancer gets no answer at all.
    CHECK_FALSE(round_trip(d.port, get("/index/")).has_value());
    auto status = d.process.stop(10s);
    REQUIRE(status.has_value());
    CHECK(*status == 0);
}

TEST_CASE("--log-level error keeps the demo's informational lines off stderr") {
    quiet_demo d({"--log-level", "error"});
    auto status = d.process.stop(10s);
    REQUIRE(status.has_value());
    CHECK(*status == 0);
    CHECK(d.process.read_all_stderr(2s).find("SIGTERM received") == std::string::npos);

    // The same through the environment, for programs without a flag for it.
    ::setenv("SNOW_LOG_LEVEL", "error", 1);
    quiet_demo from_environment({});
    ::unsetenv("SNOW_LOG_LEVEL");
    status = from_environment.process.stop(10s);
    REQUIRE(status.has_value());
    CHECK(from_environment.process.read_all_stderr(2s).find("SIGTERM received") ==
          std::string::npos);

    quiet_demo chatty({"--log-level", "info"});
    status = chatty.process.stop(10s);
    REQUIRE(status.has_value());
    CHECK(chatty.process.read_all_stderr(2s).find("snow: info: SIGTERM received, draining") !=
          std::string::npos);
}

TEST_CASE("under systemd-socket-activate the demo serves the passed socket and notifies") {
    const char* activate = "/usr/bin/systemd-socket-activate";
    if (::access(activate, X_OK) != 0) {
        MESSAGE("systemd-socket-activate is not installed (Debian: systemd): skipped");
        return;
    }
    require_kernel();
    // systemd-socket-activate binds the port.
    const std::uint16_t port = free_port();
    snow::testing::temp_dir dir;
    const std::string notify_path = dir.file("notify");
    const int receiver = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(receiver >= 0);
    sockaddr_un at{};
    at.sun_family = AF_UNIX;
    std::memcpy(at.sun_path, notify_path.c_str(), notify_path.size());
    REQUIRE(::bind(receiver, reinterpret_cast<const sockaddr*>(&at), sizeof at) == 0);
    timeval wait{.tv_sec = 5, .tv_usec = 0};
    ::setsockopt(receiver, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    auto next_state = [receiver] {
        char buffer[128];
        const ssize_t n = ::recv(receiver, buffer, sizeof buffer, 0);
        return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
    };

    ::setenv("NOTIFY_SOCKET", notify_path.c_str(), 1);
    child_process activated(activate,
                            {"-l", fmt::format("127.0.0.1:{}", port), "-E", "NOTIFY_SOCKET",
                             demo_path(), "--systemd", "1", "--port", "1"},
                            child_process::stderr_to::pipe);
    ::unsetenv("NOTIFY_SOCKET");

    // The demo starts with the first connection; until systemd-socket-activate listens, the
    // connection is refused.
    std::optional<raw_response> answer;
    const auto deadline = steady::now() + 10s;
    while (!answer && steady::now() < deadline) {
        answer = round_trip(port, get("/index/"));
        if (!answer) std::this_thread::sleep_for(20ms);
    }
    REQUIRE_MESSAGE(answer.has_value(), "no answer on the activated socket");
    CHECK(answer->body == "OK");
    CHECK(next_state() == "READY=1");
    // The announced port is the passed socket's, not --port.
    auto line = activated.wait_for_line(
        [](std::string_view l) { return l.starts_with("snow: listening on"); }, 5s);
    REQUIRE(line.has_value());
    CHECK(line->find(fmt::format(":{}/", port)) != std::string::npos);

    auto status = activated.stop(10s);
    REQUIRE(status.has_value());
    CHECK(*status == 0);
    CHECK(next_state() == "STOPPING=1");
    ::close(receiver);
}

TEST_SUITE_END();
