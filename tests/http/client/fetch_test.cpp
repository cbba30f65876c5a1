// tests/http/client/fetch_test.cpp: snow-fetch end to end, as a child process (found through
// $SNOW_EXAMPLES) against snow_demo and against misbehaving servers running on a thread of
// this process: its JSON lines, exit codes, timeout window and completion-order flushing; its
// flags, input forms, summary, -z cut-off and output back-pressure. Also the tool's parts on
// their own (the latency histogram, the JSON input-line reader) and GET /agg/, snow_demo's
// route that uses the client inside the server.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <regex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "snow/http/client/client.hpp"
#include "support/programs.hpp"
#include "support/run_test.hpp"

#include "examples/child_process.hpp"
#include "examples/fetch/histogram.hpp"
#include "examples/fetch/input_line.hpp"
#include "examples/fetch/retry_policy.hpp"
#include "http/support/misbehaving_server.hpp"
#include "support/test_certificates.hpp"

namespace {

using snow::testing::example;
using snow::testing::require_kernel;
using namespace std::chrono_literals;
using snow::testing::child_process;
using snow::testing::threaded_server;
using clock_type = std::chrono::steady_clock;

/// One line of snow-fetch's output, taken apart.
struct line {
    std::string url; // as printed: still JSON-escaped
    std::optional<int> status;
    std::uint64_t bytes = 0;
    double ms = 0;
    std::optional<std::string> error;
    std::optional<std::string> phase;  // the phase a failure happened in
    std::optional<std::string> remote; // "IP:port"
    bool reused = false;
    std::uint32_t attempts = 0;
    std::optional<std::string> file;             // where the body was saved
    std::map<std::string, std::uint64_t> phases; // microseconds, by name
};

/// Parses `text` as exactly the line format snow-fetch promises; fails the test otherwise.
line parse_line(const std::string& text) {
    static const std::regex format(
        R"re(^\{"v": 1, "url": "(.*)", "status": (null|[1-5][0-9][0-9]), )re"
        R"re("bytes": ([0-9]+), "ms": ([0-9]+\.[0-9]), )re"
        R"re("error": (null|"(timeout|connect|dns|url|truncated|)re"
        R"re(protocol|redirects|io|tls|aborted|input)"), )re"
        R"re("phase": (null|"(queue|dns|connect|tls|send|ttfb|body)"), )re"
        R"re("remote": (null|"([^"]+)"), "reused": (true|false), "attempts": ([0-9]+), )re"
        R"re("file": (null|"([^"]*)"), )re"
        R"re("phases": \{"queue": ([0-9]+), "dns": ([0-9]+), "connect": ([0-9]+), )re"
        R"re("tls": ([0-9]+), "send": ([0-9]+), "ttfb": ([0-9]+), "body": ([0-9]+), )re"
        R"re("total": ([0-9]+)\}\}$)re");
    std::smatch m;
    REQUIRE_MESSAGE(std::regex_match(text, m, format), "not a snow-fetch line: ", text);
    line l;
    l.url = m[1];
    if (m[2] != "null") l.status = std::stoi(m[2]);
    l.bytes = std::stoull(m[3]);
    l.ms = std::stod(m[4]);
    if (m[5] != "null") l.error = m[6];
    if (m[7] != "null") l.phase = m[8];
    if (m[9] != "null") l.remote = m[10];
    l.reused = m[11] == "true";
    l.attempts = static_cast<std::uint32_t>(std::stoul(m[12]));
    // An input record made no attempt; every request made at least one.
    CHECK((l.attempts == 0) == (l.error == "input"));
    if (m[13] != "null") l.file = m[14];
    const char* names[] = {"queue", "dns", "connect", "tls", "send", "ttfb", "body", "total"};
    for (std::size_t i = 0; i < std::size(names); ++i) l.phases[names[i]] = std::stoull(m[15 + i]);
    return l;
}

/// The number after `"key": ` in a summary line; fails the test if there is none.
double summary_number(const std::string& summary, std::string_view key) {
    const std::string field = fmt::format("\"{}\": ", key);
    const auto at = summary.find(field);
    REQUIRE_MESSAGE(at != std::string::npos, "no ", key, " in ", summary);
    return std::strtod(summary.c_str() + at + field.size(), nullptr);
}

/// A finished snow-fetch run.
struct run {
    int exit_status = -1;
    std::string out;
    std::vector<line> lines;
    std::optional<std::string> summary; // the --summary json line
    double seconds = 0;

    const line& for_url(std::string_view url) const {
        for (const auto& l : lines)
            if (l.url == url) return l;
        FAIL("no line for ", url, " in:\n", out);
        return lines.front();
    }
};

run fetch(std::vector<std::string> args, std::chrono::seconds limit = 30s) {
    const auto start = clock_type::now();
    child_process child(example("snow-fetch"), std::move(args));
    child.close_stdin();
    run r;
    r.out = child.read_all(limit);
    auto status = child.wait_exit(5s);
    REQUIRE_MESSAGE(status.has_value(), "snow-fetch did not exit");
    r.exit_status = *status;
    r.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    std::size_t from = 0;
    while (from < r.out.size()) {
        auto newline = r.out.find('\n', from);
        REQUIRE_MESSAGE(newline != std::string::npos, "unterminated line: ", r.out.substr(from));
        std::string text = r.out.substr(from, newline - from);
        from = newline + 1;
        if (text.starts_with("{\"summary\": {")) {
            REQUIRE_MESSAGE(from == r.out.size(), "the summary is not the last line");
            r.summary = std::move(text);
        } else {
            r.lines.push_back(parse_line(text));
        }
    }
    return r;
}

/// snow_demo on 127.0.0.1 and a free port, for one test; `extra` adds flags (--tls-cert…).
struct demo {
    child_process process;
    std::uint16_t port = 0;

    explicit demo(std::vector<std::string> extra = {})
        : process(example("snow_demo"), with(std::move(extra))) {
        // "snow: listening on http://127.0.0.1:PORT/ (1 thread)", or https
        auto announced = process.read_line(10s);
        REQUIRE_MESSAGE(announced.has_value(), "snow_demo did not announce its port");
        static const std::regex listening(R"(listening on https?://127\.0\.0\.1:([0-9]+)/)");
        std::smatch m;
        REQUIRE_MESSAGE(std::regex_search(*announced, m, listening), *announced);
        port = static_cast<std::uint16_t>(std::stoi(m[1]));
    }
    std::string url(std::string_view target) const {
        return fmt::format("http://127.0.0.1:{}{}", port, target);
    }

    static std::vector<std::string> with(std::vector<std::string> extra) {
        std::vector<std::string> args{"--host", "127.0.0.1", "--port", "0"};
        args.insert(args.end(), extra.begin(), extra.end());
        return args;
    }
};

/// Answers /r/N with a 301 to /r/N-1 (body "moved"), /r/0 with 200 "landed", /abs with a
/// 302 to an absolute http://127.0.0.1:PORT/r/0, /rel/x with a 307 to a relative "../r/0".
snow::task<void> redirecting(snow::testing::peer& client, snow::testing::server_state& server) {
    for (;;) {
        // Awaits stay out of conditions: GCC 12 mislays coroutine frames for some of those.
        auto request = co_await client.read_request();
        if (!request) co_return;
        const auto target_end = request->find(' ', 4);
        const std::string target = request->substr(4, target_end - 4);
        std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nlanded";
        if (target.starts_with("/r/") && target != "/r/0") {
            answer = fmt::format("HTTP/1.1 301 Moved Permanently\r\nLocation: /r/{}\r\n"
                                 "Content-Length: 5\r\n\r\nmoved",
                                 std::stoi(target.substr(3)) - 1);
        } else if (target == "/abs") {
            answer = fmt::format("HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{}/r/0\r\n"
                                 "Content-Length: 0\r\n\r\n",
                                 server.listener.local_address().port());
        } else if (target == "/rel/x") {
            answer = "HTTP/1.1 307 Temporary Redirect\r\nLocation: ../r/0\r\n"
                     "Content-Length: 0\r\n\r\n";
        }
        const bool sent = co_await client.send(std::move(answer));
        if (!sent) co_return;
    }
}

/// Every request the recording server has read, for tests that check what snow-fetch sent.
struct request_log {
    std::mutex mutex;
    std::vector<std::string> requests;

    std::vector<std::string> take() {
        std::lock_guard lock(mutex);
        return std::exchange(requests, {});
    }
};

request_log& recorded() {
    static request_log log;
    return log;
}

