// tests/http/server/event_stream_server_test.cpp: Server-Sent Events end to end over loopback:
// the head and events as a raw client reads them, Last-Event-ID, heartbeats, a client that
// leaves an idle stream (FIN or RST, and over TLS), a hub broadcasting to several clients, a
// graceful stop with streams open, and curl -N as the client.
#include "snow/http/server/event_stream.hpp"

#include <doctest/doctest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <system_error>
#include <thread>

#include <unistd.h>

#include <fmt/format.h>

#include "snow/http/client/client.hpp"
#include "snow/http/server/event_hub.hpp"
#include "snow/http/server/server.hpp"
#include "snow/net/stream.hpp"
#include "snow/net/tls_context.hpp"
#include "snow/time/sleep.hpp"
#include "snow/time/timeout.hpp"
#include "support/test_certificates.hpp"

#include "http/server/event_stream_client.hpp"
#include "http/support/server_fixture.hpp"

using namespace snow;
using namespace snow::testing;
using namespace std::chrono_literals;
using http::event_stream;
using http::request;
using http::response;

TEST_SUITE_BEGIN("http.server");

namespace {

/// What the producers report to the test.
struct stream_probe {
    int started = 0;
    int finished = 0;
    std::optional<std::string> last_event_id;
    std::error_code reason;           ///< the close reason the last producer saw
    bool sleep_cut_short = false;     ///< a sleep the stream's end cancelled
    std::error_code send_after_close; ///< what a send after the end returned
    snow::event release;              ///< lets a waiting producer return
};

/// `?count=` events "tick" with ids 1.., then returns.
task<result<void>> count_up(event_stream& events, int count, stream_probe& p) {
    ++p.started;
    p.last_event_id = events.last_event_id();
    for (int i = 1; i <= count; ++i) {
        auto sent = co_await events.send(
            {.id = std::to_string(i), .event = "tick", .data = fmt::format("{}\nof {}", i, count)});
        if (!sent) co_return sent;
    }
    ++p.finished;
    co_return result<void>{};
}

/// Sends "first", then waits until the stream ends or the test releases it.
task<result<void>> first_then_wait(event_stream& events, stream_probe& p) {
    ++p.started;
    auto sent = co_await events.send({.data = "first"});
    if (!sent) co_return sent;
    (void)co_await p.release.wait();
    ++p.finished;
    co_return result<void>{};
}

/// Sends nothing: sleeps "forever", then records how the stream ended.
task<result<void>> sleep_idle(event_stream& events, stream_probe& p) {
    ++p.started;
    p.sleep_cut_short = !(co_await sleep(std::chrono::hours(1)));
    (void)co_await events.closed();
    p.reason = events.close_reason();
    p.send_after_close = (co_await events.send({.data = "late"})).error();
    ++p.finished;
    co_return result<void>{};
}

/// Subscribes to `hub` and waits until the stream ends.
task<result<void>> join_hub(event_stream& events, http::event_hub& hub, stream_probe& p) {
    auto member = hub.subscribe(events);
    ++p.started;
    (void)co_await events.closed();
    p.reason = events.close_reason();
    ++p.finished;
    co_return result<void>{};
}

http::router sse_routes(stream_probe& p, http::event_hub& hub,
                        http::event_stream_options options = {}) {
    http::router r;
    r.get("/hello", [](const request&) { return http::text("hello"); });
    r.get("/count", [&p, options](request& req) {
        const int count = std::stoi(req.query("count").value_or("3"));
        return http::event_stream_response(
            req, [&p, count](event_stream& events) { return count_up(events, count, p); }, options);
    });
    r.get("/parked", [&p, options](request& req) {
        return http::event_stream_response(
            req, [&p](event_stream& events) { return first_then_wait(events, p); }, options);
    });
    r.get("/idle", [&p, options](request& req) {
        return http::event_stream_response(
            req, [&p](event_stream& events) { return sleep_idle(events, p); }, options);
    });
    r.get("/feed", [&p, &hub, options](request& req) {
        return http::event_stream_response(
            req, [&p, &hub](event_stream& events) { return join_hub(events, hub, p); }, options);
    });
    r.post("/publish", [&hub](request& req) {
        auto published = hub.publish({.event = "news", .data = req.body()});
        return http::text(published ? "ok" : published.error().message());
    });
    return r;
}

task<event_stream_client> open_stream(net::address at, std::string path, std::string extra) {
    auto client = co_await event_stream_client::connect(at);
    REQUIRE(client.has_value());
    auto head = co_await client->open(std::move(path), std::move(extra));
    REQUIRE(head.has_value());
    CHECK(head->status == 200);
    co_return std::move(*client);
}

std::string tick(int i, int count) {
    return fmt::format("id: {}\nevent: tick\ndata: {}\ndata: of {}\n\n", i, i, count);
}

} // namespace

