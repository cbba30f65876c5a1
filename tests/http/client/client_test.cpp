// tests/http/client/client_test.cpp: the HTTP client end to end over loopback: against snow's own
// server in-process, and against misbehaving servers (never answering, trickling,
// truncating, sending garbage, closing pooled connections) for every way a response can
// go wrong. Timing assertions are bounds with generous slack, never exact durations.
#include "snow/http/client/client.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <set>
#include <string>
#include <vector>

#include "snow/core/when_all.hpp"
#include "snow/http/client/fetch_all.hpp"
#include "snow/http/server/server.hpp"
#include "snow/sync/event.hpp"
#include "snow/time/sleep.hpp"
#include "support/run_test.hpp"

#include "http/support/misbehaving_server.hpp"

template <>
struct doctest::StringMaker<std::error_code> {
    static String convert(const std::error_code& e) {
        return fmt::format("{}:{} ({})", e.category().name(), e.value(), e.message()).c_str();
    }
};

using namespace snow;
using namespace std::chrono_literals;
using http::client;
using http::client_error;
using http::client_failure;
using http::method;
using testing::misbehaving_server;
using testing::run_test;

namespace {

using request = http::request;
using response = http::response;

http::router test_routes() {
    http::router r;
    r.get("/index/", [](request&) -> task<response> { co_return http::text("OK"); });
    r.get("/home/", [](request&) -> task<response> { co_return http::text("home"); });
    r.get("/big",
          [](request&) -> task<response> { co_return http::text(std::string(3 << 20, 'x')); });
    r.get("/host", [](request& req) -> task<response> {
        co_return http::text(std::string(req.header("Host").value_or("none")));
    });
    r.post("/echo",
           [](request& req) -> task<response> { co_return http::text(std::string(req.body())); });
    r.get("/chunked", [](request&) -> task<response> {
        response resp;
        resp.stream = [](http::body_writer& w) -> task<result<void>> {
            auto sent = co_await w.write("hello ");
            if (!sent) co_return sent;
            co_return co_await w.write("world");
        };
        co_return resp;
    });
    r.get("/redirect/{n}", [](request& req) -> task<response> {
        int n = 0;
        auto text = req.param("n");
        std::from_chars(text.data(), text.data() + text.size(), n);
        if (n == 0) co_return http::text("landed");
        co_return http::redirect(fmt::format("/redirect/{}", n - 1), 302);
    });
    r.get("/relative/a/b",
          [](request&) -> task<response> { co_return http::redirect("../c?from=b", 301); });
    r.get("/relative/c", [](request& req) -> task<response> {
        co_return http::text(fmt::format("c {}", req.query_string()));
    });
    r.get("/loop", [](request&) -> task<response> { co_return http::redirect("/loop", 307); });
    r.post("/see-other",
           [](request&) -> task<response> { co_return http::redirect("/index/", 303); });
    r.post("/keep-post",
           [](request&) -> task<response> { co_return http::redirect("/echo", 307); });
    return r;
}

/// snow's server on 127.0.0.1:0 for the length of a test; stop() before it goes.
class local_server {
public:
    local_server() : server_(test_routes()) {
        auto listener = net::tcp_listener::bind("127.0.0.1:0").value();
        port_ = listener.local_address().port();
        spawn(serve(&server_, std::move(listener), &done_));
    }
    std::string url(std::string_view target) const {
        return fmt::format("http://127.0.0.1:{}{}", port_, target);
    }
    std::uint16_t port() const noexcept { return port_; }
    task<void> stop() {
        server_.stop();
        co_await done_.wait();
    }

private:
    static task<void> serve(http::server* s, net::tcp_listener listener, event* done) {
        // Named rather than defaulted: GCC 12 mishandles a defaulted by-value argument of a
        // coroutine called inside co_await (the server's options arrived corrupted).
        http::server_options options;
        co_await s->serve(std::move(listener), std::move(options));
        done->set();
    }

    http::server server_;
    event done_;
    std::uint16_t port_ = 0;
};

using clock = io::clock;

double seconds_since(clock::time_point start) {
    return std::chrono::duration<double>(clock::now() - start).count();
}

constexpr std::string_view ok_response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

} // namespace

TEST_SUITE_BEGIN("http.client");

// ---------------------------------------------------------------------------------------
// Requests and responses

