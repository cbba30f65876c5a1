// tests/http/server/proxy_protocol_test.cpp: server_options::proxy_protocol over loopback: v1
// and v2 headers in one write with the request or spread over several, over HTTP and HTTPS;
// the handler, the after hooks and the access log see the header's source; a connection without a
// valid header is closed at once with no answer; with the option off nothing changes.
#include "snow/http/server/server.hpp"

#include <doctest/doctest.h>
#include <sys/socket.h>

#include <array>
#include <chrono>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "snow/net/stream.hpp"
#include "snow/net/tls_context.hpp"
#include "snow/time/timeout.hpp"
#include "support/test_certificates.hpp"

#include "http/support/server_fixture.hpp"
#include "http/support/temp_dir.hpp"

using namespace snow;
using namespace snow::testing;
using namespace std::chrono_literals;

TEST_SUITE_BEGIN("http.server.proxy_protocol");

namespace {

const std::string v1_header = "PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n";

/// A v2 PROXY header for TCP over IPv6, [2001:db8::1]:4711 → [2001:db8::2]:443, with one TLV.
std::string v2_header() {
    std::string h("\r\n\r\n\0\r\nQUIT\n", 12);
    const unsigned char fixed[] = {0x21, 0x21, 0x00, 36 + 5};
    h.append(reinterpret_cast<const char*>(fixed), sizeof fixed);
    const unsigned char block[] = {0x20, 0x01, 0x0d, 0xb8, 0,    0,    0,    0,    0,    0, 0,
                                   0,    0,    0,    0,    1,    0x20, 0x01, 0x0d, 0xb8, 0, 0,
                                   0,    0,    0,    0,    0,    0,    0,    0,    0,    2, 0x12,
                                   0x67, 0x01, 0xBB, 0x01, 0x00, 0x02, 'h',  '2'};
    h.append(reinterpret_cast<const char*>(block), sizeof block);
    return h;
}

/// A v2 LOCAL header: a health check from the proxy itself.
std::string v2_local_header() {
    std::string h("\r\n\r\n\0\r\nQUIT\n", 12);
    h.append(std::string("\x20\x00\x00\x00", 4));
    return h;
}

/// Routes that answer with the peer the request carries.
http::router peer_routes() {
    http::router r;
    r.get("/peer", [](const http::request& req) { return http::text(req.peer().to_string()); });
    return r;
}

/// The options of every test here: the PROXY protocol on, and a head deadline long enough
/// that a connection closed within the test's bounds was closed for its bytes, not by it.
http::server_options proxied_options() {
    auto options = test_options();
    options.proxy_protocol = true;
    options.header_timeout = 30s;
    return options;
}

/// The peers the after hooks (the access log's and the metrics' way in) saw.
struct seen_peers {
    std::vector<std::string> peers;
};

http::middleware record_peers(seen_peers& seen) {
    return {.before = nullptr,
            .after = [&seen](const http::request& req, http::response&, std::chrono::nanoseconds) {
                seen.peers.push_back(req.peer().to_string());
            }};
}

} // namespace

TEST_CASE("a v1 header sent with the request in one write names the peer the handler sees") {
    http::server srv(peer_routes());
    seen_peers seen;
    srv.use(record_peers(seen));
    run_server_test(srv, proxied_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send(v1_header + get("/peer")));
        auto first = co_await client.read_response();
        REQUIRE(first.has_value());
        CHECK(first->status == 200);
        CHECK(first->body == "192.0.2.1:56324");
        // The header comes once; the next request on the connection has the same peer.
        REQUIRE(co_await client.send(get("/peer")));
        auto second = co_await client.read_response();
        REQUIRE(second.has_value());
        CHECK(second->body == "192.0.2.1:56324");
    });
    CHECK(seen.peers == std::vector<std::string>{"192.0.2.1:56324", "192.0.2.1:56324"});
    CHECK(srv.stats().rejected.load() == 0);
}

TEST_CASE("the access log shows the header's source, for served and rejected requests alike") {
    temp_dir dir;
    const std::string path = dir.file("access.log");
    http::server srv(peer_routes());
    auto options = proxied_options();
    options.access_log = path;
    run_server_test(srv, options, [](net::address at) -> task<void> {
        auto served = co_await exchange(at, v1_header + get("/peer"));
        REQUIRE(served.has_value());
        auto refused = co_await exchange(at, v2_header() + "GET /peer HTTP/1.1\r\n\r\n");
        REQUIRE(refused.has_value());
        CHECK(refused->status == 400); // no Host
    });
    const std::string log = read_file(path);
    CAPTURE(log);
    CHECK(log.starts_with("192.0.2.1 - - ["));
    CHECK(log.find("\n2001:db8::1 - - [") != std::string::npos);
    CHECK(log.find("127.0.0.1") == std::string::npos);
}

TEST_CASE("a v1 header and a request spread over several writes are put together") {
    http::server srv(peer_routes());
    run_server_test(srv, proxied_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        const std::string bytes = v1_header + get("/peer");
        // Cut inside the header, right after it, and inside the request.
        const std::vector<std::size_t> cuts = {
            0, 9, 21, v1_header.size() - 1, v1_header.size(), v1_header.size() + 7, bytes.size()};
        for (std::size_t i = 0; i + 1 < cuts.size(); ++i)
            REQUIRE(co_await client.send(bytes.substr(cuts[i], cuts[i + 1] - cuts[i])));
        auto r = co_await client.read_response();
        REQUIRE(r.has_value());
        CHECK(r->body == "192.0.2.1:56324");
    });
}

TEST_CASE("a header sent on its own is followed by the request in a later write") {
    http::server srv(peer_routes());
    run_server_test(srv, proxied_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send(v2_header()));
        REQUIRE(co_await client.send(get("/peer")));
        auto r = co_await client.read_response();
        REQUIRE(r.has_value());
        CHECK(r->body == "[2001:db8::1]:4711");
    });
}

