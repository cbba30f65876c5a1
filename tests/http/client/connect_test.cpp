// tests/http/client/connect_test.cpp: from URL to connection: a refused port, a name that does
// not resolve, localhost tried address by address, bad URLs and unknown schemes refused
// before any connection, and IPv6 literals.
#include "snow/http/client/client.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "snow/net/tcp_listener.hpp"
#include "support/run_test.hpp"

#include "http/support/client_fixture.hpp"
#include "http/support/misbehaving_server.hpp"

using namespace snow;
using namespace std::chrono_literals;
using http::client;
using http::client_error;
using http::client_failure;
using http::method;
using testing::local_server;
using testing::misbehaving_server;
using testing::ok_response;
using testing::run_test;

TEST_SUITE_BEGIN("http.client");

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

TEST_CASE("a bad URL or an unknown scheme is a url error, found before any connection") {
    run_test([]() -> task<void> {
        client http;
        auto ftp = co_await http.get("ftp://127.0.0.1/");
        REQUIRE_FALSE(ftp.has_value());
        CHECK(ftp.error() == client_failure::url);
        CHECK(ftp.error().message().find("https") != std::string::npos);
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

TEST_SUITE_END();