TEST_CASE("a GET to snow's server returns status, headers and body") {
    run_test([]() -> task<void> {
        local_server srv;
        client http;
        auto r = co_await http.get(srv.url("/index/"), {.timeout = 5s});
        REQUIRE_MESSAGE(r.has_value(), r.error().message());
        CHECK(r->status == 200);
        CHECK(r->reason == "OK");
        CHECK(r->body == "OK");
        CHECK(r->headers.get("Content-Type").value_or("").starts_with("text/plain"));
        CHECK(r->url == srv.url("/index/"));
        CHECK(r->redirects == 0);
        auto missing = co_await http.get(srv.url("/nope"));
        REQUIRE(missing.has_value()); // a 404 is a response, not an error
        CHECK(missing->status == 404);
        co_await srv.stop();
    }());
}

TEST_CASE("the request line carries path and query, and Host carries a port other than 80") {
    run_test([]() -> task<void> {
        misbehaving_server srv(testing::answer_canned);
        srv.state().canned = std::string(ok_response);
        client http;
        auto r = co_await http.get(srv.url("/a b/c?x=1&y=2#frag"));
        REQUIRE(r.has_value());
        const std::string expected =
            fmt::format("GET /a%20b/c?x=1&y=2 HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n", srv.port());
        CHECK(srv.state().last_request.starts_with(expected));
        CHECK(srv.state().last_request.find("Content-Length") == std::string::npos);

        http::headers extra{{"X-Test", "1"}, {"Content-Length", "999"}};
        auto p = co_await http.post(srv.url("/p"), "body!", extra);
        REQUIRE(p.has_value());
        const std::string& sent = srv.state().last_request;
        CHECK(sent.starts_with("POST /p HTTP/1.1\r\n"));
        CHECK(sent.find("\r\nX-Test: 1\r\n") != std::string::npos);
        CHECK(sent.find("\r\nContent-Length: 5\r\n") != std::string::npos);
        CHECK(sent.find("999") == std::string::npos); // the client frames the body itself
        CHECK(sent.ends_with("\r\n\r\nbody!"));
        co_await srv.stop();
    }());
}