TEST_CASE("a v2 header names the IPv6 peer; a v2 LOCAL header keeps the real one") {
    http::server srv(peer_routes());
    run_server_test(srv, proxied_options(), [](net::address at) -> task<void> {
        auto proxied = co_await exchange(at, v2_header() + get("/peer"));
        REQUIRE(proxied.has_value());
        CHECK(proxied->body == "[2001:db8::1]:4711");
        auto local = co_await exchange(at, v2_local_header() + get("/peer"));
        REQUIRE(local.has_value());
        CHECK(local->body.starts_with("127.0.0.1:"));
        auto unknown = co_await exchange(at, "PROXY UNKNOWN\r\n" + get("/peer"));
        REQUIRE(unknown.has_value());
        CHECK(unknown->body.starts_with("127.0.0.1:"));
    });
    CHECK(srv.stats().requests.load() == 3);
}

TEST_CASE("a plain request without a header is closed at once, with no answer") {
    http::server srv(peer_routes());
    run_server_test(srv, proxied_options(), [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send(get("/peer")));
        // Well within the 30 s head deadline: the first byte gave it away.
        CHECK(co_await client.closed(3s));
        CHECK(client.received().empty());
    });
    CHECK(srv.stats().rejected.load() == 1);
    CHECK(srv.stats().timeouts.load() == 0);
    CHECK(srv.stats().requests.load() == 0);
}

namespace {

const std::vector<std::string>& broken_headers() {
    static const std::vector<std::string> broken = {
        "PROXY TCP4 192.0.2.1 198.51.100.7 56324 65536\r\n",
        "PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\n",
        "PROXY TCP6 192.0.2.1 198.51.100.7 56324 443\r\n",
        std::string("\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x04", 16) + "abcd",
        std::string("\r\n\r\n\0\r\nQUIT\n\x11", 13),
    };
    return broken;
}

task<void> send_broken_headers(net::address at) {
    for (const auto& bytes : broken_headers()) {
        CAPTURE(bytes);
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send(bytes + get("/peer")));
        CHECK(co_await client.closed(3s));
        CHECK(client.received().empty());
    }
}

} // namespace

TEST_CASE("malformed headers close the connection with no answer, each counted as rejected") {
    http::server srv(peer_routes());
    run_server_test(srv, proxied_options(), send_broken_headers);
    CHECK(srv.stats().rejected.load() == broken_headers().size());
    CHECK(srv.stats().requests.load() == 0);
}

TEST_CASE("a connection that never finishes its header is cut off at the head deadline") {
    http::server srv(peer_routes());
    auto options = proxied_options();
    options.header_timeout = 100ms;
    run_server_test(srv, options, [](net::address at) -> task<void> {
        auto client = co_await connect_to(at);
        REQUIRE(co_await client.send(v1_header.substr(0, 20)));
        CHECK(co_await client.closed(3s));
        CHECK(client.received().empty());
    });
    CHECK(srv.stats().timeouts.load() == 1);
    CHECK(srv.stats().rejected.load() == 0);
}

TEST_CASE("with the option off, requests are served as before and the peer is the socket's") {
    http::server srv(peer_routes());
    run_server_test(srv, test_options(), [](net::address at) -> task<void> {
        auto r = co_await exchange(at, get("/peer"));
        REQUIRE(r.has_value());
        CHECK(r->body.starts_with("127.0.0.1:"));
        // A PROXY line is then only a malformed request.
        auto refused = co_await exchange(at, v1_header + get("/peer"));
        REQUIRE(refused.has_value());
        CHECK(refused->status == 400);
    });
}

namespace {

task<result<std::size_t>> receive_some(net::stream& from, std::span<std::byte> into) {
    co_return co_await from.recv(into);
}

/// Sends the v2 header with MSG_MORE, so that it leaves in one segment with the ClientHello
/// after it and the server reads both at once: the handshake must start from the bytes that
/// followed the header.
task<void> request_over_tls(net::address at) {
    auto tcp = co_await net::tcp_stream::connect(at);
    REQUIRE(tcp);
    const std::string header = v2_header();
    REQUIRE(::send(tcp->native_handle(), header.data(), header.size(), MSG_MORE | MSG_NOSIGNAL) ==
            static_cast<ssize_t>(header.size()));
    auto context = net::tls_context::client({.ca_file = shared_certificates().ca_file()});
    REQUIRE(context);
    auto secure = co_await net::stream::connect_tls(std::move(*tcp), *context, "localhost");
    REQUIRE(secure);
    const std::string request =
        "GET /peer HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    auto sent = co_await secure->send_all(std::string_view(request));
    REQUIRE(sent);
    std::string answer;
    std::array<std::byte, 4096> buffer{};
    for (int reads = 0; reads < 100; ++reads) {
        auto n = co_await with_timeout(receive_some(*secure, buffer), 3s);
        REQUIRE(n);
        if (*n == 0) break;
        answer.append(net::as_text(std::span(buffer).first(*n)));
    }
    CHECK(answer.starts_with("HTTP/1.1 200"));
    CHECK(answer.ends_with("\r\n\r\n[2001:db8::1]:4711"));
    (void)co_await secure->close();
}

} // namespace

TEST_CASE("over HTTPS the header comes before the handshake, which starts from what followed it") {
    http::server srv(peer_routes());
    auto options = proxied_options();
    options.tls_certificate_file = shared_certificates().certificate_file("server");
    options.tls_key_file = shared_certificates().key_file("server");
    run_server_test(srv, options, request_over_tls);
    CHECK(srv.stats().requests.load() == 1);
}
