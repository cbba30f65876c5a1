// tests/http/client/unix_socket_test.cpp: http+unix:// URLs: a request reaches snow's server on a
// Unix socket with Host: localhost, keep-alive connections to the socket are reused (by the client
// and by fetch_all), and a missing socket, a socket nobody listens on and a malformed URL each
// fail with their own class.
#include "snow/http/client/client.hpp"
#include "snow/http/client/fetch_all.hpp"

#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "snow/net/unix_socket.hpp"
#include "support/run_test.hpp"

#include "http/support/client_fixture.hpp"
#include "http/support/temp_dir.hpp"

using namespace snow;
using http::client;
using http::client_error;
using http::client_failure;
using testing::local_server;
using testing::run_test;
using testing::temp_dir;

namespace {
/// "http+unix://%2Ftmp%2F…%2Fs.sock" + target.
std::string unix_url(const std::string& socket, std::string_view target) {
    std::string encoded;
    for (const char c : socket) {
        if (c == '/')
            encoded += "%2F";
        else
            encoded.push_back(c);
    }
    return fmt::format("http+unix://{}{}", encoded, target);
}

constexpr const char* malformed_urls[] = {"http+unix:///index/", "http+unix://%2Ftmp%ZZ/",
                                          "http+unix://%2Fa%00b/", "https+unix://%2Fs/"};
} // namespace

TEST_SUITE_BEGIN("http.client");

TEST_CASE("a request over a Unix socket reaches the server, which sees Host: localhost") {
    temp_dir dir;
    run_test([](std::string socket) -> task<void> {
        auto listener = net::listen_unix(socket);
        REQUIRE_MESSAGE(listener.has_value(), listener.error().message());
        local_server srv(std::move(*listener));
        client http;
        auto index = co_await http.get(unix_url(socket, "/index/"));
        REQUIRE_MESSAGE(index.has_value(), index.error().message());
        CHECK(index->status == 200);
        CHECK(index->body == "OK");
        CHECK(index->url == unix_url(socket, "/index/"));
        CHECK_FALSE(index->timings.reused_connection);
        auto host = co_await http.get(unix_url(socket, "/host"));
        REQUIRE_MESSAGE(host.has_value(), host.error().message());
        CHECK(host->body == "localhost");
        // The second request went over the first one's connection.
        CHECK(host->timings.reused_connection);
        CHECK(http.idle_connections() == 1);
        http::headers fields;
        fields.add("Host", "app.internal");
        std::string no_body;
        http::request_options options;
        auto named = co_await http.request(http::method::get, unix_url(socket, "/host"),
                                           std::move(no_body), std::move(fields), options);
        REQUIRE_MESSAGE(named.has_value(), named.error().message());
        CHECK(named->body == "app.internal");
        auto posted = co_await http.post(unix_url(socket, "/echo"), "through the socket");
        REQUIRE_MESSAGE(posted.has_value(), posted.error().message());
        CHECK(posted->body == "through the socket");
        CHECK(http.idle_connections() == 1);
        co_await srv.stop();
    }(dir.file("s.sock")));
}

TEST_CASE("fetch_all runs http+unix requests over a capped, reused pool of socket connections") {
    temp_dir dir;
    run_test([](std::string socket) -> task<void> {
        auto listener = net::listen_unix(socket);
        REQUIRE_MESSAGE(listener.has_value(), listener.error().message());
        local_server srv(std::move(*listener));
        client http({.max_connections_per_host = 2});
        std::vector<http::fetch_request> requests;
        for (int i = 0; i < 40; ++i) {
            http::fetch_request request;
            request.url = unix_url(socket, "/index/");
            requests.push_back(std::move(request));
        }
        std::size_t ok = 0;
        std::size_t reused = 0;
        http::fetch_options options;
        options.concurrency = 8;
        co_await http::fetch_all(
            http, std::move(requests),
            [&](http::fetch_result& done) {
                if (done.response && done.response->body == "OK") ++ok;
                reused += done.timings.reused_connection;
            },
            options);
        CHECK(ok == 40);
        CHECK(reused >= 38); // two connections served all forty
        CHECK(http.idle_connections() <= 2);
        co_await srv.stop();
    }(dir.file("s.sock")));
}

TEST_CASE("a missing socket fails as connect, saying no socket is there") {
    temp_dir dir;
    run_test([](std::string socket) -> task<void> {
        client http;
        auto r = co_await http.get(unix_url(socket, "/index/"));
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error() == client_error::no_unix_socket);
        CHECK(r.error() == client_failure::connect);
        CHECK(r.error().message().find("Unix socket") != std::string::npos);
        std::string no_body;
        http::headers no_fields;
        http::request_options options;
        auto traced = co_await http.open_traced(http::method::get, unix_url(socket, "/"),
                                                std::move(no_body), std::move(no_fields), options);
        CHECK(traced.timings.failed_in == "connect");
        co_return;
    }(dir.file("absent.sock")));
}

TEST_CASE("a socket file nobody listens on is refused") {
    temp_dir dir;
    const std::string path = dir.file("closed.sock");
    {
        // Bound, never listening: the file is there and connecting to it is refused.
        const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd >= 0);
        sockaddr_un at{};
        at.sun_family = AF_UNIX;
        std::memcpy(at.sun_path, path.c_str(), path.size());
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&at), sizeof at) == 0);
        ::close(fd);
    }
    run_test([](std::string socket) -> task<void> {
        client http;
        auto r = co_await http.get(unix_url(socket, "/index/"));
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error() == std::errc::connection_refused);
        CHECK(r.error() == client_failure::connect);
    }(path));
}

TEST_CASE("a malformed http+unix URL is a url error, and sends nothing") {
    run_test([]() -> task<void> {
        client http;
        for (const char* text : malformed_urls) {
            auto r = co_await http.get(text);
            REQUIRE_FALSE(r.has_value());
            CHECK_MESSAGE(r.error() == client_failure::url, text);
        }
        CHECK(http.active_connections() == 0);
        CHECK(http.idle_connections() == 0);
    }());
}

TEST_SUITE_END();
