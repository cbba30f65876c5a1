// tests/http/server/tls_certificates_test.cpp: the server's certificates: one per name by SNI
// (server_options::tls_identities), and reload_tls() swapping them for new connections while
// an open one carries on and tickets from before still resume, or keeping them, with one line
// said, when the files are bad.
#include "snow/http/server/server.hpp"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <doctest/doctest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "snow/core/when_all.hpp"
#include "snow/io/log.hpp"
#include "snow/io/log_file.hpp"
#include "snow/net/tls_error.hpp"
#include "support/test_certificates.hpp"

#include "http/support/server_fixture.hpp"
#include "http/support/temp_dir.hpp"
#include "http/support/tls_client.hpp"

using namespace snow;
using namespace snow::testing;
using namespace std::chrono_literals;

TEST_SUITE_BEGIN("http.server.tls");

namespace {

/// A PKI of its own, with a certificate for each name these tests ask for.
test_certificates& pki() {
    static test_certificates certificates;
    static const bool issued = [] {
        certificates.add("alpha", "DNS:alpha.test");
        certificates.add("wild", "DNS:*.wild.test");
        certificates.add("old", "DNS:old.test");
        certificates.add("new", "DNS:new.test");
        return true;
    }();
    (void)issued;
    return certificates;
}

net::tls_identity identity(const std::string& name) {
    return {.certificate_file = pki().certificate_file(name), .key_file = pki().key_file(name)};
}

net::tls_context client_context() {
    return trusting_context(pki().ca_file());
}

/// The files a server is started on, overwritten by the tests before they reload.
struct live_files {
    temp_dir dir;
    std::string certificate = dir.file("live.pem");
    std::string key = dir.file("live.key");

    /// Puts `name`'s certificate and key in place.
    void install(const std::string& name) const {
        using std::filesystem::copy_options;
        std::filesystem::copy_file(pki().certificate_file(name), certificate,
                                   copy_options::overwrite_existing);
        std::filesystem::copy_file(pki().key_file(name), key, copy_options::overwrite_existing);
    }
};

http::server_options live_options(const live_files& files) {
    http::server_options options = test_options();
    options.tls_certificate_file = files.certificate;
    options.tls_key_file = files.key;
    return options;
}

/// Whether a verifying client of `name` gets through and is answered; the handshake's error
/// otherwise.
task<std::error_code> served_as(net::address at, std::string name) {
    auto s = co_await open_tls(at, client_context(), std::move(name));
    if (!s) co_return s.error();
    const bool answered = co_await says_hello(*s);
    co_return answered ? std::error_code{} : make_error_code(std::errc::protocol_error);
}

} // namespace

TEST_CASE("each server name gets its certificate, and a client without SNI the default") {
    probe p;
    http::server srv(test_routes(p));
    auto options = test_options();
    options.tls_certificate_file = pki().certificate_file("server");
    options.tls_key_file = pki().key_file("server");
    options.tls_identities = {identity("alpha"), identity("wild")};
    run_server_test(srv, options, [](net::address at) -> task<void> {
        CHECK(co_await served_as(at, "alpha.test") == std::error_code{});
        CHECK(co_await served_as(at, "one.wild.test") == std::error_code{});
        CHECK(co_await served_as(at, "localhost") == std::error_code{});
        CHECK(co_await served_as(at, "127.0.0.1") == std::error_code{}); // no SNI for an address
        // The wildcard covers one label: the default is shown, which is not for this name.
        CHECK(co_await served_as(at, "two.one.wild.test") ==
              net::verify_error(X509_V_ERR_HOSTNAME_MISMATCH));
    });
}

TEST_CASE("with tls_identities alone, the first is the default") {
    probe p;
    http::server srv(test_routes(p));
    auto options = test_options();
    options.tls_identities = {identity("server"), identity("alpha")};
    run_server_test(srv, options, [](net::address at) -> task<void> {
        CHECK(co_await served_as(at, "127.0.0.1") == std::error_code{});
        CHECK(co_await served_as(at, "alpha.test") == std::error_code{});
    });
}

TEST_CASE("reload_tls swaps the certificate for new connections; an open one carries on") {
    live_files files;
    files.install("old");
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, live_options(files), [&srv, &files](net::address at) -> task<void> {
        auto kept = co_await open_tls(at, client_context(), "old.test");
        REQUIRE(kept.has_value());
        CHECK(co_await says_hello(*kept));

        files.install("new");
        REQUIRE(srv.reload_tls().has_value());
        CHECK(co_await served_as(at, "new.test") == std::error_code{});
        CHECK(co_await served_as(at, "old.test") ==
              net::verify_error(X509_V_ERR_HOSTNAME_MISMATCH));
        // Opened before the reload, on the old certificate, and still served.
        CHECK(co_await says_hello(*kept));
    });
    CHECK(srv.stats().connections_accepted.load() == 3);
}

TEST_CASE("a session ticket issued before reload_tls still resumes after it") {
    live_files files;
    files.install("old");
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, live_options(files), [&srv, &files](net::address at) -> task<void> {
        // The client context keeps the tickets the server sends, by server name.
        const net::tls_context client = client_context();
        {
            auto first = co_await open_tls(at, client, "old.test");
            REQUIRE(first.has_value());
            CHECK_FALSE(first->resumed());
            CHECK(co_await says_hello(*first)); // the reply brings the TLS 1.3 tickets along
        }
        files.install("old"); // renewed: the same name, read again
        REQUIRE(srv.reload_tls().has_value());
        auto after = co_await open_tls(at, client, "old.test");
        REQUIRE(after.has_value());
        CHECK(after->resumed());
        CHECK(co_await says_hello(*after));
        // Served by the reloaded context, whose tickets resume in turn.
        auto again = co_await open_tls(at, client, "old.test");
        REQUIRE(again.has_value());
        CHECK(again->resumed());
    });
}

