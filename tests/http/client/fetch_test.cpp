// tests/http/client/fetch_test.cpp: snow-fetch end to end, as a child process (found through
// $SNOW_EXAMPLES) against snow_demo and against misbehaving servers running on a thread of
// this process: its JSON lines, exit codes, timeout window and completion-order flushing.
// Also GET /agg/, snow_demo's route that uses the client inside the server.
#include <doctest/doctest.h>

#include <sys/utsname.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "snow/http/client/client.hpp"
#include "support/programs.hpp"
#include "support/run_test.hpp"

#include "examples/child_process.hpp"
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
};

/// Parses `text` as exactly the line format snow-fetch promises; fails the test otherwise.
line parse_line(const std::string& text) {
    static const std::regex format(R"re(^\{"url": "(.*)", "status": (null|[1-5][0-9][0-9]), )re"
                                   R"re("bytes": ([0-9]+), "ms": ([0-9]+\.[0-9]), )re"
                                   R"re("error": (null|"(timeout|connect|dns|url|truncated|)re"
                                   R"re(protocol|redirects|io|tls)")\}$)re");
    std::smatch m;
    REQUIRE_MESSAGE(std::regex_match(text, m, format), "not a snow-fetch line: ", text);
    line l;
    l.url = m[1];
    if (m[2] != "null") l.status = std::stoi(m[2]);
    l.bytes = std::stoull(m[3]);
    l.ms = std::stod(m[4]);
    if (m[5] != "null") l.error = m[6];
    return l;
}

/// A finished snow-fetch run.
struct run {
    int exit_status = -1;
    std::string out;
    std::vector<line> lines;
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
        r.lines.push_back(parse_line(r.out.substr(from, newline - from)));
        from = newline + 1;
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

TEST_CASE("usage errors exit 2 and print nothing on stdout") {
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
         }) {
        CAPTURE(fmt::format("{}", fmt::join(args, " ")));
        const auto start = clock_type::now();
        child_process child(example("snow-fetch"), args);
        const std::string out = child.read_all(10s);
        CHECK(child.wait_exit(5s) == 2);
        CHECK(out.empty());
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

TEST_SUITE_END();