TEST_CASE("an event stream's head and events arrive in order, and the connection goes on") {
    stream_probe p;
    http::event_hub hub;
    http::server srv(sse_routes(p, hub));
    run_server_test(srv, test_options(), [&p](net::address at) -> task<void> {
        auto client = co_await event_stream_client::connect(at);
        REQUIRE(client.has_value());
        auto head = co_await client->open("/count?count=3", "");
        REQUIRE(head.has_value());
        CHECK(head->status == 200);
        CHECK(head->header("Content-Type") == "text/event-stream");
        CHECK(head->header("Cache-Control") == "no-cache");
        CHECK(head->chunked);
        CHECK_FALSE(head->header("Content-Length").has_value());
        for (int i = 1; i <= 3; ++i) CHECK(co_await client->next_event() == tick(i, 3));
        CHECK(co_await client->body_ended());
        CHECK(p.finished == 1);
        // The body ended properly, so the connection carries the next request.
        REQUIRE(co_await client->send(get("/hello")));
        auto next = co_await client->read_response();
        REQUIRE(next.has_value());
        CHECK(next->body == "hello");
    });
}

TEST_CASE("each event goes out at once, while the producer still waits") {
    stream_probe p;
    http::event_hub hub;
    http::server srv(sse_routes(p, hub));
    run_server_test(srv, test_options(), [&p](net::address at) -> task<void> {
        auto client = co_await open_stream(at, "/parked", "");
        CHECK(co_await client.next_event() == "data: first\n\n");
        CHECK(p.finished == 0);
        // A request sent while the stream runs is kept, and answered after it.
        REQUIRE(co_await client.send(get("/hello")));
        p.release.set();
        CHECK(co_await client.body_ended());
        auto next = co_await client.read_response();
        REQUIRE(next.has_value());
        CHECK(next->body == "hello");
        CHECK(p.finished == 1);
    });
}

TEST_CASE("Last-Event-ID reaches the producer, and its absence too") {
    stream_probe p;
    http::event_hub hub;
    http::server srv(sse_routes(p, hub));
    run_server_test(srv, test_options(), [&p](net::address at) -> task<void> {
        auto resumed = co_await open_stream(at, "/count?count=1", "Last-Event-ID: 41\r\n");
        CHECK(co_await resumed.next_event() == tick(1, 1));
        REQUIRE(p.last_event_id.has_value());
        CHECK(*p.last_event_id == "41");
        auto fresh = co_await open_stream(at, "/count?count=1", "");
        CHECK(co_await fresh.next_event() == tick(1, 1));
        CHECK(p.started == 2);
        CHECK_FALSE(p.last_event_id.has_value());
    });
}

TEST_CASE("heartbeat comments go out while the stream is idle") {
    stream_probe p;
    http::event_hub hub;
    http::server srv(sse_routes(p, hub, {.heartbeat_interval = 30ms}));
    run_server_test(srv, test_options(), [&p](net::address at) -> task<void> {
        auto client = co_await open_stream(at, "/idle", "");
        // Each read waits for bytes; the bound only turns a silent server into a failure.
        for (int beat = 0; beat < 3; ++beat) CHECK(co_await client.next_block(2s) == ": \n\n");
        CHECK(p.finished == 0);
        co_await client.leave();
        REQUIRE(co_await eventually([&p] { return p.finished == 1; }));
        CHECK(p.reason == std::errc::broken_pipe);
    });
}

