// tests/http/server/demo_tls_test.cpp: snow_demo over HTTPS, in the demo's suite (http.demo):
// SIGHUP reloads its certificate files for new connections while a kept-alive one goes on,
// and a reload from bad files keeps the old certificate and says so; --tls-sni-cert shows
// each certificate to the names it is for, and --max-handshakes queues the handshakes over
// it, as /metrics shows. Blocking OpenSSL clients that share nothing with snow, each read
// bounded by a socket timeout.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "support/free_port.hpp"
#include "support/programs.hpp"
#include "support/test_certificates.hpp"

#include "examples/child_process.hpp"
#include "http/support/blocking_client.hpp"
#include "http/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using snow::testing::child_process;
using snow::testing::free_port;
using steady = std::chrono::steady_clock;

/// A blocking TLS connection to 127.0.0.1:`port` that sends `name` as SNI and checks the
/// certificate for it against `ca_file`.
class tls_client {
public:
    tls_client(std::uint16_t port, const std::string& ca_file, const std::string& name) {
        ctx_ = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
        if (SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr) != 1) return;
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const timeval limit{.tv_sec = 5, .tv_usec = 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
        ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(port);
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) return;
        ssl_ = SSL_new(ctx_);
        SSL_set_fd(ssl_, fd_);
        // SSL_set_tlsext_host_name() without its C cast.
        SSL_ctrl(ssl_, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(name.c_str()));
        SSL_set1_host(ssl_, name.c_str());
        connected_ = SSL_connect(ssl_) == 1;
        verify_result_ = SSL_get_verify_result(ssl_);
    }
    tls_client(const tls_client&) = delete;
    tls_client& operator=(const tls_client&) = delete;
    ~tls_client() {
        if (ssl_ != nullptr) SSL_free(ssl_);
        if (fd_ >= 0) ::close(fd_);
        SSL_CTX_free(ctx_);
    }

    /// Whether the handshake succeeded, the certificate accepted.
    bool connected() const noexcept { return connected_; }
    /// The certificate check's outcome (X509_V_OK, X509_V_ERR_HOSTNAME_MISMATCH, …).
    long verify_result() const noexcept { return verify_result_; }

    /// GET `path` on this connection: the body of the answer, or nothing.
    std::optional<std::string> get(std::string_view path) {
        if (!connected_) return std::nullopt;
        const std::string request = fmt::format("GET {} HTTP/1.1\r\nHost: demo\r\n\r\n", path);
        if (SSL_write(ssl_, request.data(), static_cast<int>(request.size())) <= 0)
            return std::nullopt;
        std::string got;
        for (;;) {
            const auto end = got.find("\r\n\r\n");
            if (end != std::string::npos) {
                std::string head = got.substr(0, end);
                std::transform(head.begin(), head.end(), head.begin(),
                               [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
                const auto field = head.find("content-length:");
                if (field == std::string::npos) return std::nullopt;
                const std::size_t length = std::stoul(head.substr(field + 15));
                if (got.size() >= end + 4 + length) return got.substr(end + 4, length);
            }
            char chunk[4096];
            const int n = SSL_read(ssl_, chunk, sizeof chunk);
            if (n <= 0) return std::nullopt;
            got.append(chunk, static_cast<std::size_t>(n));
        }
    }

private:
    SSL_CTX* ctx_ = nullptr;
    SSL* ssl_ = nullptr;
    int fd_ = -1;
    bool connected_ = false;
    long verify_result_ = X509_V_ERR_UNSPECIFIED;
};

/// Test certificates for old.test and new.test, beside the usual ones.
const snow::testing::test_certificates& pki() {
    static snow::testing::test_certificates certificates;
    static const bool issued = [] {
        certificates.add("old", "DNS:old.test");
        certificates.add("new", "DNS:new.test");
        return true;
    }();
    (void)issued;
    return certificates;
}

/// Waits until `path` exists; false after `within`.
bool appears(const std::string& path, std::chrono::milliseconds within) {
    const auto deadline = steady::now() + within;
    while (::access(path.c_str(), F_OK) != 0) {
        if (steady::now() >= deadline) return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

/// Scrapes plain-HTTP /metrics on `port` until the text has `line`; false after `within`.
bool metrics_show(std::uint16_t port, const std::string& line, std::chrono::milliseconds within) {
    const auto deadline = steady::now() + within;
    while (steady::now() < deadline) {
        snow::testing::blocking_client scraper(port);
        if (scraper.is_open() && scraper.send_all("GET /metrics HTTP/1.1\r\nHost: demo\r\n\r\n")) {
            auto answer = scraper.read_response(2s);
            if (answer && answer->body.find(line + "\n") != std::string::npos) return true;
        }
        std::this_thread::sleep_for(5ms);
    }
    return false;
}

/// The HTTPS port a starting snow_demo announces.
std::uint16_t started_https(child_process& demo) {
    constexpr std::string_view prefix = "snow: listening on https://127.0.0.1:";
    auto line =
        demo.wait_for_line([prefix](std::string_view l) { return l.starts_with(prefix); }, 10s);
    REQUIRE_MESSAGE(line.has_value(), "snow_demo did not announce its port");
    return static_cast<std::uint16_t>(std::stoul(line->substr(prefix.size())));
}

std::size_t count(std::string_view text, std::string_view needle) {
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string_view::npos;
         at = text.find(needle, at + needle.size()))
        ++n;
    return n;
}

} // namespace

TEST_SUITE_BEGIN("http.demo");

TEST_CASE("SIGHUP reloads the demo's certificate for new connections; bad files keep the old") {
    using std::filesystem::copy_options;
    snow::testing::temp_dir dir;
    const std::string cert = dir.file("live.pem");
    const std::string key = dir.file("live.key");
    const std::string access_log = dir.file("access.log");
    auto install = [&](const std::string& name) {
        std::filesystem::copy_file(pki().key_file(name), key, copy_options::overwrite_existing);
        std::filesystem::copy_file(pki().certificate_file(name), cert,
                                   copy_options::overwrite_existing);
    };
    install("old");
    snow::testing::require_kernel();
    child_process demo(snow::testing::example("snow_demo"),
                       {"--host", "127.0.0.1", "--port", "0", "--tls-cert", cert, "--tls-key", key,
                        "--access-log", access_log, "--log-level", "info"},
                       child_process::stderr_to::pipe);
    const std::uint16_t port = started_https(demo);
    const std::string ca = pki().ca_file();

    tls_client kept(port, ca, "old.test");
    REQUIRE(kept.connected());
    CHECK(kept.get("/index/") == "OK");

    // The demo reloads the certificates, then reopens the access log: once the log file is
    // there again, the reload is done.
    auto hang_up = [&](int round) {
        const std::string rotated = fmt::format("{}.{}", access_log, round);
        REQUIRE(appears(access_log, 3s));
        REQUIRE(std::rename(access_log.c_str(), rotated.c_str()) == 0);
        REQUIRE(::kill(demo.pid(), SIGHUP) == 0);
        REQUIRE(appears(access_log, 3s));
    };

    std::ofstream(cert, std::ios::trunc) << "not a certificate\n";
    hang_up(1);
    {
        tls_client still_old(port, ca, "old.test");
        CHECK(still_old.connected());
        CHECK(still_old.get("/index/") == "OK");
    }

    install("new");
    hang_up(2);
    {
        tls_client fresh(port, ca, "new.test");
        CHECK(fresh.connected());
        CHECK(fresh.get("/index/") == "OK");
        tls_client stale(port, ca, "old.test");
        CHECK_FALSE(stale.connected());
        CHECK(stale.verify_result() == X509_V_ERR_HOSTNAME_MISMATCH);
    }
    CHECK(kept.get("/index/") == "OK"); // begun before both reloads, on the old certificate

    auto status = demo.stop(10s);
    REQUIRE(status.has_value());
    CHECK(*status == 0);
    const std::string said = demo.read_all_stderr(2s);
    CHECK(count(said, "cannot reload the TLS certificate " + cert) == 1);
    CHECK(count(said, "TLS certificates reloaded from " + cert) == 1);
}

TEST_CASE("--tls-sni-cert serves each name its certificate; --max-handshakes queues the rest") {
    snow::testing::require_kernel();
    const std::uint16_t metrics_port = free_port();
    const auto pair = [](const std::string& name) {
        return pki().certificate_file(name) + "," + pki().key_file(name);
    };
    child_process demo(snow::testing::example("snow_demo"),
                       {"--host",
                        "127.0.0.1",
                        "--port",
                        "0",
                        "--threads",
                        "1",
                        "--tls-cert",
                        pki().certificate_file("server"),
                        "--tls-key",
                        pki().key_file("server"),
                        "--tls-sni-cert",
                        pair("old"),
                        "--tls-sni-cert",
                        pair("new"),
                        "--max-handshakes",
                        "1",
                        "--metrics-address",
                        fmt::format("127.0.0.1:{}", metrics_port),
                        "--log-level",
                        "warn"},
                       child_process::stderr_to::pipe);
    const std::uint16_t port = started_https(demo);
    const std::string ca = pki().ca_file();

    for (const std::string name : {"old.test", "new.test", "localhost"}) {
        CAPTURE(name);
        tls_client named(port, ca, name);
        CHECK(named.connected());
        CHECK(named.get("/index/") == "OK");
    }
    {
        tls_client nobody(port, ca, "nobody.test"); // the default certificate, not for it
        CHECK_FALSE(nobody.connected());
        CHECK(nobody.verify_result() == X509_V_ERR_HOSTNAME_MISMATCH);
    }

    // A connection that sends nothing holds the one place; a TLS client then waits in line,
    // and the gauge says so, until the holder goes.
    REQUIRE(metrics_show(metrics_port, "snow_http_handshakes_waiting 0", 5s));
    snow::testing::blocking_client holder(port);
    REQUIRE(holder.is_open());
    std::optional<std::string> queued_answer;
    std::thread queued([&] {
        tls_client client(port, ca, "new.test");
        queued_answer = client.get("/index/");
    });
    const bool waiting = metrics_show(metrics_port, "snow_http_handshakes_waiting 1", 5s);
    holder.close();
    queued.join();
    CHECK(waiting);
    CHECK(queued_answer == "OK");
    CHECK(metrics_show(metrics_port, "snow_http_handshakes_waiting 0", 5s));

    auto status = demo.stop(10s);
    REQUIRE(status.has_value());
    CHECK(*status == 0);
}

TEST_SUITE_END();