TEST_CASE("POST sends its body and snow's server echoes it") {
    run_test([]() -> task<void> {
        local_server srv;
        client http;
        // Built apart: GCC 12 cannot put an initializer_list inside a co_await expression.
        http::headers fields{{"Content-Type", "application/octet-stream"}};
        auto r = co_await http.post(srv.url("/echo"), std::string(100'000, 'p'), fields);
        REQUIRE_MESSAGE(r.has_value(), r.error().message());
        CHECK(r->status == 200);
        CHECK(r->body == std::string(100'000, 'p'));
        auto host = co_await http.get(srv.url("/host"));
        REQUIRE(host.has_value());
        CHECK(host->body == fmt::format("127.0.0.1:{}", srv.port()));
        co_await srv.stop();
    }());
}

TEST_CASE("sequential requests to one host reuse one keep-alive connection") {
    run_test([]() -> task<void> {
        misbehaving_server srv(testing::answer_canned);
        srv.state().canned = std::string(ok_response);
        client http;
        for (int i = 0; i < 5; ++i) {
            auto r = co_await http.get(srv.url("/"));
            REQUIRE(r.has_value());
            CHECK(r->body == "ok");
        }
        CHECK(srv.state().accepted == 1);
        CHECK(srv.state().requests == 5);
        CHECK(http.idle_connections() == 1);
        CHECK(http.active_connections() == 0);
        co_await srv.stop();
    }());
}

TEST_CASE("a Content-Length body is complete without waiting for the server to close") {
    run_test([]() -> task<void> {
        // answer_canned keeps the connection open: only the length can end the body.
        misbehaving_server srv(testing::answer_canned);
        srv.state().canned = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world";
        client http;
        const auto start = clock::now();
        auto r = co_await http.get(srv.url("/"), {.timeout = 5s});
        REQUIRE(r.has_value());
        CHECK(r->body == "hello world");
        CHECK(seconds_since(start) < 2.0);
        co_await srv.stop();
    }());
}

TEST_CASE("a chunked body is de-chunked, extensions skipped and trailers kept") {
    run_test([]() -> task<void> {
        misbehaving_server srv(testing::answer_canned);
        srv.state().canned = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "5;name=value;quoted=\"a b\"\r\nhello\r\n"
                             "6\r\n world\r\n"
                             "0\r\nX-Checksum: 42\r\n\r\n";
        client http;
        auto r = co_await http.get(srv.url("/"));
        REQUIRE_MESSAGE(r.has_value(), r.error().message());
        CHECK(r->body == "hello world");
        CHECK(r->trailers.get("X-Checksum") == "42");
        // The connection survives a chunked body: the next request reuses it.
        auto again = co_await http.get(srv.url("/"));
        REQUIRE(again.has_value());
        CHECK(srv.state().accepted == 1);
        co_await srv.stop();
    }());
}

TEST_CASE("a chunked response from snow's server streams through") {
    run_test([]() -> task<void> {
        local_server srv;
        client http;
        auto r = co_await http.get(srv.url("/chunked"));
        REQUIRE_MESSAGE(r.has_value(), r.error().message());
        CHECK(r->body == "hello world");
        CHECK(r->headers.get("Transfer-Encoding") == "chunked");
        co_await srv.stop();
    }());
}

TEST_CASE("a body without length ends when the server closes, and its connection is not pooled") {
    run_test([]() -> task<void> {
        misbehaving_server srv(testing::answer_canned_then_close);
        srv.state().canned = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close";
        client http;
        auto r = co_await http.get(srv.url("/"));
        REQUIRE_MESSAGE(r.has_value(), r.error().message());
        CHECK(r->body == "until close");
        CHECK(http.idle_connections() == 0);
        co_await srv.stop();
    }());
}

TEST_CASE("interim 1xx responses are skipped and the final one returned") {
    run_test([]() -> task<void> {
        misbehaving_server srv(testing::answer_canned);
        srv.state().canned = "HTTP/1.1 100 Continue\r\n\r\n"
                             "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
                             "HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone";
        client http;
        auto r = co_await http.get(srv.url("/"));
        REQUIRE_MESSAGE(r.has_value(), r.error().message());
        CHECK(r->status == 201);
        CHECK(r->body == "done");
        CHECK_FALSE(r->headers.contains("Link"));
        co_await srv.stop();
    }());
}

TEST_CASE("an unasked-for 101 Switching Protocols is a protocol error") {
    run_test([]() -> task<void> {
        misbehaving_server srv(testing::answer_canned);
        srv.state().canned = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
        client http;
        auto r = co_await http.get(srv.url("/"));
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error() == client_error::unexpected_upgrade);
        CHECK(r.error() == client_failure::protocol);
        co_await srv.stop();
    }());
}

TEST_CASE("HEAD, 204 and 304 responses carry no body whatever their fields say") {
    run_test([]() -> task<void> {
        local_server snow_server;
        client http;
        auto head = co_await http.head(snow_server.url("/index/"));
        REQUIRE(head.has_value());
        CHECK(head->status == 200);
        CHECK(head->headers.get("Content-Length") == "2");
        CHECK(head->body.empty());
        co_await snow_server.stop();

        // If the client read a body here, it would wait forever (the connection stays open)
        // or take the next response for one.
        misbehaving_server srv(testing::answer_canned);
        const std::array<std::string_view, 2> statuses{"204 No Content", "304 Not Modified"};
        for (std::string_view status : statuses) {
            srv.state().canned =
                fmt::format("HTTP/1.1 {}\r\nContent-Length: 10\r\nETag: \"x\"\r\n\r\n", status);
            for (int i = 0; i < 2; ++i) {
                auto r = co_await http.get(srv.url("/"), {.timeout = 2s});
                REQUIRE_MESSAGE(r.has_value(), r.error().message());
                CHECK(r->status == std::stoi(std::string(status)));
                CHECK(r->body.empty());
            }
        }
        CHECK(srv.state().accepted == 1);
        co_await srv.stop();
    }());
}

// ---------------------------------------------------------------------------------------
// Broken responses

namespace {
/// The error a GET gets from a server that sends `canned` (then closes when `close`).
task<std::error_code> error_from(std::string canned, bool close) {
    misbehaving_server srv(close ? testing::answer_canned_then_close : testing::answer_canned);
    srv.state().canned = std::move(canned);
    client http;
    auto r = co_await http.get(srv.url("/"), {.timeout = 5s});
    co_await srv.stop();
    if (r) co_return std::error_code{};
    co_return r.error();
}
} // namespace

TEST_CASE("a body cut short by the server closing is a truncated error") {
    auto e = run_test(error_from("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", true));
    CHECK(e == client_error::body_truncated);
    CHECK(e == client_failure::truncated);
    auto chunked =
        run_test(error_from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", true));
    CHECK(chunked == client_failure::truncated);
}

TEST_CASE("a head cut short by the server closing is a truncated error") {
    auto e = run_test(error_from("HTTP/1.1 200 OK\r\nContent-Le", true));
    CHECK(e == client_error::head_truncated);
    CHECK(e == client_failure::truncated);
    CHECK(run_test(error_from("", true)) == client_failure::truncated);
}

TEST_CASE("garbage instead of a response is a protocol error, not a truncated one") {
    auto e = run_test(error_from("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n\r\n", false));
    CHECK(e == client_failure::protocol);
    CHECK(run_test(error_from("HTTP/1.1 2000 OK\r\n\r\n", false)) == client_failure::protocol);
    CHECK(run_test(error_from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                              false)) == client_failure::protocol);
}

TEST_CASE("conflicting Content-Length values are a protocol error") {
    auto e = run_test(
        error_from("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc", false));
    CHECK(e == http::errc::conflicting_content_length);
    CHECK(e == client_failure::protocol);
}

TEST_CASE("a head over the size limit is a protocol error") {
    const std::string big_head = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(70 * 1024, 'a') +
                                 "\r\nContent-Length: 0\r\n\r\n";
    auto e = run_test(error_from(big_head, false));
    CHECK(e == http::errc::header_too_large);
    CHECK(e == client_failure::protocol);
    // Just under the limit (64 KiB) is fine.
    const std::string fits = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(60 * 1024, 'a') +
                             "\r\nContent-Length: 0\r\n\r\n";
    CHECK_FALSE(run_test(error_from(fits, false)));
}

TEST_CASE("a body over the whole-body limit is a protocol error; a stream has no limit") {
    run_test([]() -> task<void> {
        local_server srv;
        http::client_options options;
        options.limits.max_body_bytes = 1 << 20;
        client http(options);
        auto r = co_await http.get(srv.url("/big"));
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error() == http::errc::body_too_large);
        CHECK(r.error() == client_failure::protocol);

        auto s = co_await http.open(method::get, srv.url("/big"));
        REQUIRE(s.has_value());
        std::size_t chunks = 0;
        std::size_t largest = 0;
        for (;;) {
            auto chunk = co_await s->next_chunk();
            REQUIRE(chunk.has_value());
            if (chunk->empty()) break;
            ++chunks;
            largest = std::max(largest, chunk->size());
        }
        CHECK(s->done());
        CHECK(s->body_bytes() == (3u << 20));
        CHECK(s->content_length() == (3u << 20));
        CHECK(chunks > 10);
        CHECK(largest <= 64 * 1024); // read piece by piece, never held whole
        co_await srv.stop();
    }());
}

// ---------------------------------------------------------------------------------------
// Names and connections

TEST_CASE("a refused port is a connect error") {
    run_test([]() -> task<void> {
        std::uint16_t port = 0;
        {
            auto listener = net::tcp_listener::bind("127.0.0.1:0").value();
            port = listener.local_address().port();
        } // closed: nothing listens there now
        client http;
        auto r = co_await http.get(fmt::format("http://127.0.0.1:{}/", port), {.timeout = 5s});
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error() == std::errc::connection_refused);
        CHECK(r.error() == client_failure::connect);
    }());
}

TEST_CASE("a name that does not resolve is a dns error") {
    run_test([]() -> task<void> {
        client http;
        // .invalid never resolves (RFC 6761).
        auto r = co_await http.get("http://no-such-host.invalid/", {.timeout = 20s});
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error() == client_failure::dns);
    }());
}

