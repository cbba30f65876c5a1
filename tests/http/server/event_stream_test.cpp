// tests/http/server/event_stream_test.cpp: Server-Sent Events without sockets: the wire format of
// events and comments, and an event_stream over a body_writer the test controls, for what
// depends on timing the kernel would blur: back-pressure, a hub dropping a slow subscriber,
// a client leaving while a write waits, a graceful stop, a producer that throws.
#include "snow/http/server/event_stream.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "snow/http/server/event_hub.hpp"
#include "snow/io/run.hpp"
#include "snow/sync/event.hpp"
#include "snow/time/sleep.hpp"
#include "support/run_test.hpp"

#include "http/support/server_fixture.hpp"

using namespace snow;
using namespace snow::testing;
using namespace std::chrono_literals;
using http::event_stream;
using http::format_comment;
using http::format_event;
using http::server_sent_event;

TEST_SUITE_BEGIN("http.server");

// ---------------------------------------------------------------------------------------
// The wire format

TEST_CASE("an event is its fields, one per line, and a blank line") {
    auto text = format_event({.id = "7", .event = "tick", .data = "hello", .retry = 2500ms});
    REQUIRE(text.has_value());
    CHECK(*text == "id: 7\nevent: tick\nretry: 2500\ndata: hello\n\n");
    CHECK(format_event({.data = "plain"}).value() == "data: plain\n\n");
}

TEST_CASE("multi-line data becomes one data field per line, whatever the line break") {
    CHECK(format_event({.data = "a\nb"}).value() == "data: a\ndata: b\n\n");
    CHECK(format_event({.data = "a\r\nb\rc"}).value() == "data: a\ndata: b\ndata: c\n\n");
    // A trailing break is an empty last line: the browser gets "a\n" back.
    CHECK(format_event({.data = "a\n"}).value() == "data: a\ndata: \n\n");
    // A leading space survives, since the parser drops only the one after the colon.
    CHECK(format_event({.data = " indented"}).value() == "data:  indented\n\n");
}

TEST_CASE("an id or a type that would break its line is refused, not cleaned up") {
    CHECK(format_event({.id = "1\n2", .data = "x"}).error() == std::errc::invalid_argument);
    CHECK(format_event({.id = "1\r", .data = "x"}).error() == std::errc::invalid_argument);
    CHECK(format_event({.id = std::string("a\0b", 3), .data = "x"}).error() ==
          std::errc::invalid_argument);
    CHECK(format_event({.event = "a\r\nid: 9", .data = "x"}).error() ==
          std::errc::invalid_argument);
    CHECK(format_event({.data = "x", .retry = -1ms}).error() == std::errc::invalid_argument);
}

TEST_CASE("an event without data or type carries only its id and retry") {
    CHECK(format_event({.id = "", .retry = 1000ms}).value() == "id: \nretry: 1000\n\n");
    // A typed event with empty data is still dispatched, so it gets an empty data field.
    CHECK(format_event({.event = "ping"}).value() == "event: ping\ndata: \n\n");
}

TEST_CASE("a comment prefixes each line with a colon, and the heartbeat is an empty one") {
    CHECK(format_comment("") == ": \n\n");
    CHECK(format_comment("keep\nalive") == ": keep\n: alive\n\n");
}

// ---------------------------------------------------------------------------------------
// A stream over a writer the test controls

namespace {

/// Records what the stream writes; while `blocked`, a write waits until release(). Its
/// client_gone and stopping sources play the connection's.
class test_writer final : public http::body_writer {
public:
    task<result<void>> write(std::string_view data) override {
        ++writes_started;
        while (blocked) {
            gate_.reset();
            const bool opened = co_await gate_.wait();
            if (!opened) {
                ++writes_cancelled;
                co_return std::make_error_code(std::errc::operation_canceled);
            }
        }
        written.emplace_back(data);
        co_return result<void>{};
    }
    cancel_source* watch_client() override { return &client_gone; }
    cancel_source* server_stopping() noexcept override { return &stopping; }

    void release() {
        blocked = false;
        gate_.set();
    }