namespace {
/// Opens an idle stream with no heartbeat, so nothing is written, and leaves it.
task<void> leave_idle_stream(net::address at, stream_probe& p, bool reset) {
    auto client = co_await open_stream(at, "/idle", "");
    REQUIRE(co_await eventually([&p] { return p.started == 1; }));
    const auto left = std::chrono::steady_clock::now();
    co_await client.leave(reset);
    REQUIRE(co_await eventually([&p] { return p.finished == 1; }, 3s));
    CHECK(std::chrono::steady_clock::now() - left < 3s);
    CHECK(p.sleep_cut_short);
    CHECK(p.reason == std::errc::broken_pipe);
    CHECK(p.send_after_close == std::errc::broken_pipe);
}
} // namespace

TEST_CASE("a client that closes an idle stream is noticed without a write") {
    stream_probe p;
    http::event_hub hub;
    http::server srv(sse_routes(p, hub, {.heartbeat_interval = std::chrono::milliseconds::max()}));
    run_server_test(srv, test_options(),
                    [&p](net::address at) { return leave_idle_stream(at, p, false); });
}

TEST_CASE("a client that resets an idle stream is noticed without a write") {
    stream_probe p;
    http::event_hub hub;
    http::server srv(sse_routes(p, hub, {.heartbeat_interval = std::chrono::milliseconds::max()}));
    run_server_test(srv, test_options(),
                    [&p](net::address at) { return leave_idle_stream(at, p, true); });
}

namespace {
task<result<std::size_t>> receive_some(net::stream& from, std::span<std::byte> into) {
    co_return co_await from.recv(into);
}

/// Over TLS the watch reads through the session (no pool buffer can take ciphertext) while
/// the pump writes through it: a finite stream read by snow's client, then an idle one left.
task<void> stream_over_tls(net::address at, stream_probe& p) {
    http::client_options trusting;
    trusting.tls.ca_file = shared_certificates().ca_file();
    http::client client(trusting);
    auto whole = co_await client.get(fmt::format("https://localhost:{}/count?count=2", at.port()));
    REQUIRE(whole);
    CHECK(whole->body == tick(1, 2) + tick(2, 2));

    auto tcp = co_await net::tcp_stream::connect(at);
    REQUIRE(tcp);
    auto context = net::tls_context::client({.ca_file = shared_certificates().ca_file()});
    REQUIRE(context);
    auto secure = co_await net::stream::connect_tls(std::move(*tcp), *context, "localhost");
    REQUIRE(secure);
    const std::string request = "GET /idle HTTP/1.1\r\nHost: localhost\r\n\r\n";
    auto sent = co_await secure->send_all(std::string_view(request));
    REQUIRE(sent);
    std::string head;
    std::array<std::byte, 4096> buffer{};
    while (head.find("\r\n\r\n") == std::string::npos) {
        auto n = co_await with_timeout(receive_some(*secure, buffer), 3s);
        REQUIRE(n);
        REQUIRE(*n > 0);
        head.append(net::as_text(std::span(buffer).first(*n)));
    }
    CHECK(head.starts_with("HTTP/1.1 200"));
    REQUIRE(co_await eventually([&p] { return p.started == 2; }));
    (void)co_await secure->shutdown(); // close_notify, then FIN
    (void)co_await secure->close();
    REQUIRE(co_await eventually([&p] { return p.finished == 2; }, 3s));
    CHECK(p.reason == std::errc::broken_pipe);
}
} // namespace

TEST_CASE("an event stream over TLS streams, and a client that leaves it is noticed") {
    stream_probe p;
    http::event_hub hub;
    http::server srv(sse_routes(p, hub, {.heartbeat_interval = std::chrono::milliseconds::max()}));
    auto options = test_options();
    options.tls_certificate_file = shared_certificates().certificate_file("server");
    options.tls_key_file = shared_certificates().key_file("server");
    run_server_test(srv, options, [&p](net::address at) { return stream_over_tls(at, p); });
}