TEST_CASE("localhost resolves off the loop and its addresses are tried until one answers") {
    run_test([]() -> task<void> {
        local_server srv;
        client http;
        // On hosts where localhost is ::1 first, the refusal there moves on to 127.0.0.1.
        auto r = co_await http.get(fmt::format("http://localhost:{}/home/", srv.port()));
        REQUIRE_MESSAGE(r.has_value(), r.error().message());
        CHECK(r->body == "home");
        co_await srv.stop();
    }());
}

TEST_CASE("a bad URL or https is a url error, found before any connection") {
    run_test([]() -> task<void> {
        client http;
        auto https = co_await http.get("https://127.0.0.1/");
        REQUIRE_FALSE(https.has_value());
        CHECK(https.error() == client_failure::url);
        CHECK(https.error().message().find("TLS") != std::string::npos);
        auto port = co_await http.get("http://127.0.0.1:70000/");
        CHECK(port.error() == client_failure::url);
        auto connect = co_await http.request(method::connect, "http://127.0.0.1:1/");
        CHECK(connect.error() == client_error::unsupported_method);
    }());
}

TEST_CASE("IPv6 literals connect to [::1] when the host has IPv6") {
    if (!net::tcp_listener::bind("[::1]:0")) {
        MESSAGE("no IPv6 loopback here: skipped");
        return;
    }
    run_test([]() -> task<void> {
        misbehaving_server srv(testing::answer_canned, "[::1]:0");
        srv.state().canned = std::string(ok_response);
        client http;
        auto r = co_await http.get(fmt::format("http://[::1]:{}/six", srv.port()));
        REQUIRE_MESSAGE(r.has_value(), r.error().message());
        CHECK(r->body == "ok");
        CHECK(srv.state().last_request.find(fmt::format("\r\nHost: [::1]:{}\r\n", srv.port())) !=
              std::string::npos);
        co_await srv.stop();
    }());
}