/// Logs each request, then answers it with 200 "ok".
snow::task<void> record_requests(snow::testing::peer& client, snow::testing::server_state&) {
    for (;;) {
        auto request = co_await client.read_request();
        if (!request) co_return;
        {
            std::lock_guard lock(recorded().mutex);
            recorded().requests.push_back(*request);
        }
        const bool sent = co_await client.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        if (!sent) co_return;
    }
}

/// The connections the counting server has open now, and the most it had at once.
struct connection_count {
    std::atomic<int> open{0};
    std::atomic<int> most{0};

    void reset() {
        open = 0;
        most = 0;
    }
};

connection_count& connections() {
    static connection_count count;
    return count;
}

/// Counts its open connections, and answers each request with 200 "ok" after 50 ms, so that
/// requests overlap.
snow::task<void> slow_counted(snow::testing::peer& client, snow::testing::server_state&) {
    auto& count = connections();
    const int now = ++count.open;
    int most = count.most.load();
    while (now > most && !count.most.compare_exchange_weak(most, now)) {
    }
    for (;;) {
        auto request = co_await client.read_request();
        if (!request) break;
        const bool slept = co_await snow::sleep(50ms);
        if (!slept) break;
        const bool sent = co_await client.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        if (!sent) break;
    }
    --count.open;
}

/// The target of a request's request line.
std::string target_of(const std::string& request) {
    const auto from = request.find(' ') + 1;
    return request.substr(from, request.find(' ', from) - from);
}

/// Requests seen per target by the unavailable_once server.
struct target_counts {
    std::mutex mutex;
    std::map<std::string, int> seen;

    int add(const std::string& target) {
        std::lock_guard lock(mutex);
        return ++seen[target];
    }
    int get(const std::string& target) {
        std::lock_guard lock(mutex);
        return seen[target];
    }
};

target_counts& unavailable_seen() {
    static target_counts counts;
    return counts;
}

/// Answers the first request for each target with 503 and a Retry-After (1 s; 120 s for
/// targets under /long), and every later one with 200 "ok".
snow::task<void> unavailable_once(snow::testing::peer& client, snow::testing::server_state&) {
    for (;;) {
        auto request = co_await client.read_request();
        if (!request) co_return;
        const std::string target = target_of(*request);
        std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        if (unavailable_seen().add(target) == 1)
            answer = fmt::format("HTTP/1.1 503 Service Unavailable\r\nRetry-After: {}\r\n"
                                 "Content-Length: 4\r\n\r\nbusy",
                                 target.starts_with("/long") ? 120 : 1);
        const bool sent = co_await client.send(std::move(answer));
        if (!sent) co_return;
    }
}

/// Answers /stall after 600 ms and anything else at once, 200 "ok" each.
snow::task<void> stall_on_request(snow::testing::peer& client, snow::testing::server_state&) {
    for (;;) {
        auto request = co_await client.read_request();
        if (!request) co_return;
        if (target_of(*request) == "/stall") {
            const bool slept = co_await snow::sleep(600ms);
            if (!slept) co_return;
        }
        const bool sent = co_await client.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        if (!sent) co_return;
    }
}

/// A file in the test's temporary directory, removed when the test ends.
struct temporary_file {
    std::string path;

    explicit temporary_file(std::string_view contents) {
        std::random_device seed;
        path = fmt::format("/tmp/snow-fetch-test-{}-{}", ::getpid(), seed());
        std::ofstream(path, std::ios::binary) << contents;
    }
    temporary_file(const temporary_file&) = delete;
    temporary_file& operator=(const temporary_file&) = delete;
    ~temporary_file() { std::remove(path.c_str()); }
};

/// Runs snow-fetch with `args`, writes `input` to its stdin from a thread of its own (so
/// neither side can fill a pipe and wait for the other), and collects it like fetch() does.
run fetch_with_stdin(std::vector<std::string> args, std::string input,
                     std::chrono::seconds limit = 30s) {
    const auto start = clock_type::now();
    child_process child(example("snow-fetch"), std::move(args));
    std::thread feeder([&child, &input] {
        child.write_stdin(input);
        child.close_stdin();
    });
    run r;
    r.out = child.read_all(limit);
    feeder.join();
    auto status = child.wait_exit(5s);
    REQUIRE_MESSAGE(status.has_value(), "snow-fetch did not exit");
    r.exit_status = *status;
    r.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    std::size_t from = 0;
    while (from < r.out.size()) {
        auto newline = r.out.find('\n', from);
        REQUIRE_MESSAGE(newline != std::string::npos, "unterminated line: ", r.out.substr(from));
        std::string text = r.out.substr(from, newline - from);
        from = newline + 1;
        if (text.starts_with("{\"summary\": {"))
            r.summary = std::move(text);
        else
            r.lines.push_back(parse_line(text));
    }
    return r;
}

} // namespace

TEST_SUITE_BEGIN("http.fetch");

TEST_CASE("one JSON line per URL, exit 0 when none failed; a 404 is a result, not an error") {
    demo d;
    auto r = fetch({d.url("/index/"), d.url("/home/"), d.url("/plaintext"), d.url("/nope")});
    CHECK(r.exit_status == 0);
    REQUIRE(r.lines.size() == 4);
    CHECK(r.for_url(d.url("/index/")).status == 200);
    CHECK(r.for_url(d.url("/index/")).bytes == 2);
    CHECK(r.for_url(d.url("/home/")).bytes == 4);
    CHECK(r.for_url(d.url("/plaintext")).bytes == 13);
    CHECK(r.for_url(d.url("/nope")).status == 404);
    for (const auto& l : r.lines) {
        CHECK_FALSE(l.error.has_value());
        CHECK(l.ms >= 0);
    }
}

TEST_CASE("records give the server's address, reuse, phases in microseconds, a failure's phase") {
    demo d;
    std::uint16_t closed_port = 0;
    {
        auto probe = snow::testing::make_loop();
        auto listener = snow::net::tcp_listener::bind("127.0.0.1:0").value();
        closed_port = listener.local_address().port();
    }
    const std::string refused = fmt::format("http://127.0.0.1:{}/", closed_port);
    // One at a time: the first opens the connection, the next two reuse it.
    auto r = fetch({"-c", "1", d.url("/index/"), d.url("/home/"), d.url("/index/"), refused});
    REQUIRE(r.lines.size() == 4);
    std::size_t reused = 0;
    for (const auto& l : r.lines) {
        const std::uint64_t parts = l.phases.at("queue") + l.phases.at("dns") +
                                    l.phases.at("connect") + l.phases.at("tls") +
                                    l.phases.at("send") + l.phases.at("ttfb") + l.phases.at("body");
        // Each phase is part of the whole; phases start from the loop turn's clock, which may
        // be a little older than the request's own start.
        CHECK(parts <= l.phases.at("total") + 5000);
        CHECK(l.phases.at("tls") == 0); // plain http
        if (l.error) continue;
        CHECK_FALSE(l.phase.has_value());
        REQUIRE(l.remote.has_value());
        CHECK(*l.remote == d.url("").substr(7, d.url("").size() - 7));
        if (l.reused) {
            ++reused;
            CHECK(l.phases.at("connect") == 0);
        }
    }
    CHECK(reused == 2);
    const line& failed = r.for_url(refused);
    CHECK(failed.error == "connect");
    CHECK(failed.phase == "connect");
    CHECK_FALSE(failed.remote.has_value());
}

TEST_CASE("each failure is named by its class, status null, and the exit status is 1") {
    demo d;
    std::uint16_t closed_port = 0;
    {
        auto probe = snow::testing::make_loop();
        auto listener = snow::net::tcp_listener::bind("127.0.0.1:0").value();
        closed_port = listener.local_address().port();
    }
    const std::string refused = fmt::format("http://127.0.0.1:{}/", closed_port);
    auto r = fetch({d.url("/index/"), refused, "ftp://127.0.0.1/", "http://127.0.0.1:0/",
                    "http://127.0.0.1:99999/", "not a url", "http://no-such-host.invalid/"});
    CHECK(r.exit_status == 1);
    REQUIRE(r.lines.size() == 7);
    CHECK_FALSE(r.for_url(d.url("/index/")).error.has_value());
    CHECK(r.for_url(refused).error == "connect");
    CHECK(r.for_url("ftp://127.0.0.1/").error == "url");
    CHECK(r.for_url("http://127.0.0.1:0/").error == "url");
    CHECK(r.for_url("http://127.0.0.1:99999/").error == "url");
    CHECK(r.for_url("not a url").error == "url");
    CHECK(r.for_url("http://no-such-host.invalid/").error == "dns");
    for (const auto& l : r.lines)
        if (l.error) CHECK_FALSE(l.status.has_value());
}