    std::vector<std::string> written;
    int writes_started = 0;
    int writes_cancelled = 0;
    bool blocked = false;
    cancel_source client_gone;
    cancel_source stopping;

private:
    snow::event gate_;
};

struct stream_run {
    std::optional<result<void>> outcome;
    std::error_code reason;
};

task<void> run_stream(test_writer& writer, event_stream::producer body,
                      http::event_stream_options options, stream_run& run) {
    event_stream events(writer, options, std::nullopt);
    run.outcome = co_await events.run(std::move(body));
    run.reason = events.close_reason();
}

std::string data_event(std::string_view data) {
    return format_event({.data = std::string(data)}).value();
}

/// Sends "1", "2", "3", counting each send that has returned, then returns.
task<result<void>> send_three(event_stream& events, int& sent, std::error_code& failure) {
    for (std::string_view n : {"1", "2", "3"}) {
        auto queued = co_await events.send({.data = n});
        if (!queued) {
            failure = queued.error();
            co_return queued;
        }
        ++sent;
    }
    co_return result<void>{};
}

/// Subscribes to `hub` and waits until the stream ends.
task<result<void>> subscribe_and_wait(event_stream& events, http::event_hub& hub) {
    auto member = hub.subscribe(events);
    (void)co_await events.closed();
    co_return result<void>{};
}

/// Sends an event with a line break in its type, then a good one.
task<result<void>> send_malformed(event_stream& events, std::optional<std::error_code>& refused) {
    auto bad = co_await events.send({.event = "a\nb"});
    refused = bad.error();
    co_return co_await events.send({.data = "fine"});
}

task<result<void>> send_then_throw(event_stream& events) {
    (void)co_await events.send({.data = "before"});
    throw std::runtime_error("the producer failed on purpose");
}

} // namespace

TEST_CASE("send waits while the queue is full and goes on once the writer takes one") {
    run_test([]() -> task<void> {
        test_writer writer;
        writer.blocked = true;
        int sent = 0;
        std::error_code failure;
        stream_run run;
        spawn(run_stream(
            writer,
            [&sent, &failure](event_stream& events) { return send_three(events, sent, failure); },
            {.max_queued_events = 1}, run));
        // "1" is being written (held by the writer), "2" waits in the queue, and the send of
        // "3" waits for room.
        REQUIRE(co_await eventually([&] { return writer.writes_started == 1 && sent == 2; }));
        for (int turn = 0; turn < 5; ++turn) co_await yield();
        CHECK(sent == 2);
        CHECK(writer.written.empty());
        writer.release();
        REQUIRE(co_await eventually([&] { return run.outcome.has_value(); }));
        CHECK(run.outcome->has_value());
        CHECK(sent == 3);
        CHECK(writer.written ==
              std::vector<std::string>{data_event("1"), data_event("2"), data_event("3")});
    }());
}

TEST_CASE("a client that leaves ends the stream at once: the waiting send fails") {
    run_test([]() -> task<void> {
        test_writer writer;
        writer.blocked = true;
        int sent = 0;
        std::error_code failure;
        stream_run run;
        spawn(run_stream(
            writer,
            [&sent, &failure](event_stream& events) { return send_three(events, sent, failure); },
            {.max_queued_events = 1}, run));
        REQUIRE(co_await eventually([&] { return writer.writes_started == 1 && sent == 2; }));
        writer.client_gone.request();
        REQUIRE(co_await eventually([&] { return run.outcome.has_value(); }));
        CHECK(failure == std::errc::broken_pipe);
        CHECK(writer.writes_cancelled == 1); // the write in flight did not wait for a timeout
        REQUIRE_FALSE(run.outcome->has_value());
        CHECK(run.outcome->error() == std::errc::broken_pipe);
        CHECK(run.reason == std::errc::broken_pipe);
    }());
}

TEST_CASE("a graceful stop writes what is queued, then ends the body without an error") {
    run_test([]() -> task<void> {
        test_writer writer;
        writer.blocked = true;
        http::event_hub hub;
        stream_run run;
        spawn(run_stream(
            writer, [&hub](event_stream& events) { return subscribe_and_wait(events, hub); }, {},
            run));
        REQUIRE(co_await eventually([&] { return hub.size() == 1; }));
        REQUIRE(hub.publish({.data = "a"}));
        REQUIRE(co_await eventually([&] { return writer.writes_started == 1; }));
        REQUIRE(hub.publish({.data = "b"}));
        writer.stopping.request();
        writer.release();
        REQUIRE(co_await eventually([&] { return run.outcome.has_value(); }));
        CHECK(run.outcome->has_value());
        CHECK(run.reason == std::errc::operation_canceled);
        CHECK(writer.written == std::vector<std::string>{data_event("a"), data_event("b")});
        CHECK(hub.size() == 0);
    }());
}