TEST_CASE("a pooled connection the server closed while idle is noticed and not used") {
    run_test([]() -> task<void> {
        misbehaving_server srv(testing::answer_canned_then_close);
        srv.state().canned = std::string(ok_response); // says keep-alive, then closes
        client http;
        auto first = co_await http.get(srv.url("/"));
        REQUIRE(first.has_value());
        co_await sleep(50ms); // the FIN arrives
        auto second = co_await http.get(srv.url("/"));
        REQUIRE_MESSAGE(second.has_value(), second.error().message());
        CHECK(srv.state().accepted == 2);
        co_await srv.stop();
    }());
}

TEST_CASE("a GET that meets a pooled connection closing under it is retried once") {
    run_test([]() -> task<void> {
        misbehaving_server srv(testing::close_after_first);
        srv.state().canned = std::string(ok_response);
        client http;
        auto first = co_await http.get(srv.url("/"));
        REQUIRE(first.has_value());
        // Sent on the pooled connection, which the server closes on reading it.
        auto second = co_await http.get(srv.url("/"));
        REQUIRE_MESSAGE(second.has_value(), second.error().message());
        CHECK(second->body == "ok");
        CHECK(srv.state().accepted == 2);
        co_await srv.stop();
    }());
}

TEST_CASE("a POST that meets a pooled connection closing under it is not retried") {
    run_test([]() -> task<void> {
        misbehaving_server srv(testing::close_after_first);
        srv.state().canned = std::string(ok_response);
        client http;
        auto first = co_await http.post(srv.url("/"), "once");
        REQUIRE(first.has_value());
        auto second = co_await http.post(srv.url("/"), "once");
        REQUIRE_FALSE(second.has_value());
        CHECK(second.error() == client_failure::truncated);
        CHECK(srv.state().accepted == 1);
        co_await srv.stop();
    }());
}

TEST_CASE("the pool opens at most max_connections_per_host to one host") {
    run_test([]() -> task<void> {
        misbehaving_server srv(testing::answer_canned);
        srv.state().canned = std::string(ok_response);
        client http({.max_connections_per_host = 2});
        std::vector<task<result<http::client_response>>> gets;
        for (int i = 0; i < 20; ++i) gets.push_back(http.get(srv.url("/"), {.timeout = 5s}));
        auto results = co_await when_all(std::move(gets));
        for (auto& r : results) CHECK(r.has_value());
        CHECK(srv.state().accepted <= 2);
        CHECK(srv.state().requests == 20);
        co_await srv.stop();
    }());
}

TEST_CASE("idle pooled connections are closed after idle_timeout") {
    run_test([]() -> task<void> {
        misbehaving_server srv(testing::answer_canned);
        srv.state().canned = std::string(ok_response);
        client http({.idle_timeout = 100ms});
        auto first = co_await http.get(srv.url("/"));
        REQUIRE(first.has_value());
        CHECK(http.idle_connections() == 1);
        co_await sleep(400ms);
        CHECK(http.idle_connections() == 0);
        auto second = co_await http.get(srv.url("/"));
        REQUIRE(second.has_value());
        CHECK(srv.state().accepted == 2);
        co_await srv.stop();
    }());
}

// ---------------------------------------------------------------------------------------
// Deadlines