TEST_CASE("usage errors exit 2 with one line and a hint on stderr, nothing on stdout") {
    for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
             {},
             {"--follow"},
             {"--bogus", "http://127.0.0.1/"},
             {"-x", "http://127.0.0.1/"},
             {"--timeout", "abc", "http://127.0.0.1/"},
             {"--timeout", "0", "http://127.0.0.1/"},
             {"--timeout", "-1", "http://127.0.0.1/"},
             {"--timeout", "nan", "http://127.0.0.1/"},
             {"--timeout=", "http://127.0.0.1/"},
             {"--concurrency", "0", "http://127.0.0.1/"},
             {"--concurrency", "1.5", "http://127.0.0.1/"},
             {"--follow=yes", "http://127.0.0.1/"},
             {"http://127.0.0.1/", "--timeout"},
             {"-X", "FROB", "http://127.0.0.1/"},
             {"-X", "CONNECT", "http://127.0.0.1/"},
             {"-H", "no colon", "http://127.0.0.1/"},
             {"-H", "bad name: x", "http://127.0.0.1/"},
             {"-d", "a", "--data-binary", "b", "http://127.0.0.1/"},
             {"--data-binary", "@/nonexistent/body", "http://127.0.0.1/"},
             {"-i", "/nonexistent/urls"},
             {"-i", "-", "-n", "2"}, // a pipe cannot be read twice
             {"-n", "0", "http://127.0.0.1/"},
             {"-z", "soon", "http://127.0.0.1/"},
             {"-z", "0s", "http://127.0.0.1/"},
             {"--summary", "xml", "http://127.0.0.1/"},
             {"--output-queue", "0", "http://127.0.0.1/"},
             {"--per-host", "0", "http://127.0.0.1/"},
             {"--retries", "-1", "http://127.0.0.1/"},
             {"--retries", "101", "http://127.0.0.1/"},
             {"--retry-all=yes", "http://127.0.0.1/"},
             {"--rate", "0", "http://127.0.0.1/"},
             {"--rate", "fast", "http://127.0.0.1/"},
             {"-o", "/nonexistent/dir/body", "http://127.0.0.1/"},
             {"-o", "/tmp/snow-fetch-unused", "http://127.0.0.1/a", "http://127.0.0.1/b"},
             {"-o", "/tmp/snow-fetch-unused", "-n", "2", "http://127.0.0.1/"},
             {"-o", "/tmp/snow-fetch-unused", "--output-dir", "/tmp", "http://127.0.0.1/"},
             {"--output-dir", "/nonexistent/dir", "http://127.0.0.1/"},
         }) {
        CAPTURE(fmt::format("{}", fmt::join(args, " ")));
        const auto start = clock_type::now();
        child_process child(example("snow-fetch"), args, child_process::stderr_to::pipe);
        const std::string out = child.read_all(10s);
        const std::string err = child.read_all_stderr(5s);
        CHECK(child.wait_exit(5s) == 2);
        CHECK(out.empty());
        CHECK(err.starts_with("snow-fetch: "));
        CHECK(std::count(err.begin(), err.end(), '\n') == 2);
        CHECK(err.find("--help") != std::string::npos);
        CHECK(clock_type::now() - start < 5s);
    }
}

TEST_CASE("a server that never answers gives a timeout line within [T, T+0.5] s of start") {
    threaded_server silent(snow::testing::never_answer);
    const auto start = clock_type::now();
    child_process child(example("snow-fetch"), {"--timeout", "1", silent.url("/")});
    auto text = child.read_line(10s);
    const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    REQUIRE(text.has_value());
    const line l = parse_line(*text);
    CHECK(l.error == "timeout");
    CHECK_FALSE(l.status.has_value());
    CHECK(l.ms >= 1000.0);
    CHECK(seconds >= 1.0);
    CHECK(seconds <= 1.5);
    CHECK(child.wait_exit(5s) == 1);
}

TEST_CASE("a server trickling its response a byte at a time still times out on time") {
    // The head arrives within ~0.1 s; then the body trickles a byte per 2 ms, forever.
    threaded_server trickling(snow::testing::trickle,
                              "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", 2ms);
    const auto start = clock_type::now();
    child_process child(example("snow-fetch"), {"--timeout", "0.7", trickling.url("/")});
    auto text = child.read_line(10s);
    const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    REQUIRE(text.has_value());
    const line l = parse_line(*text);
    CHECK(l.error == "timeout");
    CHECK(l.status == 200); // the head had arrived: the status is still reported
    CHECK(l.bytes > 0);
    CHECK(seconds >= 0.7);
    CHECK(seconds <= 1.2);
    CHECK(child.wait_exit(5s) == 1);
}

TEST_CASE("lines appear in completion order, each flushed as its URL finishes") {
    demo d;
    threaded_server silent(snow::testing::never_answer);
    const auto start = clock_type::now();
    // The slow URL comes first on the command line, and still prints last.
    child_process child(example("snow-fetch"),
                        {"--timeout", "2", silent.url("/"), d.url("/home/")});
    auto first = child.read_line(10s);
    const double first_at = std::chrono::duration<double>(clock_type::now() - start).count();
    REQUIRE(first.has_value());
    CHECK(parse_line(*first).url == d.url("/home/"));
    CHECK(first_at < 1.5); // printed while the slow one was still waiting
    auto second = child.read_line(10s);
    REQUIRE(second.has_value());
    CHECK(parse_line(*second).error == "timeout");
    CHECK(child.wait_exit(5s) == 1);
}

TEST_CASE("redirects are reported as they are by default and followed with --follow") {
    threaded_server srv(redirecting);
    auto plain = fetch({srv.url("/r/3")});
    CHECK(plain.exit_status == 0);
    REQUIRE(plain.lines.size() == 1);
    CHECK(plain.lines[0].status == 301);
    CHECK(plain.lines[0].bytes == 5);

    auto followed = fetch({"--follow", srv.url("/r/5"), srv.url("/abs"), srv.url("/rel/x")});
    CHECK(followed.exit_status == 0);
    for (const auto& url : {srv.url("/r/5"), srv.url("/abs"), srv.url("/rel/x")}) {
        const line& l = followed.for_url(url); // under the original URL
        CHECK(l.status == 200);
        CHECK(l.bytes == 6);
        CHECK_FALSE(l.error.has_value());
    }

    auto too_many = fetch({srv.url("/r/6"), "--follow"});
    CHECK(too_many.exit_status == 1);
    REQUIRE(too_many.lines.size() == 1);
    CHECK(too_many.lines[0].error == "redirects");
    CHECK(too_many.lines[0].status == 301);
}

TEST_CASE("bytes count the body after de-chunking, and none for 204") {
    threaded_server chunked(
        snow::testing::answer_canned,
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nabcd\r\n3\r\nefg\r\n"
        "0\r\nTrailer: t\r\n\r\n");
    threaded_server empty(snow::testing::answer_canned,
                          "HTTP/1.1 204 No Content\r\nContent-Length: 50\r\n\r\n");
    auto r = fetch({chunked.url("/"), empty.url("/")});
    CHECK(r.exit_status == 0);
    CHECK(r.for_url(chunked.url("/")).bytes == 7);
    CHECK(r.for_url(empty.url("/")).status == 204);
    CHECK(r.for_url(empty.url("/")).bytes == 0);
}

