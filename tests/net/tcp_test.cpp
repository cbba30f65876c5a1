// tests/net/tcp_test.cpp: TCP over loopback: listen, multishot accept, connect, send/recv,
// EOF, refused, reset, shutdown, and descriptors never leaked.
#include "snow/net/tcp_listener.hpp"

#include <dirent.h>
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <fmt/format.h>

#include "snow/core/when_all.hpp"
#include "snow/core/when_any.hpp"
#include "snow/net/happy_eyeballs.hpp"
#include "snow/net/resolver.hpp"
#include "snow/time/timeout.hpp"
#include "support/run_test.hpp"

using namespace snow;
using namespace std::chrono_literals;
using net::tcp_listener;
using net::tcp_stream;
using testing::run_test;

TEST_SUITE_BEGIN("net.tcp");

namespace {
std::size_t open_descriptors() {
    std::size_t n = 0;
    if (DIR* dir = ::opendir("/proc/self/fd")) {
        while (::readdir(dir)) ++n;
        ::closedir(dir);
    }
    return n;
}

task<std::string> read_all(tcp_stream& s) {
    std::string out;
    std::array<std::byte, 1024> buffer{};
    for (;;) {
        auto n = co_await s.recv(buffer);
        if (!n || *n == 0) co_return out;
        out.append(net::as_text(std::span(buffer).first(*n)));
    }
}

task<void> echo_once(tcp_listener& listener) {
    auto conn = co_await listener.accept();
    REQUIRE(conn.has_value());
    std::array<std::byte, 1024> buffer{};
    for (;;) {
        auto n = co_await conn->recv(buffer);
        if (!n || *n == 0) co_return;
        auto sent = co_await conn->send_all(std::span(buffer).first(*n));
        REQUIRE(sent.has_value());
    }
}
} // namespace

TEST_CASE("a client and a server exchange bytes and see EOF as a zero-byte recv") {
    auto reply = run_test([]() -> task<std::string> {
        auto listener = tcp_listener::bind("127.0.0.1:0").value();
        CHECK(listener.local_address().port() != 0);
        spawn(echo_once(listener));
        auto client = co_await tcp_stream::connect(listener.local_address());
        REQUIRE(client.has_value());
        CHECK(client->peer_address().value() == listener.local_address());
        REQUIRE((co_await client->send_all("hello, snow")).has_value());
        REQUIRE((co_await client->shutdown()).has_value());
        co_return co_await read_all(*client);
    }());
    CHECK(reply == "hello, snow");
}

TEST_CASE("the same works over IPv6 loopback") {
    auto listener_or = tcp_listener::bind("[::1]:0");
    if (!listener_or) {
        MESSAGE("no IPv6 loopback here: " << listener_or.error().message());
        return;
    }
    auto reply = run_test([]() -> task<std::string> {
        auto listener = tcp_listener::bind("[::1]:0").value();
        spawn(echo_once(listener));
        auto client = co_await tcp_stream::connect(listener.local_address());
        REQUIRE(client.has_value());
        (void)co_await client->send_all("v6");
        (void)co_await client->shutdown();
        co_return co_await read_all(*client);
    }());
    CHECK(reply == "v6");
}

TEST_CASE("connecting to a port nobody listens on fails with connection_refused") {
    auto error = run_test([]() -> task<std::error_code> {
        // Bind then close a listener to find a port that is free right now.
        std::uint16_t port = tcp_listener::bind("127.0.0.1:0").value().local_address().port();
        auto client = co_await tcp_stream::connect(net::address::ipv4_loopback(port));
        co_return client.error();
    }());
    CHECK(error == std::errc::connection_refused);
    CHECK_FALSE(error.message().empty());
}

TEST_CASE("connect by host name resolves off the loop and tries each address") {
    auto reply = run_test([]() -> task<std::string> {
        auto listener = tcp_listener::bind("127.0.0.1:0").value();
        spawn(echo_once(listener));
        auto client = co_await tcp_stream::connect("localhost", listener.local_address().port());
        REQUIRE(client.has_value());
        (void)co_await client->send_all("by name");
        (void)co_await client->shutdown();
        co_return co_await read_all(*client);
    }());
    CHECK(reply == "by name");
}

TEST_CASE(
    "happy eyeballs over loopback: a black-holed ::1 costs one attempt delay, not a timeout") {
    struct outcome {
        bool has_ipv6 = true;
        bool connected = false;
        bool over_ipv4 = false;
        std::chrono::nanoseconds took{};
    };
    auto seen = run_test([]() -> task<outcome> {
        outcome out;
        auto v4 = tcp_listener::bind("127.0.0.1:0").value();
        const auto port = v4.local_address().port();
        // backlog 0 queues one connection; nobody accepts it, so the kernel drops every
        // later SYN to this port, which is how a black-holed IPv6 route looks to a client.
        auto v6 = tcp_listener::bind(fmt::format("[::1]:{}", port), {.backlog = 0});
        if (!v6) {
            out.has_ipv6 = false;
            co_return out;
        }
        auto filler = co_await tcp_stream::connect(v6->local_address());
        REQUIRE(filler);
        std::vector<net::address> both{v6->local_address(), v4.local_address()};
        const auto start = std::chrono::steady_clock::now();
        auto s = co_await net::connect_first(both, {.timeout = 10s}, 250ms);
        out.took = std::chrono::steady_clock::now() - start;
        out.connected = s.has_value();
        if (s) out.over_ipv4 = !s->peer_address().value().is_ipv6();
        co_return out;
    }());
    if (!seen.has_ipv6) {
        MESSAGE("skipped: no IPv6 loopback here");
        return;
    }
    CHECK(seen.connected);
    CHECK(seen.over_ipv4);
    CHECK(seen.took >= 250ms);
    CHECK(seen.took < 10s); // the IPv6 attempt was abandoned, not waited out
}