namespace {
task<void> broadcast_to_three(net::address at, http::event_hub& hub, stream_probe& p) {
    auto first = co_await open_stream(at, "/feed", "");
    auto second = co_await open_stream(at, "/feed", "");
    auto third = co_await open_stream(at, "/feed", "");
    REQUIRE(co_await eventually([&hub] { return hub.size() == 3; }));

    auto published = co_await exchange(at, post("/publish", "one"));
    REQUIRE(published.has_value());
    CHECK(published->body == "ok");
    const std::array<event_stream_client*, 3> everyone{&first, &second, &third};
    for (auto* client : everyone)
        CHECK(co_await client->next_event() == "event: news\ndata: one\n\n");

    // The third leaves while idle; the hub forgets it before anything is published.
    co_await third.leave();
    REQUIRE(co_await eventually([&hub] { return hub.size() == 2; }));
    CHECK(p.finished == 1);
    CHECK(p.reason == std::errc::broken_pipe);

    published = co_await exchange(at, post("/publish", "two\nlines"));
    REQUIRE(published.has_value());
    const std::array<event_stream_client*, 2> staying{&first, &second};
    for (auto* client : staying)
        CHECK(co_await client->next_event() == "event: news\ndata: two\ndata: lines\n\n");
}
} // namespace

TEST_CASE("a hub broadcasts to every subscriber, and one that leaves is dropped from it") {
    stream_probe p;
    http::event_hub hub;
    http::server srv(sse_routes(p, hub));
    run_server_test(srv, test_options(),
                    [&hub, &p](net::address at) { return broadcast_to_three(at, hub, p); });
    CHECK(hub.size() == 0);
}

namespace {
task<void> stop_with_streams_open(net::address at, http::server& srv, http::event_hub& hub,
                                  stream_probe& p) {
    auto first = co_await open_stream(at, "/feed", "");
    auto second = co_await open_stream(at, "/feed", "");
    REQUIRE(co_await eventually([&hub] { return hub.size() == 2; }));
    const auto stopped = std::chrono::steady_clock::now();
    srv.stop();
    const std::array<event_stream_client*, 2> clients{&first, &second};
    for (auto* client : clients) {
        // The body ends properly (its last chunk), then the connection closes.
        CHECK(co_await client->body_ended(3s));
        CHECK(co_await client->closed(3s));
    }
    // Long before the drain deadline: an event stream ends when the stop begins.
    CHECK(std::chrono::steady_clock::now() - stopped < 5s);
    CHECK(p.finished == 2);
    CHECK(p.reason == std::errc::operation_canceled);
}
} // namespace

TEST_CASE("a graceful stop ends open event streams properly and promptly") {
    stream_probe p;
    http::event_hub hub;
    http::server srv(sse_routes(p, hub));
    auto options = test_options();
    options.shutdown_timeout = 10s;
    run_server_test(srv, options, [&srv, &hub, &p](net::address at) {
        return stop_with_streams_open(at, srv, hub, p);
    });
    CHECK(hub.size() == 0);
}

namespace {
/// What a curl run printed, read on a thread of its own while the loop serves.
struct curl_run {
    std::atomic<bool> done{false};
    std::string output;
    int status = -1;
};

void run_curl(std::string command, curl_run& run) {
    if (FILE* pipe = ::popen(command.c_str(), "r")) {
        char buffer[4096];
        std::size_t n = 0;
        while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) run.output.append(buffer, n);
        run.status = ::pclose(pipe);
    }
    run.done = true;
}

task<void> fetch_with_curl(net::address at, curl_run& run) {
    std::thread curl(
        run_curl,
        fmt::format("curl -N -sS --max-time 10 http://127.0.0.1:{}/count?count=3", at.port()),
        std::ref(run));
    const bool finished = co_await eventually([&run] { return run.done.load(); }, 15s);
    curl.join(); // curl's own --max-time bounds this
    CHECK(finished);
}
} // namespace

TEST_CASE("curl -N reads an event stream") {
    if (::access("/usr/bin/curl", X_OK) != 0) {
        MESSAGE("curl is not installed (Debian: curl): skipped");
        return;
    }
    stream_probe p;
    http::event_hub hub;
    http::server srv(sse_routes(p, hub));
    curl_run run;
    run_server_test(srv, test_options(),
                    [&run](net::address at) { return fetch_with_curl(at, run); });
    CHECK(run.status == 0);
    CHECK(run.output == tick(1, 3) + tick(2, 3) + tick(3, 3));
}

TEST_SUITE_END();