TEST_CASE("truncated, garbage and oversized responses are truncated and protocol errors") {
    threaded_server short_body(snow::testing::answer_canned_then_close,
                               "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    threaded_server short_head(snow::testing::answer_canned_then_close, "HTTP/1.1 200 OK\r\nCont");
    threaded_server garbage(snow::testing::answer_canned, "220 smtp.example.com ESMTP\r\n\r\n");
    threaded_server conflicting(
        snow::testing::answer_canned,
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab");
    threaded_server huge(snow::testing::answer_canned,
                         "HTTP/1.1 200 OK\r\nX-Huge: " + std::string(100'000, 'h') +
                             "\r\nContent-Length: 0\r\n\r\n");
    auto r = fetch({short_body.url("/"), short_head.url("/"), garbage.url("/"),
                    conflicting.url("/"), huge.url("/")});
    CHECK(r.exit_status == 1);
    const line& body = r.for_url(short_body.url("/"));
    CHECK(body.error == "truncated");
    CHECK(body.status == 200); // the error came after the head
    CHECK(body.bytes == 3);
    CHECK(r.for_url(short_head.url("/")).error == "truncated");
    CHECK_FALSE(r.for_url(short_head.url("/")).status.has_value());
    CHECK(r.for_url(garbage.url("/")).error == "protocol");
    CHECK(r.for_url(conflicting.url("/")).error == "protocol");
    CHECK(r.for_url(huge.url("/")).error == "protocol");
}

TEST_CASE("the url field is the argument verbatim, JSON-escaped") {
    const std::string odd = "http://127.0.0.1:0/a\"b\\c\tcaf\xc3\xa9\xff";
    auto r = fetch({odd});
    REQUIRE(r.lines.size() == 1);
    CHECK(r.lines[0].url == "http://127.0.0.1:0/a\\\"b\\\\c\\tcaf\xc3\xa9\\ufffd");
    CHECK(r.lines[0].error == "url");
}

TEST_CASE("500 URLs to snow_demo finish in a few seconds, all of them 200") {
    demo d;
    std::vector<std::string> urls;
    for (int i = 0; i < 500; ++i) urls.push_back(d.url(i % 2 ? "/index/" : "/plaintext"));
    auto r = fetch(urls, 60s);
    CHECK(r.exit_status == 0);
    REQUIRE(r.lines.size() == 500);
    std::size_t ok = 0;
    for (const auto& l : r.lines) ok += l.status == 200 && !l.error;
    CHECK(ok == 500);
    CHECK(r.seconds < 10.0);
    MESSAGE("500 URLs in ", r.seconds, " s");

    auto capped = fetch({"--concurrency", "3", d.url("/index/"), d.url("/home/"),
                         d.url("/plaintext"), d.url("/index/"), d.url("/home/")});
    CHECK(capped.exit_status == 0);
    CHECK(capped.lines.size() == 5);
}

TEST_CASE("snow_demo's /agg/ fetches /index/ and /home/ from itself concurrently") {
    demo d;
    auto body = snow::run([](std::string url) -> snow::task<std::string> {
        snow::http::client http;
        auto r = co_await http.get(std::move(url), {.timeout = 5s});
        if (!r) co_return "error: " + r.error().message();
        co_return fmt::format("{} {}", r->status, r->body);
    }(d.url("/agg/")));
    CHECK(body == "200 OK\nhome");
}

TEST_CASE("over https, snow-fetch checks snow_demo's certificate and names a refusal") {
    const auto& pki = snow::testing::shared_certificates();
    demo secure(
        {"--tls-cert", pki.certificate_file("server"), "--tls-key", pki.key_file("server")});
    const std::string by_name = fmt::format("https://localhost:{}/index/", secure.port);
    const std::string by_address = fmt::format("https://127.0.0.1:{}/index/", secure.port);
    auto trusted = fetch({"--cacert", pki.ca_file(), by_name, by_address});
    CHECK(trusted.exit_status == 0);
    CHECK(trusted.for_url(by_name).status == 200);
    CHECK(trusted.for_url(by_address).status == 200);

    // The system's CAs do not know the test CA: the URL fails as tls, with the reason apart.
    child_process refused(example("snow-fetch"), {by_name}, child_process::stderr_to::pipe);
    refused.close_stdin();
    std::string out = refused.read_all(10s);
    REQUIRE_FALSE(out.empty());
    if (out.back() == '\n') out.pop_back();
    const auto line = parse_line(out);
    CHECK(line.error == "tls");
    CHECK(refused.read_all_stderr(5s).find("certificate") != std::string::npos);
    CHECK(refused.wait_exit(5s) == 1);

    auto insecure = fetch({"-k", by_name});
    CHECK(insecure.for_url(by_name).status == 200);
}

TEST_CASE("--version names the tool and the project version; --help every flag and format") {
    child_process version(example("snow-fetch"), {"--version"});
    const std::string v = version.read_all(10s);
    CHECK(version.wait_exit(5s) == 0);
    CHECK(std::regex_match(v, std::regex("snow-fetch [0-9]+\\.[0-9]+\\.[0-9]+\n")));

    child_process help(example("snow-fetch"), {"--help"});
    const std::string h = help.read_all(10s);
    CHECK(help.wait_exit(5s) == 0);
    for (std::string_view flag :
         {"--input",    "--repeat",       "--duration",        "--request",
          "--header",   "--data",         "--data-binary",     "--user-agent",
          "--follow",   "--timeout",      "--connect-timeout", "--concurrency",
          "--per-host", "--retries",      "--retry-all",       "Retry-After",
          "--rate",     "omission",       "Progress",          "attempts",
          "--output",   "--output-dir",   "\"file\"",          "--fail",
          "--summary",  "--output-queue", "--cacert",          "--insecure",
          "--version",  "Exit status",    "\"summary\"",       "\"v\": 1",
          "aborted",    "p99.9"}) {
        CAPTURE(flag);
        CHECK(h.find(flag) != std::string::npos);
    }
}

TEST_CASE("-X, -H, -d, --data-binary and -A reach the server as given") {
    recorded().take();
    threaded_server srv(record_requests);
    temporary_file body(std::string("bin\0ary\n", 8));
    auto r = fetch({"-c", "1", "-X", "PUT", "-H", "X-One: 1", "-H", "X-Two:  two words ", "-d",
                    "a=b", "-A", "probe/2", srv.url("/put")});
    CHECK(r.exit_status == 0);
    REQUIRE(r.lines.size() == 1);
    CHECK(r.lines[0].status == 200);
    auto seen = recorded().take();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].starts_with("PUT /put HTTP/1.1\r\n"));
    CHECK(seen[0].find("\r\nX-One: 1\r\n") != std::string::npos);
    CHECK(seen[0].find("\r\nX-Two: two words\r\n") != std::string::npos);
    CHECK(seen[0].find("\r\nUser-Agent: probe/2\r\n") != std::string::npos);
    CHECK(seen[0].find("\r\nContent-Type: application/x-www-form-urlencoded\r\n") !=
          std::string::npos);
    CHECK(seen[0].ends_with("\r\n\r\na=b"));

    // A body without -X is a POST; @FILE sends the file's bytes exactly; -H wins the type.
    auto binary =
        fetch({"--data-binary", "@" + body.path, "-H", "Content-Type: x/y", srv.url("/bin")});
    CHECK(binary.exit_status == 0);
    seen = recorded().take();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].starts_with("POST /bin HTTP/1.1\r\n"));
    CHECK(seen[0].find("\r\nContent-Type: x/y\r\n") != std::string::npos);
    CHECK(seen[0].find("x-www-form-urlencoded") == std::string::npos);
    CHECK(seen[0].ends_with(std::string("\r\n\r\nbin\0ary\n", 12)));
}

TEST_CASE("--http1.0 sends HTTP/1.0 requests, one per connection") {
    recorded().take();
    threaded_server srv(record_requests);
    auto r = fetch({"-c", "1", "--http1.0", srv.url("/a"), srv.url("/b")});
    CHECK(r.exit_status == 0);
    REQUIRE(r.lines.size() == 2);
    CHECK(r.lines[0].status == 200);
    CHECK(r.lines[1].status == 200);
    CHECK(r.lines[1].reused == false);
    auto seen = recorded().take();
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].starts_with("GET /a HTTP/1.0\r\n"));
    CHECK(seen[1].starts_with("GET /b HTTP/1.0\r\n"));
}

TEST_CASE("--fail makes a status of 400 or more fail the run, and the summary counts it") {
    demo d;
    auto plain = fetch({"--summary", "json", d.url("/index/"), d.url("/nope")});
    CHECK(plain.exit_status == 0);
    REQUIRE(plain.summary.has_value());
    CHECK(summary_number(*plain.summary, "failed") == 0);
    auto failing = fetch({"--fail", "--summary", "json", d.url("/index/"), d.url("/nope")});
    CHECK(failing.exit_status == 1);
    CHECK(failing.for_url(d.url("/nope")).status == 404);
    CHECK_FALSE(failing.for_url(d.url("/nope")).error.has_value());
    REQUIRE(failing.summary.has_value());
    CHECK(summary_number(*failing.summary, "ok") == 1);
    CHECK(summary_number(*failing.summary, "failed") == 1);
    auto fine = fetch({"--fail", d.url("/index/"), d.url("/home/")});
    CHECK(fine.exit_status == 0);
}