TEST_CASE("a server that never answers times out at the deadline while others go on") {
    run_test([]() -> task<void> {
        misbehaving_server silent(testing::never_answer);
        local_server good;
        client http;
        const auto start = clock::now();
        auto timed = [](client& c,
                        std::string url) -> task<std::pair<result<http::client_response>, double>> {
            const auto t0 = clock::now();
            auto r = co_await c.get(std::move(url), {.timeout = 300ms});
            co_return std::pair{std::move(r), seconds_since(t0)};
        };
        auto [slow, fast] =
            co_await when_all(timed(http, silent.url("/")), timed(http, good.url("/index/")));
        REQUIRE_FALSE(slow.first.has_value());
        CHECK(slow.first.error() == client_failure::timeout);
        CHECK(slow.second >= 0.299);
        CHECK(slow.second < 2.0);
        REQUIRE(fast.first.has_value());
        CHECK(fast.first->body == "OK");
        CHECK(fast.second < slow.second);
        CHECK(seconds_since(start) < 3.0);
        co_await silent.stop();
        co_await good.stop();
    }());
}

TEST_CASE("a server trickling its head a byte at a time still times out") {
    run_test([]() -> task<void> {
        misbehaving_server srv(testing::trickle);
        srv.state().canned = "HTTP/1.1 200 OK\r\nX-Padding: " + std::string(200, 'p') + "\r\n\r\n";
        srv.state().pace = 10ms;
        client http;
        const auto start = clock::now();
        auto r = co_await http.get(srv.url("/"), {.timeout = 400ms});
        const double took = seconds_since(start);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error() == client_failure::timeout);
        CHECK(took >= 0.399);
        CHECK(took < 2.5);
        co_await srv.stop();
    }());
}

TEST_CASE("the deadline covers the body: a trickled body times out mid-receive") {
    run_test([]() -> task<void> {
        misbehaving_server srv(testing::trickle);
        srv.state().canned = "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n";
        srv.state().pace = 2ms;
        client http;
        const auto start = clock::now();
        auto s = co_await http.open(method::get, srv.url("/"), {}, {}, {.timeout = 600ms});
        REQUIRE_MESSAGE(s.has_value(), s.error().message());
        std::error_code failed;
        for (;;) {
            auto chunk = co_await s->next_chunk();
            if (!chunk) {
                failed = chunk.error();
                break;
            }
            REQUIRE_FALSE(chunk->empty());
        }
        const double took = seconds_since(start);
        CHECK(failed == client_failure::timeout);
        CHECK(s->body_bytes() > 0); // it was receiving the body when the deadline struck
        CHECK(took >= 0.599);
        CHECK(took < 2.5);
        // The failure sticks.
        auto again = co_await s->next_chunk();
        CHECK(again.error() == client_failure::timeout);
        co_await srv.stop();
    }());
}

TEST_CASE("a request waiting for a pooled connection times out at its own deadline") {
    run_test([]() -> task<void> {
        misbehaving_server srv(testing::never_answer);
        client http({.max_connections_per_host = 1});
        auto timed = [](client& c, std::string url, std::chrono::milliseconds limit)
            -> task<std::pair<result<http::client_response>, double>> {
            const auto t0 = clock::now();
            auto r = co_await c.get(std::move(url), {.timeout = limit});
            co_return std::pair{std::move(r), seconds_since(t0)};
        };
        auto [holder, waiter] =
            co_await when_all(timed(http, srv.url("/"), 1500ms), timed(http, srv.url("/"), 200ms));
        CHECK(holder.first.error() == client_failure::timeout);
        CHECK(waiter.first.error() == client_failure::timeout);
        CHECK(waiter.second >= 0.199);
        CHECK(waiter.second < 1.0); // did not wait for the holder
        CHECK(srv.state().accepted == 1);
        co_await srv.stop();
    }());
}

namespace {
/// A listener with a backlog of one that never accepts, its one place taken: the kernel
/// drops further SYNs, so a connect to it hangs until the client gives up.
class full_backlog {
public:
    full_backlog() {
        listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in at{};
        at.sin_family = AF_INET;
        at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof at;
        REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&at), sizeof at) == 0);
        REQUIRE(::listen(listener_, 0) == 0);
        REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&at), &length) == 0);
        port_ = ntohs(at.sin_port);
        filler_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(::connect(filler_, reinterpret_cast<sockaddr*>(&at), sizeof at) == 0);
    }
    full_backlog(const full_backlog&) = delete;
    full_backlog& operator=(const full_backlog&) = delete;
    ~full_backlog() {
        ::close(filler_);
        ::close(listener_);
    }
    std::uint16_t port() const noexcept { return port_; }

private:
    int listener_ = -1;
    int filler_ = -1;
    std::uint16_t port_ = 0;
};
} // namespace