TEST_CASE("numeric hosts resolve without the worker pool") {
    auto addresses = run_test(net::resolve("[::1]", 80));
    REQUIRE(addresses.has_value());
    REQUIRE(addresses->size() == 1);
    CHECK(addresses->front().to_string() == "[::1]:80");
}

TEST_CASE("multishot accept hands out 200 concurrent connections") {
    auto accepted = run_test([]() -> task<int> {
        auto listener = tcp_listener::bind("127.0.0.1:0").value();
        constexpr int clients = 200;
        auto acceptor = [](tcp_listener& l) -> task<int> {
            int n = 0;
            std::vector<tcp_stream> keep;
            for (int i = 0; i < clients; ++i) {
                auto conn = co_await l.accept();
                if (!conn) break;
                keep.push_back(std::move(*conn));
                ++n;
            }
            co_return n;
        };
        auto connector = [](net::address to) -> task<int> {
            std::vector<task<result<tcp_stream>>> connects;
            for (int i = 0; i < clients; ++i) connects.push_back(tcp_stream::connect(to));
            auto streams = co_await when_all(std::move(connects));
            co_return static_cast<int>(std::count_if(streams.begin(), streams.end(),
                                                     [](auto& s) { return s.has_value(); }));
        };
        auto [a, c] = co_await when_all(acceptor(listener), connector(listener.local_address()));
        CHECK(c == clients);
        co_return a;
    }());
    CHECK(accepted == 200);
}

TEST_CASE("connections accepted by the kernel but never taken are closed with the listener") {
    const std::size_t before = open_descriptors();
    auto ok = run_test([]() -> task<bool> {
        auto listener = std::make_unique<tcp_listener>(tcp_listener::bind("127.0.0.1:0").value());
        // One accept arms the multishot; the next connections queue up untaken.
        auto first_client = co_await tcp_stream::connect(listener->local_address());
        auto first = co_await listener->accept();
        std::vector<tcp_stream> clients;
        for (int i = 0; i < 10; ++i)
            clients.push_back((co_await tcp_stream::connect(listener->local_address())).value());
        co_await sleep(10ms);
        listener.reset();
        co_return first.has_value() && first_client.has_value();
    }());
    CHECK(ok);
    CHECK(open_descriptors() <= before + 1); // the loop's own fds are gone with it
}

TEST_CASE("a cancelled accept ends with operation_canceled and the listener still works") {
    auto ok = run_test([]() -> task<bool> {
        auto listener = tcp_listener::bind("127.0.0.1:0").value();
        auto waiting = [](tcp_listener& l) -> task<std::error_code> {
            co_return (co_await l.accept()).error();
        };
        auto quick = []() -> task<std::error_code> {
            co_await sleep(5ms);
            co_return std::error_code{};
        };
        auto first = co_await when_any(waiting(listener), quick());
        CHECK(first.index == 1);
        spawn(echo_once(listener));
        auto client = co_await tcp_stream::connect(listener.local_address());
        (void)co_await client->send_all("after cancel");
        (void)co_await client->shutdown();
        co_return co_await read_all(*client) == "after cancel";
    }());
    CHECK(ok);
}

TEST_CASE("a send to a peer that vanished is an error value, not SIGPIPE") {
    auto error = run_test([]() -> task<std::error_code> {
        auto listener = tcp_listener::bind("127.0.0.1:0").value();
        auto client = (co_await tcp_stream::connect(listener.local_address())).value();
        { auto server_side = co_await listener.accept(); } // accepted and closed at once
        std::string big(1 << 20, 'x');
        std::error_code last;
        for (int i = 0; i < 50 && !last; ++i) last = (co_await client.send_all(big)).error();
        co_return last;
    }());
    CHECK((error == std::errc::broken_pipe || error == std::errc::connection_reset));
}

TEST_CASE("a recv timeout on a silent connection is timed_out, and close happens on the ring") {
    auto [error, closed] = run_test([]() -> task<std::pair<std::error_code, bool>> {
        auto listener = tcp_listener::bind("127.0.0.1:0").value();
        auto client = (co_await tcp_stream::connect(listener.local_address())).value();
        auto server_side = (co_await listener.accept()).value();
        std::array<std::byte, 16> buffer{};
        auto n = co_await server_side.recv(buffer).timeout(20ms);
        auto c = co_await server_side.close();
        co_return std::pair{n.error(), c.has_value() && !server_side.is_open()};
    }());
    CHECK(error == std::errc::timed_out);
    CHECK(closed);
}

TEST_SUITE_END();