TEST_CASE("-i reads URLs and JSON lines from a file or stdin, skipping blanks and comments") {
    recorded().take();
    threaded_server srv(record_requests);
    threaded_server silent(snow::testing::never_answer);
    const std::string lines = fmt::format(
        "# a comment\n\n   \n{}\r\n"
        "  {{\"url\": \"{}\", \"method\": \"PATCH\", \"headers\": {{\"X-Line\": \"caf\\u00e9\", "
        "\"X-Global\": \"line\"}}, \"body\": \"{{\\\"k\\\": 1}}\"}}\n"
        "{{\"url\": \"{}\", \"timeout\": 0.3}}\n"
        "{}",
        srv.url("/plain"), srv.url("/json"), silent.url("/slow"), srv.url("/last-without-newline"));
    temporary_file file(lines);
    // --timeout 5 for all but the line that sets 0.3 s; -H for all, unless a line overrides it.
    auto from_file = fetch({"-i", file.path, "--timeout", "5", "-H", "X-Global: flag", "-c", "1"});
    auto from_stdin =
        fetch_with_stdin({"-i", "-", "--timeout", "5", "-H", "X-Global: flag", "-c", "1"}, lines);
    for (const run* r : {&from_file, &from_stdin}) {
        CHECK(r->exit_status == 1); // the timeout
        REQUIRE(r->lines.size() == 4);
        CHECK(r->for_url(srv.url("/plain")).status == 200);
        CHECK(r->for_url(srv.url("/json")).status == 200);
        CHECK(r->for_url(srv.url("/last-without-newline")).status == 200);
        const line& slow = r->for_url(silent.url("/slow"));
        CHECK(slow.error == "timeout");
        CHECK(slow.ms >= 300);
        CHECK(slow.ms < 2000);
    }
    auto seen = recorded().take();
    REQUIRE(seen.size() == 6);
    for (const auto& request : seen) {
        if (request.starts_with("PATCH /json ")) {
            CHECK(request.find("\r\nX-Line: caf\xc3\xa9\r\n") != std::string::npos);
            CHECK(request.find("\r\nX-Global: line\r\n") != std::string::npos);
            CHECK(request.find("X-Global: flag") == std::string::npos);
            CHECK(request.ends_with("\r\n\r\n{\"k\": 1}"));
        } else {
            CHECK(request.starts_with("GET /"));
            CHECK(request.find("\r\nX-Global: flag\r\n") != std::string::npos);
        }
    }
}

TEST_CASE("an input line that is not a request gives an input record and a reason on stderr") {
    demo d;
    const std::string lines =
        fmt::format("{}\n{{\"url\": 5}}\n{{\"url\": \"{}\", \"extra\": 1}}\n"
                    "{{\"url\": \"{}\", \"method\": \"FROB\"}}\n{{\"url\": \"x\"\n",
                    d.url("/index/"), d.url("/home/"), d.url("/home/"));
    temporary_file file(lines);
    child_process child(example("snow-fetch"), {"-i", file.path}, child_process::stderr_to::pipe);
    const std::string out = child.read_all(10s);
    const std::string err = child.read_all_stderr(5s);
    CHECK(child.wait_exit(5s) == 1);
    std::size_t inputs = 0;
    std::size_t ok = 0;
    for (std::size_t from = 0; from < out.size();) {
        const auto newline = out.find('\n', from);
        REQUIRE(newline != std::string::npos);
        const line l = parse_line(out.substr(from, newline - from));
        from = newline + 1;
        inputs += l.error == "input";
        ok += l.status == 200;
    }
    CHECK(inputs == 4);
    CHECK(ok == 1);
    for (std::string_view reason :
         {"input line 2: expected a string", "input line 3: unknown key",
          "input line 4: cannot send method 'FROB'", "input line 5: expected ',' or '}'"}) {
        CAPTURE(reason);
        CHECK(err.find(reason) != std::string::npos);
    }
}

TEST_CASE("-n repeats the list; the JSON summary is the last line and agrees with the records") {
    demo d;
    temporary_file file(fmt::format("{}\n{}\n", d.url("/home/"), d.url("/nope")));
    auto r = fetch({"-n", "3", "-i", file.path, d.url("/index/"), "--summary", "json"});
    CHECK(r.exit_status == 0);
    REQUIRE(r.lines.size() == 9);
    REQUIRE(r.summary.has_value());
    const std::string& s = *r.summary;
    CHECK(summary_number(s, "v") == 1);
    CHECK(summary_number(s, "requests") == 9);
    CHECK(summary_number(s, "ok") == 9);
    CHECK(summary_number(s, "200") == 6);
    CHECK(summary_number(s, "404") == 3);
    CHECK(summary_number(s, "bytes") == 3 * (2 + 4) + 3 * r.for_url(d.url("/nope")).bytes);
    CHECK(summary_number(s, "count") == 9);
    double slowest = 0;
    for (const auto& l : r.lines) slowest = std::max(slowest, l.ms);
    const double p50 = summary_number(s, "p50");
    const double p90 = summary_number(s, "p90");
    const double p99 = summary_number(s, "p99");
    const double p999 = summary_number(s, "p99.9");
    const double max = summary_number(s, "max");
    CHECK(p50 > 0);
    CHECK(p50 <= p90);
    CHECK(p90 <= p99);
    CHECK(p99 <= p999);
    CHECK(p999 <= max);
    CHECK(std::abs(max - slowest) <= 0.1); // the records round to 0.1 ms

    // text goes to stderr, whether or not it is a terminal once asked for; auto and none write
    // nothing there when it is not one.
    for (const auto& choice : {std::pair{"text", true}, {"auto", false}, {"none", false}}) {
        // Named copies: clang 14 cannot capture a structured binding, as CAPTURE does.
        const char* const mode = choice.first;
        const bool wanted = choice.second;
        CAPTURE(mode);
        child_process child(example("snow-fetch"), {"--summary", mode, d.url("/index/")},
                            child_process::stderr_to::pipe);
        const std::string out = child.read_all(10s);
        const std::string err = child.read_all_stderr(5s);
        CHECK(child.wait_exit(5s) == 0);
        CHECK(std::count(out.begin(), out.end(), '\n') == 1);
        CHECK((err.find("p99") != std::string::npos) == wanted);
        CHECK(err.empty() != wanted);
    }
}

TEST_CASE("-z stops starting requests when the time is up and marks those in flight aborted") {
    demo d;
    threaded_server silent(snow::testing::never_answer);
    // The list repeats: each pass leaves one of the four workers waiting on the silent server
    // until the time is up, so exactly four are cut off, and three fast ones finish first.
    const auto start = clock_type::now();
    auto r = fetch({"-z", "700ms", "-c", "4", "--timeout", "20", "--summary", "json",
                    silent.url("/"), d.url("/index/")});
    const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    CHECK(r.exit_status == 0); // aborted requests are not failures
    CHECK(seconds >= 0.7);
    CHECK(seconds < 5);
    REQUIRE(r.summary.has_value());
    std::size_t aborted = 0;
    std::size_t ok = 0;
    for (const auto& l : r.lines) {
        if (l.error == "aborted") {
            ++aborted;
            CHECK(l.ms >= 600);
        } else {
            CHECK_FALSE(l.error.has_value());
            ok += l.status == 200;
        }
    }
    CHECK(aborted == 4);
    CHECK(ok == 3);
    CHECK(summary_number(*r.summary, "aborted") == aborted);
    CHECK(summary_number(*r.summary, "requests") == r.lines.size());
}

