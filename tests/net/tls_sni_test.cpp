// tests/net/tls_sni_test.cpp: a server context with several certificates, chosen by SNI: over
// loopback, verifying clients of each name get through and resume across names; in memory,
// which certificate each name (exact, wildcard, any case, none, unknown) is shown.
#include "snow/net/stream.hpp"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "snow/core/when_all.hpp"
#include "snow/net/tcp_listener.hpp"
#include "snow/net/tls_error.hpp"
#include "support/run_test.hpp"
#include "support/test_certificates.hpp"

using namespace snow;
using net::stream;
using testing::run_test;

TEST_SUITE_BEGIN("net.tls.sni");

namespace {

/// The shared PKI's CA, with certificates for the names these tests ask for.
testing::test_certificates& pki() {
    static testing::test_certificates certificates;
    static const bool issued = [] {
        certificates.add("alpha", "DNS:alpha.test");
        certificates.add("beta", "DNS:beta.test,DNS:www.beta.test");
        certificates.add("wild", "DNS:*.wild.test");
        certificates.add("exact", "DNS:exact.wild.test");
        return true;
    }();
    (void)issued;
    return certificates;
}

net::tls_identity identity(const std::string& name) {
    return {.certificate_file = pki().certificate_file(name), .key_file = pki().key_file(name)};
}

/// "server" (localhost, 127.0.0.1) by default; alpha, beta, the wildcard, then an exact name
/// the wildcard covers too.
net::tls_context sni_server() {
    net::tls_server_options options;
    options.certificate_file = pki().certificate_file("server");
    options.key_file = pki().key_file("server");
    options.identities = {identity("alpha"), identity("beta"), identity("wild"), identity("exact")};
    return net::tls_context::server(options).value();
}

/// A handshake over loopback as a verifying client of `host`: the error, or none. With
/// `resumed`, whether the client resumed a session.
task<std::error_code> handshake(const net::tls_context& server, const net::tls_context& client,
                                std::string host, bool* resumed) {
    auto listener = net::tcp_listener::bind("127.0.0.1:0").value();
    auto accept_side = [](net::tcp_listener& l, net::tls_context ctx) -> task<result<stream>> {
        auto tcp = co_await l.accept();
        if (!tcp) co_return tcp.error();
        auto s = co_await stream::accept_tls(std::move(*tcp), std::move(ctx));
        if (!s) co_return s.error();
        // Tickets follow the handshake; a byte of data carries the client's read past them.
        auto sent = co_await s->send_all("x");
        if (!sent) co_return sent.error();
        co_return s;
    };
    auto connect_side = [](net::address to, net::tls_context ctx,
                           std::string name) -> task<result<stream>> {
        auto tcp = co_await net::tcp_stream::connect(to);
        if (!tcp) co_return tcp.error();
        auto s = co_await stream::connect_tls(std::move(*tcp), std::move(ctx), std::move(name));
        if (!s) co_return s.error();
        std::byte one[1];
        auto n = co_await s->recv(one);
        if (!n) co_return n.error();
        co_return s;
    };
    auto [c, s] = co_await when_all(connect_side(listener.local_address(), client, std::move(host)),
                                    accept_side(listener, server));
    if (!c) co_return c.error();
    if (resumed != nullptr) *resumed = c->resumed();
    co_return std::error_code{};
}

std::error_code verified(const std::string& host) {
    return run_test([](std::string h) -> task<std::error_code> {
        const auto client = net::tls_context::client({.ca_file = pki().ca_file()}).value();
        co_return co_await handshake(sni_server(), client, std::move(h), nullptr);
    }(host));
}

/// Which of the PKI's certificates `server` shows a client that sends `sni` ("" for none):
/// an in-memory handshake, so the answer comes from the certificate itself, not a check.
std::string shown(const net::tls_context& server, const std::string& sni) {
    SSL_CTX* client_ctx = SSL_CTX_new(TLS_client_method());
    SSL* client = SSL_new(client_ctx);
    SSL* serving = SSL_new(server.native_handle());
    BIO* client_end = nullptr;
    BIO* server_end = nullptr;
    BIO_new_bio_pair(&client_end, 0, &server_end, 0);
    SSL_set_bio(client, client_end, client_end);
    SSL_set_bio(serving, server_end, server_end);
    SSL_set_connect_state(client);
    SSL_set_accept_state(serving);
    if (!sni.empty()) // SSL_set_tlsext_host_name() without its C cast
        SSL_ctrl(client, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(sni.c_str()));
    for (int round = 0; round < 8; ++round) {
        const int c = SSL_do_handshake(client);
        const int s = SSL_do_handshake(serving);
        if (c == 1 && s == 1) break;
    }
    X509* peer = SSL_get1_peer_certificate(client);
    std::string which = peer == nullptr ? "no certificate" : "unknown";
    for (const char* name : {"server", "alpha", "beta", "wild", "exact"}) {
        FILE* f = std::fopen(pki().certificate_file(name).c_str(), "r");
        X509* expected = f != nullptr ? PEM_read_X509(f, nullptr, nullptr, nullptr) : nullptr;
        if (f != nullptr) std::fclose(f);
        if (peer != nullptr && expected != nullptr && X509_cmp(peer, expected) == 0) which = name;
        X509_free(expected);
    }
    X509_free(peer);
    SSL_free(serving);
    SSL_free(client);
    SSL_CTX_free(client_ctx);
    return which;
}

} // namespace

