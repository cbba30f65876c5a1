// tests/interop/snow_client_test.cpp: snow's HTTPS client against real servers: openssl
// s_server (TLS 1.2 only, TLS 1.3 only, TLS 1.3 without session tickets) and nginx, each
// serving a 16 MiB file whose SHA-256 the streamed body must match. Certificates come from a
// CA made at test time; the client checks them for the name it sends by SNI, "localhost",
// which snow resolves to 127.0.0.1 itself.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "interop/digest.hpp"
#include "interop/peers.hpp"
#include "snow/http/client/client.hpp"
#include "support/run_test.hpp"
#include "support/test_certificates.hpp"

#include "examples/child_process.hpp"
#include "http/support/temp_dir.hpp"

using namespace snow;
using namespace std::chrono_literals;
using testing::child_process;

namespace {

constexpr std::size_t big_size = 16 * 1024 * 1024;

const testing::test_certificates& pki() {
    return testing::shared_certificates();
}

/// What one GET brought: the status and the SHA-256 of the body, or why it failed.
struct fetched {
    int status = 0;
    std::uint64_t bytes = 0;
    std::string digest{};
    std::string error{};
    bool reused = false; ///< sent on a pooled connection
};

/// GETs `url` with `client`, streaming the body into a digest. With `close`, the request asks
/// for the connection to be closed after it (s_server serves one connection at a time).
task<fetched> fetch_digest(http::client& client, std::string url, bool close) {
    http::headers fields;
    if (close) fields.add("Connection", "close");
    http::request_options options;
    options.timeout = 60s;
    std::string no_body;
    fetched got;
    auto stream = co_await client.open(http::method::get, url, no_body, fields, options);
    if (!stream) {
        got.error = stream.error().message();
        co_return got;
    }
    got.status = stream->status();
    got.reused = stream->timings().reused_connection;
    testing::sha256 digest;
    for (;;) {
        auto chunk = co_await stream->next_chunk();
        if (!chunk) {
            got.error = chunk.error().message();
            co_return got;
        }
        if (chunk->empty()) break;
        got.bytes += chunk->size();
        digest.update(*chunk);
    }
    got.digest = digest.hex();
    co_return got;
}

/// Two GETs of `url`, one after the other, with a client that trusts the test CA.
std::vector<fetched> fetch_twice(const std::string& url, bool close) {
    return testing::run_test(
        [](std::string target, bool close_each) -> task<std::vector<fetched>> {
            http::client_options options;
            options.tls.ca_file = pki().ca_file();
            http::client client(options);
            std::vector<fetched> all;
            for (int i = 0; i < 2; ++i) {
                auto one = co_await fetch_digest(client, target, close_each);
                all.push_back(std::move(one));
            }
            co_return all;
        }(url, close),
        120s);
}

void check_transfers(const std::vector<fetched>& all, const std::string& expected) {
    REQUIRE(all.size() == 2);
    for (const fetched& f : all) {
        CHECK_MESSAGE(f.error.empty(), f.error);
        CHECK(f.status == 200);
        CHECK(f.bytes == big_size);
        CHECK(f.digest == expected);
    }
}

/// openssl s_server -HTTP in `dir`, answering GET /big with the file `big`, which holds a
/// whole response; `options` choose the protocol. Fetches it twice, each on its own connection
/// (the second may resume the first's session), and compares the digests.
void fetch_from_s_server(const std::vector<std::string>& options) {
    auto openssl = testing::require_peer("openssl", "openssl");
    if (!openssl) return;
    testing::temp_dir dir;
    const std::string head = fmt::format(
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        big_size);
    const std::string expected = testing::write_random_file(dir.file("big"), big_size, head);
    std::vector<std::string> args = {"s_server",
                                     "-accept",
                                     "127.0.0.1:0",
                                     "-cert",
                                     pki().certificate_file("server"),
                                     "-key",
                                     pki().key_file("server"),
                                     "-HTTP"};
    args.insert(args.end(), options.begin(), options.end());
    child_process server(*openssl, args, child_process::stderr_to::stdout_pipe, dir.file(""));
    // "ACCEPT 127.0.0.1:PORT" once it listens.
    auto line = server.wait_for_line(
        [](std::string_view l) { return l.starts_with("ACCEPT 127.0.0.1:"); }, 10s);
    REQUIRE_MESSAGE(line.has_value(), "s_server did not start:\n", server.transcript());
    const std::string port = line->substr(line->rfind(':') + 1);
    const auto all = fetch_twice(fmt::format("https://localhost:{}/big", port), true);
    const std::string said = server.transcript() + server.read_all(0ms);
    INFO("s_server said:\n", said);
    check_transfers(all, expected);
    CHECK_FALSE(all[1].reused); // the first asked for its connection to be closed
}

} // namespace