TEST_CASE("memory stays flat from a thousand to a hundred thousand URLs read from a file") {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    // A sanitizer's quarantine and shadow memory grow with every allocation: RSS there
    // measures the sanitizer. The release build runs this test.
    MESSAGE("skipped: peak RSS is not snow-fetch's own under a sanitizer");
    return;
#endif
    demo d;
    auto rss_for = [&](std::size_t count) {
        std::string urls;
        for (std::size_t i = 0; i < count; ++i) urls += d.url(i % 2 ? "/index/" : "/home/") + "\n";
        temporary_file file(urls);
        auto r = fetch({"-i", file.path, "-c", "32", "--summary", "json"}, 120s);
        CHECK(r.exit_status == 0);
        CHECK(r.lines.size() == count);
        REQUIRE(r.summary.has_value());
        CHECK(summary_number(*r.summary, "requests") == count);
        CHECK(summary_number(*r.summary, "ok") == count);
        return summary_number(*r.summary, "max_rss_kib");
    };
    const double small = rss_for(1'000);
    const double large = rss_for(100'000);
    MESSAGE("peak RSS: ", small, " KiB for 10^3 URLs, ", large, " KiB for 10^5");
    CHECK(small > 0);
    // The input file alone is 3 MB; holding it, or the records, would show.
    CHECK(large < small + 2048);
}

TEST_CASE("a slow reader of stdout holds up fetching, loses no record and skews no latency") {
    demo d;
    constexpr std::size_t count = 4000;
    auto measure = [&](bool slow) {
        // A small queue, so that the slow reader's back-pressure reaches the loop at once.
        child_process child(example("snow-fetch"),
                            {"-n", std::to_string(count), "-c", "16", "--output-queue", "8",
                             "--summary", "json", d.url("/index/")});
        child.close_stdin();
        std::size_t records = 0;
        std::optional<std::string> summary;
        for (std::size_t i = 0; i <= count; ++i) {
            auto text = child.read_line(60s);
            REQUIRE_MESSAGE(text.has_value(), "output ended after ", i, " lines");
            if (text->starts_with("{\"summary\": {")) {
                summary = std::move(text);
                break;
            }
            CHECK(parse_line(*text).status == 200);
            ++records;
            // The reader's slowness, not a wait for anything: 20 stalls of 150 ms.
            if (slow && records % 200 == 0) std::this_thread::sleep_for(150ms);
        }
        CHECK(child.wait_exit(10s) == 0);
        CHECK(records == count);
        REQUIRE(summary.has_value());
        CHECK(summary_number(*summary, "requests") == count);
        return summary_number(*summary, "p99");
    };
    const double fast = measure(false);
    const double slow = measure(true);
    MESSAGE("p99: ", fast, " ms with a fast reader, ", slow, " ms with a slow one");
    // Written from the loop thread, every stall would land in the latencies of the 16
    // requests in flight: 320 of 4000, so p99 would be 150 ms or more. The margin is for
    // sanitizer builds on a busy machine.
    CHECK(slow < 3 * fast + 50);
}

TEST_CASE("--per-host 1 keeps one connection to the server and reports the wait as queue") {
    threaded_server srv(slow_counted);
    std::vector<std::string> args{"-c", "8", "--per-host", "1"};
    for (int i = 0; i < 8; ++i) args.push_back(srv.url(fmt::format("/{}", i)));
    connections().reset();
    auto capped = fetch(args);
    CHECK(capped.exit_status == 0);
    REQUIRE(capped.lines.size() == 8);
    CHECK(connections().most == 1);
    std::size_t queued = 0;
    for (const auto& l : capped.lines) {
        CHECK(l.status == 200);
        // Each waits for the ones before it, 50 ms apiece; the phase is in microseconds.
        queued += l.phases.at("queue") >= 20'000;
    }
    CHECK(queued >= 6);

    // Without the cap the same requests overlap on connections of their own: the count above
    // measures the cap, not the server.
    args.erase(args.begin() + 2, args.begin() + 4);
    connections().reset();
    auto open = fetch(args);
    CHECK(open.exit_status == 0);
    CHECK(open.lines.size() == 8);
    CHECK(connections().most >= 2);
}

TEST_CASE("--timeout starts when a request leaves the --per-host queue") {
    threaded_server srv(slow_counted);
    // One connection, 50 ms a request, 10 requests at once: the last ones wait 350 ms or more
    // for the connection, longer than their 200 ms timeout, and still succeed.
    std::vector<std::string> args{"-c", "10", "--per-host", "1", "--timeout", "0.2"};
    for (int i = 0; i < 10; ++i) args.push_back(srv.url(fmt::format("/{}", i)));
    connections().reset();
    auto r = fetch(args);
    CHECK(r.exit_status == 0);
    REQUIRE(r.lines.size() == 10);
    CHECK(connections().most == 1);
    std::uint64_t longest_queue = 0;
    for (const auto& l : r.lines) {
        CHECK(l.status == 200);
        CHECK_FALSE(l.error.has_value());
        longest_queue = std::max(longest_queue, l.phases.at("queue"));
    }
    CHECK(longest_queue > 200'000); // microseconds: over the timeout
}

TEST_CASE("a request that waited in the --per-host queue still times out by itself") {
    threaded_server srv(stall_on_request);
    // Both stall 600 ms; the second waits for the first to time out (0.3 s), then times out
    // on its own 0.3 s, in ttfb: the deadline started after the queue, and still held.
    auto r = fetch(
        {"-c", "2", "--per-host", "1", "--timeout", "0.3", srv.url("/stall"), srv.url("/stall")});
    CHECK(r.exit_status == 1);
    REQUIRE(r.lines.size() == 2);
    std::size_t queued = 0;
    for (const auto& l : r.lines) {
        CHECK(l.error == "timeout");
        CHECK(l.phase == "ttfb");
        if (l.phases.at("queue") >= 250'000) {
            ++queued;
            CHECK(l.ms >= 540); // the queue, then its own timeout
            CHECK(l.ms < 880);  // not the stall, which ends 900 ms in
        } else {
            CHECK(l.ms < 580);
        }
    }
    CHECK(queued == 1);
}

TEST_CASE("http+unix:// URLs fetch over a Unix socket, reusing its connections") {
    char pattern[] = "/tmp/snow-fetch-unix-XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    const std::string dir = pattern;
    const std::string socket = dir + "/s.sock";
    std::string encoded;
    for (const char c : socket) {
        if (c == '/')
            encoded += "%2F";
        else
            encoded.push_back(c);
    }
    const std::string url = fmt::format("http+unix://{}/x", encoded);
    {
        threaded_server srv(slow_counted, {}, 20ms, socket);
        connections().reset();
        auto r = fetch({"-n", "20", "-c", "4", "--summary", "json", url});
        CHECK(r.exit_status == 0);
        REQUIRE(r.lines.size() == 20);
        std::size_t reused = 0;
        for (const auto& l : r.lines) {
            CHECK(l.status == 200);
            CHECK(l.url == url);
            CHECK_FALSE(l.remote.has_value()); // a Unix socket has no IP:port
            reused += l.reused;
        }
        CHECK(connections().most <= 4);
        CHECK(reused >= 16);
        REQUIRE(r.summary.has_value());
        CHECK(summary_number(*r.summary, "200") == 20);
    }
    ::unlink(socket.c_str());
    // Nothing at the path now: a connect failure, not a URL one.
    auto missing = fetch({url});
    CHECK(missing.exit_status == 1);
    REQUIRE(missing.lines.size() == 1);
    CHECK(missing.lines[0].error == "connect");
    CHECK(missing.lines[0].phase == "connect");
    auto malformed = fetch({"http+unix:///x", "http+unix://%2Fa%ZZ/x"});
    CHECK(malformed.exit_status == 1);
    REQUIRE(malformed.lines.size() == 2);
    for (const auto& l : malformed.lines) CHECK(l.error == "url");
    ::rmdir(dir.c_str());
}

TEST_CASE("--retries honours Retry-After on 503, retries idempotent methods only, counts tries") {
    threaded_server srv(unavailable_once);
    auto r = fetch({"--retries", "2", "--summary", "json", srv.url("/get")});
    CHECK(r.exit_status == 0);
    REQUIRE(r.lines.size() == 1);
    CHECK(r.lines[0].status == 200);
    CHECK(r.lines[0].attempts == 2);
    CHECK(r.lines[0].ms >= 1000); // the server asked for a second; the first try counts
    CHECK(r.lines[0].ms < 5000);
    CHECK(unavailable_seen().get("/get") == 2);
    REQUIRE(r.summary.has_value());
    CHECK(summary_number(*r.summary, "200") == 1);

    // A POST may not be safe to send twice: not retried unless --retry-all.
    auto post = fetch({"--retries", "2", "-d", "x", srv.url("/post")});
    REQUIRE(post.lines.size() == 1);
    CHECK(post.lines[0].status == 503);
    CHECK(post.lines[0].attempts == 1);
    CHECK(unavailable_seen().get("/post") == 1);
    auto post_all = fetch({"--retries", "2", "--retry-all", "-d", "x", srv.url("/post-all")});
    REQUIRE(post_all.lines.size() == 1);
    CHECK(post_all.lines[0].status == 200);
    CHECK(post_all.lines[0].attempts == 2);

    // Without --retries the 503 is the result; a Retry-After past 60 s is not waited for.
    auto once = fetch({srv.url("/once"), "--retries", "0"});
    REQUIRE(once.lines.size() == 1);
    CHECK(once.lines[0].status == 503);
    CHECK(once.lines[0].attempts == 1);
    auto too_long = fetch({"--retries", "3", srv.url("/long")});
    REQUIRE(too_long.lines.size() == 1);
    CHECK(too_long.lines[0].status == 503);
    CHECK(too_long.lines[0].attempts == 1);
    CHECK(too_long.seconds < 30);
}

TEST_CASE("--retries backs off from a refused connection and gives up after N more tries") {
    std::uint16_t closed_port = 0;
    {
        auto probe = snow::testing::make_loop();
        auto listener = snow::net::tcp_listener::bind("127.0.0.1:0").value();
        closed_port = listener.local_address().port();
    }
    const std::string refused = fmt::format("http://127.0.0.1:{}/", closed_port);
    auto r = fetch({"--retries", "3", refused});
    CHECK(r.exit_status == 1);
    REQUIRE(r.lines.size() == 1);
    CHECK(r.lines[0].error == "connect");
    CHECK(r.lines[0].attempts == 4);
    // Backoffs of at most 100, 200 and 400 ms.
    CHECK(r.lines[0].ms < 5000);
}

TEST_CASE("--rate starts requests on schedule and counts latency from the scheduled start") {
    threaded_server srv(stall_on_request);
    // 100 requests at 200 a second: the last is due 0.495 s in, whatever the latency.
    auto paced = fetch({"--rate", "200", "-n", "100", "--summary", "json", srv.url("/fast")});
    CHECK(paced.exit_status == 0);
    REQUIRE(paced.lines.size() == 100);
    CHECK(paced.seconds >= 0.49);
    CHECK(paced.seconds < 10);
    REQUIRE(paced.summary.has_value());
    CHECK(summary_number(*paced.summary, "seconds") >= 0.49);
    CHECK(summary_number(*paced.summary, "rate") <= 205);

    // One at a time, a request every 50 ms, the first stalling 600 ms: the next five are due
    // while it stalls, start only after it, and report that wait.
    std::vector<std::string> urls{srv.url("/stall")};
    for (int i = 1; i <= 5; ++i) urls.push_back(srv.url(fmt::format("/after/{}", i)));
    std::vector<std::string> args{"-c", "1", "--rate", "20"};
    args.insert(args.end(), urls.begin(), urls.end());
    auto stalled = fetch(args);
    CHECK(stalled.exit_status == 0);
    REQUIRE(stalled.lines.size() == 6);
    CHECK(stalled.for_url(urls[0]).ms >= 600);
    for (int i = 1; i <= 5; ++i) {
        CAPTURE(i);
        const line& l = stalled.for_url(urls[static_cast<std::size_t>(i)]);
        // Due at 50*i ms, started no sooner than 600 ms.
        CHECK(l.ms >= 600 - 50 * i - 5);
        CHECK(l.phases.at("queue") >= static_cast<std::uint64_t>((600 - 50 * i - 5) * 1000));
    }

    // Without --rate, the same requests measure only their own time.
    std::vector<std::string> closed{"-c", "1"};
    closed.insert(closed.end(), urls.begin(), urls.end());
    auto unpaced = fetch(closed);
    REQUIRE(unpaced.lines.size() == 6);
    CHECK(unpaced.for_url(urls[5]).ms < 300);
}

TEST_CASE("a progress line is redrawn on a terminal's stderr, and never written to a pipe") {
    threaded_server srv(stall_on_request);
    // 8 requests at 20 a second: about 0.35 s, several redraws.
    child_process child(example("snow-fetch"),
                        {"--rate", "20", "-n", "8", "--summary", "none", srv.url("/fast")},
                        child_process::stderr_to::pipe);
    child.close_stdin();
    const std::string out = child.read_all(10s);
    const std::string err = child.read_all_stderr(5s);
    CHECK(child.wait_exit(5s) == 0);
    CHECK(std::count(out.begin(), out.end(), '\n') == 8);
    CHECK(err.empty());

    // script(1) gives snow-fetch a terminal for stderr; stdout goes to a file.
    if (::access("/usr/bin/script", X_OK) != 0) {
        MESSAGE("skipped the terminal half: no /usr/bin/script");
        return;
    }
    temporary_file records("");
    child_process terminal("/usr/bin/script",
                           {"-qec",
                            fmt::format("{} --rate 20 -n 8 --summary none {} > {}",
                                        example("snow-fetch"), srv.url("/fast"), records.path),
                            "/dev/null"});
    terminal.close_stdin();
    const std::string screen = terminal.read_all(10s);
    CHECK(terminal.wait_exit(5s) == 0);
    CHECK(screen.find("\rsnow-fetch: ") != std::string::npos);
    CHECK(screen.find(" in flight, 0 errors, ") != std::string::npos);
    CHECK(screen.ends_with("\r\033[K")); // cleared at the end
    std::ifstream written(records.path);
    const std::string saved((std::istreambuf_iterator<char>(written)),
                            std::istreambuf_iterator<char>());
    CHECK(std::count(saved.begin(), saved.end(), '\n') == 8);
    CHECK(saved.find('\r') == std::string::npos);
}

/// The whole of the file at `path`.
std::string file_contents(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// The byte at `offset` of big_body's body.
char big_body_byte(std::size_t offset) {
    return static_cast<char>('a' + offset % 26);
}
constexpr std::size_t big_body_bytes = 16 << 20;

/// Answers with a 16 MiB body made 64 KiB at a time, so that this process never holds it: a
/// child's peak RSS counts what its parent had resident when it forked.
snow::task<void> big_body(snow::testing::peer& client, snow::testing::server_state&) {
    auto request = co_await client.read_request();
    if (!request) co_return;
    bool sent = co_await client.send(
        fmt::format("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", big_body_bytes));
    std::string piece(64 << 10, '\0');
    for (std::size_t at = 0; sent && at < big_body_bytes; at += piece.size()) {
        for (std::size_t i = 0; i < piece.size(); ++i) piece[i] = big_body_byte(at + i);
        sent = co_await client.send(piece);
    }
    co_await client.wait_for_close();
}

TEST_CASE("-o saves one body, streamed: a 16 MiB body costs no 16 MiB of memory") {
    // A child's peak RSS includes what this process had resident when it forked, so the
    // baseline, a 2-byte body, runs first, and the big file is read back only after both.
    threaded_server small(snow::testing::answer_canned,
                          "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    temporary_file small_saved("");
    auto baseline = fetch({"-o", small_saved.path, "--summary", "json", small.url("/")});
    CHECK(baseline.exit_status == 0);
    CHECK(file_contents(small_saved.path) == "ok");

    threaded_server big(big_body);
    temporary_file saved("stale text to be replaced");
    auto r = fetch({"-o", saved.path, "--summary", "json", big.url("/big")}, 60s);
    CHECK(r.exit_status == 0);
    REQUIRE(r.lines.size() == 1);
    CHECK(r.lines[0].bytes == big_body_bytes);
    CHECK(r.lines[0].file == saved.path);
    REQUIRE(r.summary.has_value());
    REQUIRE(baseline.summary.has_value());
    const double large_kib = summary_number(*r.summary, "max_rss_kib");
    const double small_kib = summary_number(*baseline.summary, "max_rss_kib");
    MESSAGE("peak RSS: ", small_kib, " KiB saving 2 bytes, ", large_kib, " KiB saving 16 MiB");
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    CHECK(large_kib < small_kib + 4096); // holding the body would add 16 MiB
#endif
    const std::string written = file_contents(saved.path);
    REQUIRE(written.size() == big_body_bytes);
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < written.size(); ++i) wrong += written[i] != big_body_byte(i);
    CHECK(wrong == 0);
}

TEST_CASE("--output-dir saves each body under its request's index, named in the record") {
    demo d;
    temporary_file directory("");
    std::remove(directory.path.c_str());
    REQUIRE(::mkdir(directory.path.c_str(), 0700) == 0);
    const std::map<std::string, std::string> bodies{{d.url("/index/"), "OK"},
                                                    {d.url("/home/"), "home"},
                                                    {d.url("/plaintext"), "Hello, World!"}};
    temporary_file input(fmt::format("{}\n# skipped\n{}\n{}\n", d.url("/index/"), d.url("/home/"),
                                     d.url("/plaintext")));
    auto r = fetch({"--output-dir", directory.path, "-i", input.path});
    CHECK(r.exit_status == 0);
    REQUIRE(r.lines.size() == 3);
    std::vector<std::string> files;
    for (const auto& l : r.lines) {
        CAPTURE(l.url);
        REQUIRE(l.file.has_value());
        files.push_back(*l.file);
        CHECK(file_contents(*l.file) == bodies.at(l.url));
    }
    // Named by input order, whatever the completion order; comments take no number.
    CHECK(r.for_url(d.url("/index/")).file == directory.path + "/0");
    CHECK(r.for_url(d.url("/home/")).file == directory.path + "/1");
    CHECK(r.for_url(d.url("/plaintext")).file == directory.path + "/2");
    for (const auto& f : files) std::remove(f.c_str());
    CHECK(::rmdir(directory.path.c_str()) == 0); // nothing else was written there

    // Without a response there is nothing to save, and the record says so.
    threaded_server silent(snow::testing::never_answer);
    REQUIRE(::mkdir(directory.path.c_str(), 0700) == 0);
    auto failed = fetch({"--output-dir", directory.path, "--timeout", "0.3", silent.url("/")});
    REQUIRE(failed.lines.size() == 1);
    CHECK(failed.lines[0].error == "timeout");
    CHECK_FALSE(failed.lines[0].file.has_value());
    CHECK(::rmdir(directory.path.c_str()) == 0);
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("examples.fetch");

TEST_CASE("backoff is full jitter under a doubling ceiling, capped") {
    snow::examples::fetch::retry_policy policy{.retries = 10};
    std::mt19937_64 random(7);
    for (std::uint32_t retry = 1; retry <= 10; ++retry) {
        CAPTURE(retry);
        const auto ceiling = std::min<std::chrono::nanoseconds>(100ms * (1 << (retry - 1)), 5s);
        std::chrono::nanoseconds longest{};
        for (int i = 0; i < 200; ++i) {
            const auto wait = snow::examples::fetch::backoff(policy, retry, random);
            CHECK(wait >= 0ns);
            CHECK(wait <= ceiling);
            longest = std::max(longest, wait);
        }
        CHECK(longest > ceiling / 2); // spread over the range, not stuck at its bottom
    }
    CHECK(snow::examples::fetch::is_idempotent(snow::http::method::put));
    CHECK_FALSE(snow::examples::fetch::is_idempotent(snow::http::method::post));
    CHECK_FALSE(snow::examples::fetch::is_idempotent(snow::http::method::patch));
    CHECK(snow::examples::fetch::is_retryable_status(503));
    CHECK_FALSE(snow::examples::fetch::is_retryable_status(500));
}

TEST_CASE("Retry-After reads delay-seconds and IMF-fixdates, and nothing else") {
    using snow::examples::fetch::parse_retry_after;
    using std::chrono::system_clock;
    // Sun, 06 Nov 1994 08:49:37 GMT
    const system_clock::time_point now{std::chrono::seconds(784111777)};
    CHECK(parse_retry_after("120", now) == 120s);
    CHECK(parse_retry_after(" 0 ", now) == 0s);
    CHECK(parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now) == 30s);
    CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now) == 0s); // past: at once
    CHECK(parse_retry_after("Mon, 07 Nov 1994 08:49:37 GMT", now) == 24h);
    for (std::string_view bad :
         {"", "-1", "1.5", "soon", "12345678901", "Sunday, 06-Nov-94 08:49:37 GMT",
          "Sun, 31 Feb 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT",
          "Sun, 06 Nov 1994 25:49:37 GMT"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_retry_after(bad, now).has_value());
    }
}

TEST_CASE("the histogram keeps small values exactly and large ones within 1/64") {
    snow::examples::fetch::histogram h;
    CHECK(h.percentile(50) == 0);
    CHECK(h.count() == 0);
    for (std::uint64_t v = 1; v <= 100; ++v) h.record(v);
    CHECK(h.count() == 100);
    CHECK(h.min() == 1);
    CHECK(h.max() == 100);
    CHECK(h.percentile(50) == 50);
    CHECK(h.percentile(90) == 90);
    CHECK(h.percentile(99) == 99);
    CHECK(h.percentile(100) == 100);
    CHECK(h.mean() == doctest::Approx(50.5));

    snow::examples::fetch::histogram wide;
    std::mt19937_64 random(42);
    std::vector<std::uint64_t> values;
    for (int i = 0; i < 100'000; ++i) {
        // Log-uniform over 1 us to 100 s, as latencies spread.
        const double exponent = std::uniform_real_distribution<double>(0, 8)(random);
        values.push_back(static_cast<std::uint64_t>(std::pow(10.0, exponent)));
        wide.record(values.back());
    }
    std::sort(values.begin(), values.end());
    for (double p : {50.0, 90.0, 99.0, 99.9}) {
        CAPTURE(p);
        const auto rank = static_cast<std::size_t>(std::ceil(p / 100 * values.size()));
        const double exact = static_cast<double>(values[rank - 1]);
        const double reported = static_cast<double>(wide.percentile(p));
        CHECK(reported >= exact);
        CHECK(reported <= exact * (1 + 1.0 / 64) + 1);
    }
    CHECK(wide.max() == values.back());
    CHECK(wide.percentile(100) == values.back());
}

TEST_CASE("the histogram's size is fixed and values past its range count as its top") {
    // Its memory is its array: recording does not allocate.
    static_assert(sizeof(snow::examples::fetch::histogram) < 20 * 1024);
    snow::examples::fetch::histogram h;
    h.record(0);
    h.record(UINT64_MAX);
    CHECK(h.count() == 2);
    CHECK(h.min() == 0);
    CHECK(h.max() == snow::examples::fetch::histogram::max_trackable);
    CHECK(h.percentile(50) == 0);
    CHECK(h.percentile(99) == snow::examples::fetch::histogram::max_trackable);
}

TEST_CASE("the input-line reader takes exactly the documented JSON shape") {
    using snow::examples::fetch::input_error;
    using snow::examples::fetch::input_request;
    using snow::examples::fetch::json_request_reader;
    auto ok = json_request_reader::read(
        R"( {"url": "http://h/p", "method": "PUT", "headers": {"A": "1", "A": "2",)"
        R"( "B": "\u00e9\ud83d\ude00\n"}, "body": "x\"y\\z\/", "timeout": 2.5e-1} )");
    REQUIRE(std::holds_alternative<input_request>(ok));
    const auto& r = std::get<input_request>(ok);
    CHECK(r.url == "http://h/p");
    CHECK(r.method == "PUT");
    REQUIRE(r.headers.size() == 3);
    CHECK(r.headers[1] == std::pair<std::string, std::string>{"A", "2"});
    CHECK(r.headers[2].second == "\xc3\xa9\xf0\x9f\x98\x80\n");
    CHECK(r.body == "x\"y\\z/");
    CHECK(r.timeout_seconds == doctest::Approx(0.25));

    auto minimal = json_request_reader::read(R"({"url":"u"})");
    REQUIRE(std::holds_alternative<input_request>(minimal));
    CHECK_FALSE(std::get<input_request>(minimal).method.has_value());
    CHECK_FALSE(std::get<input_request>(minimal).timeout_seconds.has_value());

    for (std::string_view bad : {
             R"({})",                                // no url
             R"({"url": "u", "url": "v"})",          // twice
             R"({"url": "u", "other": 1})",          // unknown key
             R"({"url": 1})",                        // not a string
             R"({"url": "u"} x)",                    // trailing text
             R"({"url": "u",})",                     // trailing comma
             R"({"url": "u)",                        // unterminated
             R"({'url': "u"})",                      // not JSON quotes
             R"({"url": "u", "timeout": 0})",        // not > 0
             R"({"url": "u", "timeout": "1"})",      // a string
             R"({"url": "u", "timeout": 01})",       // leading zero
             R"({"url": "u", "timeout": 1.})",       // no digit after '.'
             R"({"url": "u", "timeout": 1e999})",    // infinite
             R"({"url": "u", "headers": {"A": 1}})", // a value not a string
             R"({"url": "u", "headers": ["A"]})",    // not an object
             R"({"url": "\ud800"})",                 // lone surrogate
             R"({"url": "\x"})",                     // unknown escape
             "{\"url\": \"a\tb\"}",                  // raw control character
         }) {
        CAPTURE(bad);
        CHECK(std::holds_alternative<input_error>(json_request_reader::read(bad)));
    }
}

TEST_CASE("input lines: blanks and comments skip, '{' starts JSON, the rest is a URL") {
    using snow::examples::fetch::classify_line;
    using snow::examples::fetch::line_kind;
    std::string_view blank = "  \t\r";
    CHECK(classify_line(blank) == line_kind::skip);
    std::string_view comment = "   # http://x/";
    CHECK(classify_line(comment) == line_kind::skip);
    std::string_view json = " {\"url\": \"u\"} ";
    CHECK(classify_line(json) == line_kind::json);
    CHECK(json == "{\"url\": \"u\"}");
    std::string_view url = "\thttp://x/a b\r";
    CHECK(classify_line(url) == line_kind::url);
    CHECK(url == "http://x/a b");
}

TEST_SUITE_END();
