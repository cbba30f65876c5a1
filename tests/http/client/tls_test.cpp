// tests/http/client/tls_test.cpp: https in the client, against a small TLS server in the test
// with a PKI made at test time: a verified request and a pooled second one, a certificate
// for another name refused as a tls error, verification skipped only when asked, and a
// redirect from http to https.
#include "snow/http/client/client.hpp"

#include <doctest/doctest.h>

#include <fmt/format.h>

#include <memory>
#include <string>

#include "http/support/canned_server.hpp"
#include "snow/core/task_group.hpp"
#include "snow/net/stream.hpp"
#include "snow/net/tcp_listener.hpp"
#include "support/run_test.hpp"
#include "support/test_certificates.hpp"

using namespace snow;
using namespace std::chrono_literals;
using http::client;
using http::client_failure;
using testing::canned_server;
using testing::run_test;

TEST_SUITE_BEGIN("http.client.tls");

namespace {

const testing::test_certificates& pki() {
    return testing::shared_certificates();
}

net::tls_context server_tls(const std::string& name) {
    return net::tls_context::server(
               {.certificate_file = pki().certificate_file(name), .key_file = pki().key_file(name)})
        .value();
}

const std::string hi = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";

http::client_options trusting_test_ca() {
    http::client_options options;
    options.tls.ca_file = pki().ca_file();
    return options;
}

} // namespace

TEST_CASE("an https request is verified, answered, and its connection pooled for the next") {
    run_test([]() -> task<void> {
        canned_server server(hi, server_tls("server"));
        client http(trusting_test_ca());
        const auto url = fmt::format("https://localhost:{}/", server.port());
        auto first = co_await http.get(url);
        REQUIRE(first);
        CHECK(first->status == 200);
        CHECK(first->body == "hi");
        auto second = co_await http.get(fmt::format("https://127.0.0.1:{}/x", server.port()));
        REQUIRE(second); // another origin (by name): its own connection, checked by address
        auto third = co_await http.get(url);
        REQUIRE(third);
        CHECK(third->body == "hi");
        CHECK(server.accepted() == 2); // the third reused the first's connection
        co_await server.stop();
    }());
}

TEST_CASE("a certificate for another name is a tls error that says why") {
    run_test([]() -> task<void> {
        canned_server server(hi, server_tls("other"));
        client http(trusting_test_ca());
        auto r = co_await http.get(fmt::format("https://localhost:{}/", server.port()));
        REQUIRE_FALSE(r);
        CHECK(r.error() == client_failure::tls);
        CHECK(http::to_string(http::classify(r.error())) == "tls");
        CHECK(r.error().message().find("mismatch") != std::string::npos);
        // The system's CAs do not know the test CA either.
        client default_trust;
        auto unknown =
            co_await default_trust.get(fmt::format("https://localhost:{}/", server.port()));
        CHECK(unknown.error() == client_failure::tls);
        co_await server.stop();
    }());
}

TEST_CASE("verification is skipped only with insecure_skip_verify") {
    run_test([]() -> task<void> {
        canned_server server(hi, server_tls("other"));
        http::client_options options;
        options.tls.insecure_skip_verify = true;
        client http(options);
        auto r = co_await http.get(fmt::format("https://localhost:{}/", server.port()));
        REQUIRE(r);
        CHECK(r->body == "hi");
        co_await server.stop();
    }());
}

TEST_CASE("a redirect from http to https is followed, to a connection of its own") {
    run_test([]() -> task<void> {
        canned_server secure(hi, server_tls("server"));
        canned_server plain(fmt::format("HTTP/1.1 302 Found\r\nLocation: https://localhost:{}/\r\n"
                                        "Content-Length: 0\r\n\r\n",
                                        secure.port()),
                            std::nullopt);
        client http(trusting_test_ca());
        auto r = co_await http.get(fmt::format("http://localhost:{}/", plain.port()),
                                   {.follow_redirects = true});
        REQUIRE(r);
        CHECK(r->status == 200);
        CHECK(r->body == "hi");
        CHECK(secure.accepted() == 1);
        co_await secure.stop();
        co_await plain.stop();
    }());
}

TEST_SUITE_END();