TEST_SUITE_BEGIN("interop");

TEST_CASE("snow's client fetches 16 MiB from openssl s_server over TLS 1.2") {
    fetch_from_s_server({"-tls1_2"});
}

TEST_CASE("snow's client fetches 16 MiB from openssl s_server over TLS 1.3") {
    fetch_from_s_server({"-tls1_3"});
}

TEST_CASE("snow's client fetches 16 MiB from openssl s_server that issues no session tickets") {
    fetch_from_s_server({"-tls1_3", "-no_ticket"});
}

TEST_CASE("snow's client fetches 16 MiB twice on one connection from nginx, chosen by SNI") {
    auto nginx = testing::require_peer("nginx", "nginx-light");
    if (!nginx) return;
    testing::temp_dir dir;
    std::filesystem::create_directory(dir.file("html"));
    const std::string expected = testing::write_random_file(dir.file("html/big"), big_size);
    const std::string error_log = dir.file("error.log");
    // nginx as whoever runs the test, in the foreground, one process, everything it writes
    // in the temporary folder. The default server shows a certificate for another name: only
    // a client that sends "localhost" by SNI gets the one it can check.
    auto start = [&](std::uint16_t port) {
        std::ofstream(dir.file("nginx.conf"), std::ios::trunc) << fmt::format(
            R"(daemon off;
master_process off;
pid {0}/nginx.pid;
error_log {0}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {0}/body;
    proxy_temp_path {0}/proxy;
    fastcgi_temp_path {0}/fastcgi;
    uwsgi_temp_path {0}/uwsgi;
    scgi_temp_path {0}/scgi;
    server {{
        listen 127.0.0.1:{1} ssl default_server;
        ssl_certificate {2};
        ssl_certificate_key {3};
        return 421;
    }}
    server {{
        listen 127.0.0.1:{1} ssl;
        server_name localhost;
        ssl_certificate {4};
        ssl_certificate_key {5};
        root {0}/html;
    }}
}}
)",
            dir.file(""), port, pki().certificate_file("other"), pki().key_file("other"),
            pki().certificate_file("server"), pki().key_file("server"));
        return std::make_unique<child_process>(
            *nginx, std::vector<std::string>{"-p", dir.file(""), "-e", error_log, "-c",
                                             dir.file("nginx.conf")});
    };
    // The port was free a moment before nginx binds it; another process may take it first.
    std::unique_ptr<child_process> server;
    std::uint16_t port = 0;
    for (int attempt = 0; attempt < 5 && !server; ++attempt) {
        port = testing::free_port();
        server = start(port);
        if (!testing::wait_until_accepting(port, *server, 10s)) server.reset();
    }
    REQUIRE_MESSAGE(server != nullptr, "nginx did not start:\n", testing::read_file(error_log));
    const auto all = fetch_twice(fmt::format("https://localhost:{}/big", port), false);
    const std::string logged = testing::read_file(error_log);
    INFO("nginx's error log:\n", logged);
    check_transfers(all, expected);
    CHECK(all[1].reused); // kept alive over TLS
    // Stopped here, and by the destructor whatever happened above.
    const auto status = server->stop(10s);
    CHECK(status == 0);
}

TEST_SUITE_END();