TEST_CASE("a hub drops a subscriber whose queue is full while the others go on") {
    run_test([]() -> task<void> {
        http::event_hub hub;
        test_writer slow;
        slow.blocked = true;
        test_writer fast;
        stream_run slow_run;
        stream_run fast_run;
        auto member_of_hub = [&hub](event_stream& events) {
            return subscribe_and_wait(events, hub);
        };
        spawn(run_stream(slow, member_of_hub, {.max_queued_events = 2}, slow_run));
        spawn(run_stream(fast, member_of_hub, {.max_queued_events = 2}, fast_run));
        REQUIRE(co_await eventually([&] { return hub.size() == 2; }));
        REQUIRE(hub.publish({.data = "1"}));
        // The slow one's writer holds "1"; "2" and "3" fill its queue and "4" overflows it.
        REQUIRE(co_await eventually([&] { return slow.writes_started == 1; }));
        REQUIRE(co_await eventually([&] { return fast.written.size() == 1; }));
        for (std::string_view n : {"2", "3", "4"}) {
            REQUIRE(hub.publish({.data = n}));
            co_await yield(); // the fast one keeps up, one event a turn
        }
        REQUIRE(co_await eventually([&] { return slow_run.outcome.has_value(); }));
        CHECK(slow_run.reason == std::errc::no_buffer_space);
        CHECK(slow.written.empty());
        CHECK(hub.size() == 1);
        REQUIRE(co_await eventually([&] { return fast.written.size() == 4; }));
        CHECK(fast.written.back() == data_event("4"));
        CHECK_FALSE(fast_run.outcome.has_value());
        fast.client_gone.request();
        REQUIRE(co_await eventually([&] { return fast_run.outcome.has_value(); }));
        CHECK(hub.size() == 0);
    }());
}

namespace {
/// A loop of its own holding one stream subscribed to `hub` until `leave`; `received` counts
/// what its writer got, for the test's thread to read.
void remote_subscriber(http::event_hub& hub, const std::atomic<bool>& leave,
                       std::atomic<std::size_t>& received) {
    auto loop = make_loop();
    loop->run([](http::event_hub& h, const std::atomic<bool>& go,
                 std::atomic<std::size_t>& got) -> task<void> {
        test_writer writer;
        stream_run run;
        spawn(run_stream(
            writer, [&h](event_stream& events) { return subscribe_and_wait(events, h); }, {}, run));
        while (!go.load()) {
            got.store(writer.written.size());
            (void)co_await sleep(1ms);
        }
        writer.client_gone.request(); // the client leaves: the stream ends, and its membership
        while (!run.outcome) (void)co_await sleep(1ms);
        got.store(writer.written.size());
    }(hub, leave, received));
}

/// Waits (bounded) on the test's thread until `done` holds.
bool within(std::chrono::milliseconds limit, const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}
} // namespace

TEST_CASE("a hub reaches streams on other loops, and forgets one that left there") {
    (void)make_loop(); // skips the suite without io_uring
    http::event_hub hub;
    std::atomic<bool> first_leaves{false};
    std::atomic<bool> second_leaves{false};
    std::atomic<std::size_t> first_got{0};
    std::atomic<std::size_t> second_got{0};
    std::thread first(remote_subscriber, std::ref(hub), std::cref(first_leaves),
                      std::ref(first_got));
    std::thread second(remote_subscriber, std::ref(hub), std::cref(second_leaves),
                       std::ref(second_got));
    // Published from a thread with no loop: each event reaches each loop through its posts.
    CHECK(within(5s, [&] { return hub.size() == 2; }));
    CHECK(hub.publish({.data = "one"}));
    CHECK(within(5s, [&] { return first_got == 1 && second_got == 1; }));
    first_leaves = true;
    CHECK(within(5s, [&] { return hub.size() == 1; }));
    CHECK(hub.publish({.data = "two"}));
    CHECK(within(5s, [&] { return second_got == 2; }));
    second_leaves = true;
    first.join();
    second.join();
    CHECK(first_got == 1);
    CHECK(second_got == 2);
    CHECK(hub.size() == 0);
}

TEST_CASE("a malformed event is refused and the stream goes on") {
    run_test([]() -> task<void> {
        test_writer writer;
        stream_run run;
        std::optional<std::error_code> refused;
        spawn(run_stream(
            writer, [&refused](event_stream& events) { return send_malformed(events, refused); },
            {}, run));
        REQUIRE(co_await eventually([&] { return run.outcome.has_value(); }));
        CHECK(run.outcome->has_value());
        REQUIRE(refused.has_value());
        CHECK(*refused == std::errc::invalid_argument);
        CHECK(writer.written == std::vector<std::string>{data_event("fine")});
    }());
}

TEST_CASE("a producer that throws ends the stream with an error") {
    run_test([]() -> task<void> {
        test_writer writer;
        stream_run run;
        spawn(run_stream(writer, send_then_throw, {}, run));
        REQUIRE(co_await eventually([&] { return run.outcome.has_value(); }));
        REQUIRE_FALSE(run.outcome->has_value());
        CHECK(writer.written == std::vector<std::string>{data_event("before")});
    }());
}

TEST_SUITE_END();