TEST_CASE("the connect timeout ends a handshake that never completes, before the deadline") {
    full_backlog blackhole;
    run_test([](std::uint16_t port) -> task<void> {
        client http;
        const auto start = clock::now();
        auto r = co_await http.get(fmt::format("http://127.0.0.1:{}/", port),
                                   {.timeout = 5s, .connect_timeout = 200ms});
        const double took = seconds_since(start);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error() == client_failure::timeout);
        CHECK(took >= 0.199);
        CHECK(took < 2.0); // the connect timeout, not the 5 s deadline
    }(blackhole.port()));
}

TEST_CASE("a silent listener that accepts but never reads times out too") {
    run_test([]() -> task<void> {
        misbehaving_server srv(testing::silent);
        client http;
        auto r = co_await http.get(srv.url("/"), {.timeout = 200ms, .connect_timeout = 100ms});
        CHECK(r.error() == client_failure::timeout);
        co_await srv.stop();
    }());
}

// ---------------------------------------------------------------------------------------
// Redirects

TEST_CASE("redirects are not followed by default: the 3xx is the result") {
    run_test([]() -> task<void> {
        local_server srv;
        client http;
        auto r = co_await http.get(srv.url("/redirect/2"));
        REQUIRE(r.has_value());
        CHECK(r->status == 302);
        CHECK(r->headers.get("Location") == "/redirect/1");
        CHECK(r->redirects == 0);
        co_await srv.stop();
    }());
}

TEST_CASE("followed redirects land on the final response, over the pooled connection") {
    run_test([]() -> task<void> {
        local_server srv;
        client http;
        auto r = co_await http.get(srv.url("/redirect/5"), {.follow_redirects = true});
        REQUIRE_MESSAGE(r.has_value(), r.error().message());
        CHECK(r->status == 200);
        CHECK(r->body == "landed");
        CHECK(r->redirects == 5);
        CHECK(r->url == srv.url("/redirect/0"));
        CHECK(http.idle_connections() == 1); // every hop reused the one connection

        auto relative = co_await http.get(srv.url("/relative/a/b"), {.follow_redirects = true});
        REQUIRE(relative.has_value());
        CHECK(relative->body == "c from=b");
        co_await srv.stop();
    }());
}

TEST_CASE("more redirects than the limit is a redirects error") {
    run_test([]() -> task<void> {
        local_server srv;
        client http;
        auto six = co_await http.get(srv.url("/redirect/6"), {.follow_redirects = true});
        REQUIRE_FALSE(six.has_value());
        CHECK(six.error() == client_error::too_many_redirects);
        CHECK(six.error() == client_failure::redirects);
        auto loop =
            co_await http.get(srv.url("/loop"), {.follow_redirects = true, .max_redirects = 2});
        CHECK(loop.error() == client_failure::redirects);
        auto one = co_await http.get(srv.url("/redirect/1"),
                                     {.follow_redirects = true, .max_redirects = 1});
        CHECK(one.has_value());
        co_await srv.stop();
    }());
}

TEST_CASE("303 after POST turns into GET; 307 repeats the POST with its body") {
    run_test([]() -> task<void> {
        local_server srv;
        client http;
        auto see_other =
            co_await http.post(srv.url("/see-other"), "data", {}, {.follow_redirects = true});
        REQUIRE(see_other.has_value());
        CHECK(see_other->body == "OK");
        auto keep =
            co_await http.post(srv.url("/keep-post"), "data", {}, {.follow_redirects = true});
        REQUIRE(keep.has_value());
        CHECK(keep->body == "data");
        co_await srv.stop();
    }());
}

// ---------------------------------------------------------------------------------------
// Concurrency

TEST_CASE("500 concurrent GETs to the in-process server all succeed") {
    run_test(
        []() -> task<void> {
            local_server srv;
            client http({.max_connections_per_host = 64});
            std::vector<task<result<http::client_response>>> gets;
            for (int i = 0; i < 500; ++i)
                gets.push_back(http.get(srv.url(i % 2 ? "/index/" : "/home/"), {.timeout = 20s}));
            const auto start = clock::now();
            auto results = co_await when_all(std::move(gets));
            std::size_t ok = 0;
            for (std::size_t i = 0; i < results.size(); ++i)
                if (results[i] && results[i]->body == (i % 2 ? "OK" : "home")) ++ok;
            CHECK(ok == 500);
            CHECK(seconds_since(start) < 20.0);
            co_await srv.stop();
        }(),
        60s);
}

