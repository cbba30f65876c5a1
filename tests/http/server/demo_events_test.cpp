// tests/http/server/demo_events_test.cpp: snow_demo's /events/ end to end, in the demo's own
// suite (http.demo): ticks counted on from Last-Event-ID, a POST broadcast to streams on two
// threads, and SIGTERM ending every stream properly. Blocking sockets that share nothing with
// snow; each read waits for bytes under a deadline.
#include <doctest/doctest.h>

#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "support/programs.hpp"

#include "examples/child_process.hpp"
#include "http/support/blocking_client.hpp"

namespace {

using namespace std::chrono_literals;
using snow::testing::blocking_client;
using snow::testing::child_process;
using steady = std::chrono::steady_clock;

/// A stream's bytes as they arrive, raw (head and chunk framing included).
class stream_reader {
public:
    explicit stream_reader(std::uint16_t port) : client_(port) {}

    bool open(std::string_view extra_headers) {
        return client_.is_open() &&
               client_.send_all(
                   fmt::format("GET /events/ HTTP/1.1\r\nHost: demo\r\n{}\r\n", extra_headers));
    }

    /// Reads until `needle` has arrived (true) or `timeout` passed or the peer closed.
    bool wait_for(std::string_view needle, std::chrono::milliseconds timeout = 5s) {
        const auto deadline = steady::now() + timeout;
        while (seen_.find(needle) == std::string::npos) {
            if (closed_ || !fill(deadline)) return false;
        }
        return true;
    }

    /// True once the peer closes within `timeout`.
    bool wait_closed(std::chrono::milliseconds timeout = 5s) {
        const auto deadline = steady::now() + timeout;
        while (!closed_)
            if (!fill(deadline)) return false;
        return true;
    }

    const std::string& seen() const noexcept { return seen_; }

private:
    bool fill(steady::time_point deadline) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
        if (left.count() <= 0) return false;
        pollfd p{.fd = client_.native_handle(), .events = POLLIN, .revents = 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
        char chunk[4096];
        const ssize_t n = ::recv(client_.native_handle(), chunk, sizeof chunk, 0);
        if (n <= 0) {
            closed_ = true;
            return true;
        }
        seen_.append(chunk, static_cast<std::size_t>(n));
        return true;
    }

    blocking_client client_;
    std::string seen_;
    bool closed_ = false;
};

std::uint16_t announced_port(child_process& demo) {
    constexpr std::string_view prefix = "snow: listening on http://127.0.0.1:";
    auto line =
        demo.wait_for_line([prefix](std::string_view l) { return l.starts_with(prefix); }, 10s);
    REQUIRE_MESSAGE(line.has_value(), "snow_demo did not announce its port; it printed:\n",
                    demo.transcript());
    return static_cast<std::uint16_t>(std::stoul(line->substr(prefix.size())));
}

} // namespace

TEST_SUITE_BEGIN("http.demo");

TEST_CASE("the demo's /events/ ticks, broadcasts what is posted, and ends cleanly on SIGTERM") {
    snow::testing::require_kernel();
    child_process demo(snow::testing::example("snow_demo"),
                       {"--host", "127.0.0.1", "--port", "0", "--threads", "2"});
    const std::uint16_t port = announced_port(demo);

    stream_reader resumed(port);
    REQUIRE(resumed.open("Last-Event-ID: 41\r\n"));
    stream_reader fresh(port);
    REQUIRE(fresh.open(""));
    // Each stream has joined the hub before its first tick.
    CHECK(resumed.wait_for("Content-Type: text/event-stream\r\n"));
    CHECK(resumed.wait_for("id: 42\nevent: tick\ndata: tick 42\n\n"));
    CHECK(fresh.wait_for("id: 1\nevent: tick\ndata: tick 1\n\n"));

    blocking_client poster(port);
    REQUIRE(poster.send_all(
        "POST /events/ HTTP/1.1\r\nHost: demo\r\nContent-Length: 11\r\n\r\nhello\nworld"));
    auto answer = poster.read_response(5s);
    REQUIRE(answer.has_value());
    CHECK(answer->body == "sent to 2 streams\n");
    CHECK(resumed.wait_for("data: hello\ndata: world\n\n"));
    CHECK(fresh.wait_for("data: hello\ndata: world\n\n"));

    // A graceful stop ends each stream with its last chunk, then closes it, at once.
    const auto stopping = steady::now();
    auto status = demo.stop(10s);
    REQUIRE(status.has_value());
    CHECK(*status == 0);
    for (stream_reader* stream : {&resumed, &fresh}) {
        CHECK(stream->wait_closed(5s));
        CHECK(stream->seen().ends_with("\r\n0\r\n\r\n"));
    }
    CHECK(steady::now() - stopping < 5s);
}

TEST_SUITE_END();