TEST_CASE("adopt_ticket_keys takes a server context's keys and refuses a client context") {
    auto first = net::tls_context::server(
        {.certificate_file = pki().certificate_file("old"), .key_file = pki().key_file("old")});
    auto second = net::tls_context::server(
        {.certificate_file = pki().certificate_file("new"), .key_file = pki().key_file("new")});
    REQUIRE(first.has_value());
    REQUIRE(second.has_value());
    auto keys_of = [](const net::tls_context& c) {
        std::array<unsigned char, 80> keys{};
        REQUIRE(SSL_CTX_ctrl(c.native_handle(), SSL_CTRL_GET_TLSEXT_TICKET_KEYS,
                             static_cast<long>(keys.size()), keys.data()) == 1);
        return keys;
    };
    CHECK(keys_of(*second) != keys_of(*first)); // each context draws its own
    CHECK(second->adopt_ticket_keys(*first).has_value());
    CHECK(keys_of(*second) == keys_of(*first));
    const net::tls_context client = client_context();
    CHECK(second->adopt_ticket_keys(client).error() == net::tls_errc::configuration);
    net::tls_context copy = client;
    CHECK(copy.adopt_ticket_keys(*first).error() == net::tls_errc::configuration);
}

TEST_CASE("a reload that fails keeps the certificate in service and says so once") {
    live_files files;
    files.install("old");
    temp_dir logs;
    auto sink = io::log_file::open(logs.file("diagnostics.log"));
    REQUIRE(sink.has_value());
    struct diverted {
        explicit diverted(std::shared_ptr<io::log_file> to) { log::set_sink(std::move(to)); }
        ~diverted() { log::set_sink(nullptr); }
    };
    std::optional<diverted> diagnostics(std::in_place, *sink);
    probe p;
    http::server srv(test_routes(p));
    run_server_test(srv, live_options(files), [&srv, &files, &sink](net::address at) -> task<void> {
        CHECK(co_await served_as(at, "old.test") == std::error_code{});
        std::ofstream(files.certificate, std::ios::trunc) << "not a certificate\n";
        auto garbled = srv.reload_tls();
        REQUIRE_FALSE(garbled.has_value());
        CHECK(garbled.error() == net::tls_errc::configuration);
        CHECK(co_await served_as(at, "old.test") == std::error_code{});

        // A certificate with the key of another.
        std::filesystem::copy_file(pki().certificate_file("new"), files.certificate,
                                   std::filesystem::copy_options::overwrite_existing);
        REQUIRE_FALSE(srv.reload_tls().has_value());
        CHECK(co_await served_as(at, "old.test") == std::error_code{});
        co_await (*sink)->drain();
    });
    diagnostics.reset();
    const std::string said = read_file(logs.file("diagnostics.log"));
    const std::string line = "snow: error: cannot reload the TLS certificate " + files.certificate;
    const auto first = said.find(line);
    REQUIRE(first != std::string::npos);
    const auto second = said.find(line, first + 1);
    REQUIRE(second != std::string::npos);
    CHECK(said.find(line, second + 1) == std::string::npos);
    CHECK(said.find("still serving the certificates from before") != std::string::npos);
}

TEST_CASE("reloads on another thread, while two loops take the context, lose no handshake") {
    live_files files;
    files.install("old");
    probe p;
    http::server srv(test_routes(p));
    auto options = live_options(files);
    options.host = "127.0.0.1";
    options.port = 0;
    options.threads = 2;
    options.handle_signals = false;
    int status = -1;
    std::thread serving([&srv, &options, &status] { status = srv.run(options); });
    // run() sets port() once every loop's listener listens.
    for (int i = 0; i < 10'000 && srv.port() == 0; ++i) std::this_thread::sleep_for(1ms);
    REQUIRE(srv.port() != 0);
    // Each reload says so at info level; hundreds of them would bury the test's output.
    struct quieter {
        log::level before = log::current_level();
        quieter() { log::set_level(log::level::warn); }
        ~quieter() { log::set_level(before); }
    } const quiet;
    std::atomic<bool> done{false};
    std::atomic<int> reloads{0};
    std::thread reloader([&srv, &done, &reloads] {
        while (!done.load()) {
            if (srv.reload_tls()) ++reloads;
            std::this_thread::sleep_for(1ms);
        }
    });
    const auto at = net::address::from_ip("127.0.0.1", srv.port()).value();
    auto clients = [](net::address to) -> task<int> {
        auto one = [](net::address server) -> task<int> {
            int answered = 0;
            for (int i = 0; i < 10; ++i) {
                if (co_await served_as(server, "old.test") == std::error_code{}) ++answered;
            }
            co_return answered;
        };
        auto [a, b, c, d] = co_await when_all(one(to), one(to), one(to), one(to));
        co_return a + b + c + d;
    };
    const int answered = run_test(clients(at));
    done = true;
    reloader.join();
    srv.stop();
    serving.join();
    CHECK(status == 0);
    CHECK(answered == 40);
    CHECK(reloads.load() > 0);
}

TEST_CASE("reload_tls on a plain HTTP server has nothing to do") {
    http::server plain;
    CHECK(plain.reload_tls().has_value());
}

TEST_SUITE_END();