TEST_CASE("fetch_all calls back once per request as each finishes; a slow one blocks none") {
    run_test([]() -> task<void> {
        local_server good;
        misbehaving_server silent(testing::never_answer);
        client http;
        std::vector<http::fetch_request> requests;
        requests.push_back({.url = silent.url("/"), .options = {.timeout = 400ms}});
        for (int i = 0; i < 30; ++i) requests.push_back({.url = good.url("/index/")});
        requests.push_back({.url = "https://nowhere/"});

        std::vector<std::size_t> order;
        std::set<std::size_t> seen;
        std::size_t ok = 0;
        co_await http::fetch_all(http, std::move(requests),
                                 [&](http::fetch_result& done) {
                                     order.push_back(done.index);
                                     seen.insert(done.index);
                                     if (done.response && done.response->body == "OK") ++ok;
                                 },
                                 {.concurrency = 4});
        CHECK(order.size() == 32);
        CHECK(seen.size() == 32);
        CHECK(ok == 30);
        CHECK(order.back() == 0); // the slow one, started first, finished last
        co_await silent.stop();
        co_await good.stop();
    }());
}

TEST_CASE("fetch_all reports the status of a response whose body then failed") {
    run_test([]() -> task<void> {
        misbehaving_server srv(testing::answer_canned_then_close);
        srv.state().canned = "HTTP/1.1 206 Partial\r\nContent-Length: 10\r\n\r\nabc";
        client http;
        std::optional<http::fetch_result> got;
        std::vector<http::fetch_request> one(1);
        one[0].url = srv.url("/");
        co_await http::fetch_all(http, std::move(one),
                                 [&](http::fetch_result& done) { got.emplace(std::move(done)); },
                                 {.keep_bodies = false});
        REQUIRE(got.has_value());
        CHECK(got->status == 206);
        CHECK(got->body_bytes == 3);
        CHECK(got->response.error() == client_failure::truncated);
        co_await srv.stop();
    }());
}

// ---------------------------------------------------------------------------------------
// Errors

TEST_CASE("every error the client can return falls in exactly one class") {
    using std::errc;
    CHECK(http::classify(std::make_error_code(errc::timed_out)) == client_failure::timeout);
    CHECK(http::classify(system_error_code(ETIMEDOUT)) == client_failure::timeout);
    CHECK(http::classify(system_error_code(ECONNREFUSED)) == client_failure::connect);
    CHECK(http::classify(system_error_code(ENETUNREACH)) == client_failure::connect);
    CHECK(http::classify(system_error_code(EHOSTUNREACH)) == client_failure::connect);
    CHECK(http::classify(make_error_code(snow::errc::resolve_failed)) == client_failure::dns);
    CHECK(http::classify(make_error_code(http::url_errc::invalid_port)) == client_failure::url);
    CHECK(http::classify(system_error_code(ECONNRESET)) == client_failure::truncated);
    CHECK(http::classify(system_error_code(EPIPE)) == client_failure::truncated);
    CHECK(http::classify(make_error_code(client_error::body_truncated)) ==
          client_failure::truncated);
    CHECK(http::classify(make_error_code(http::errc::unexpected_eof)) == client_failure::truncated);
    CHECK(http::classify(make_error_code(http::errc::malformed_status_line)) ==
          client_failure::protocol);
    CHECK(http::classify(make_error_code(http::errc::body_too_large)) == client_failure::protocol);
    CHECK(http::classify(make_error_code(client_error::too_many_redirects)) ==
          client_failure::redirects);
    CHECK(http::classify(system_error_code(EMFILE)) == client_failure::io);
    CHECK(http::classify(std::make_error_code(errc::operation_canceled)) == client_failure::io);

    // == compares a code with a class, both ways round, and only with its own class.
    const std::error_code refused = system_error_code(ECONNREFUSED);
    CHECK(refused == client_failure::connect);
    CHECK(client_failure::connect == refused);
    CHECK(refused != client_failure::timeout);
    CHECK_FALSE(make_error_code(client_error::head_truncated) == client_failure::protocol);

    for (int c = 1; c <= static_cast<int>(client_failure::io); ++c) {
        const auto condition = make_error_condition(static_cast<client_failure>(c));
        CHECK_FALSE(condition.message().empty());
        CHECK(http::to_string(static_cast<client_failure>(c)).size() > 1);
    }
    CHECK(make_error_code(client_error::body_truncated).message().find("body") !=
          std::string::npos);
}

TEST_SUITE_END();