TEST_CASE("a verifying client of each name gets that name's certificate over loopback") {
    CHECK(verified("alpha.test") == std::error_code{});
    CHECK(verified("beta.test") == std::error_code{});
    CHECK(verified("www.beta.test") == std::error_code{}); // a second SAN of the same one
    CHECK(verified("localhost") == std::error_code{});     // the default's own name
    CHECK(verified("one.wild.test") == std::error_code{});
    // No SNI is sent for an address: the default certificate, which is for 127.0.0.1.
    CHECK(verified("127.0.0.1") == std::error_code{});
    // No certificate is for two labels under the wildcard: the default is shown, and refused.
    CHECK(verified("two.one.wild.test") == net::verify_error(X509_V_ERR_HOSTNAME_MISMATCH));
}

TEST_CASE("the certificate shown follows the name: exact, wildcard of one label, any case") {
    const net::tls_context server = sni_server();
    CHECK(shown(server, "alpha.test") == "alpha");
    CHECK(shown(server, "ALPHA.Test") == "alpha");
    CHECK(shown(server, "beta.test") == "beta");
    CHECK(shown(server, "www.beta.test") == "beta");
    CHECK(shown(server, "x.wild.test") == "wild");
    CHECK(shown(server, "X.WILD.TEST") == "wild");
    CHECK(shown(server, "exact.wild.test") == "exact"); // an exact name beats a wildcard
    CHECK(shown(server, "a.b.wild.test") == "server");  // a wildcard covers one label
    CHECK(shown(server, "wild.test") == "server");      // and not the bare parent name
    CHECK(shown(server, "unknown.test") == "server");
    CHECK(shown(server, "") == "server"); // no SNI
    CHECK(shown(server, "localhost") == "server");
}

TEST_CASE("a context of one certificate shows it whatever the name") {
    const auto single =
        net::tls_context::server({.certificate_file = pki().certificate_file("alpha"),
                                  .key_file = pki().key_file("alpha")})
            .value();
    CHECK(shown(single, "beta.test") == "alpha");
    CHECK(shown(single, "") == "alpha");
}

TEST_CASE("a session resumes under the name it was made for, whichever certificate that was") {
    auto rounds = run_test([]() -> task<std::vector<bool>> {
        const net::tls_context server = sni_server();
        const auto client = net::tls_context::client({.ca_file = pki().ca_file()}).value();
        static const char* const names[] = {"alpha.test", "alpha.test", "beta.test", "beta.test"};
        std::vector<bool> resumed;
        for (const char* name : names) {
            bool again = false;
            const auto failed = co_await handshake(server, client, std::string(name), &again);
            CHECK(failed == std::error_code{});
            resumed.push_back(again);
        }
        co_return resumed;
    }());
    REQUIRE(rounds.size() == 4);
    CHECK_FALSE(rounds[0]);
    CHECK(rounds[1]); // the ticket from alpha's handshake, decrypted while showing alpha
    CHECK_FALSE(rounds[2]);
    CHECK(rounds[3]);
}

TEST_CASE("an identity that does not load fails the whole context") {
    net::tls_server_options missing;
    missing.certificate_file = pki().certificate_file("server");
    missing.key_file = pki().key_file("server");
    missing.identities = {identity("alpha"),
                          {.certificate_file = "/nonexistent.pem", .key_file = "/nonexistent.key"}};
    auto ctx = net::tls_context::server(missing);
    REQUIRE_FALSE(ctx);
    CHECK(ctx.error() == net::tls_errc::configuration);

    net::tls_server_options mismatched = missing;
    mismatched.identities = {
        {.certificate_file = pki().certificate_file("alpha"), .key_file = pki().key_file("beta")}};
    auto other = net::tls_context::server(mismatched);
    REQUIRE_FALSE(other);
    CHECK(other.error() == net::tls_errc::configuration);
}

TEST_SUITE_END();
