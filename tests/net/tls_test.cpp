// tests/net/tls_test.cpp: TLS streams, snow against snow over loopback, with a PKI made at
// test time: bulk data both ways at once, tiny reads, verification by name and by address
// and each reason it fails, close_notify against an abrupt close, deadlines in the
// handshake and in a read, a stream destroyed with a read in flight, the server's choice
// of AES-128-GCM in TLS 1.2 and 1.3 whatever the client lists first, and waits for input
// (wait_readable, an idle read) that hold no input buffer.
#include "snow/net/stream.hpp"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <numeric>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "snow/core/when_all.hpp"
#include "snow/io/operation.hpp"
#include "snow/net/detail/tls_input_buffers.hpp"
#include "snow/net/tcp_listener.hpp"
#include "snow/net/tls_error.hpp"
#include "snow/time/sleep.hpp"
#include "snow/time/timeout.hpp"
#include "support/run_test.hpp"
#include "support/socket_pair.hpp"
#include "support/test_certificates.hpp"

using namespace snow;
using namespace std::chrono_literals;
using net::stream;
using testing::run_test;

TEST_SUITE_BEGIN("net.tls");

namespace {

const testing::test_certificates& pki() {
    return testing::shared_certificates();
}

net::tls_context server_context(const std::string& name = "server") {
    return net::tls_context::server(
               {.certificate_file = pki().certificate_file(name), .key_file = pki().key_file(name)})
        .value();
}

net::tls_context client_context() {
    return net::tls_context::client({.ca_file = pki().ca_file()}).value();
}

struct tls_pair {
    stream client;
    stream server;
};

/// A listener, a TLS client of `host` and the server side, both handshaken.
task<result<tls_pair>> connect_pair(net::tls_context client_ctx, std::string host,
                                    std::string server_name = "server") {
    auto listener = net::tcp_listener::bind("127.0.0.1:0").value();
    const auto at = listener.local_address();
    auto accept_side = [](net::tcp_listener& l, net::tls_context ctx) -> task<result<stream>> {
        auto tcp = co_await l.accept();
        if (!tcp) co_return tcp.error();
        co_return co_await stream::accept_tls(std::move(*tcp), std::move(ctx));
    };
    auto connect_side = [](net::address to, net::tls_context ctx,
                           std::string name) -> task<result<stream>> {
        auto tcp = co_await net::tcp_stream::connect(to);
        if (!tcp) co_return tcp.error();
        co_return co_await stream::connect_tls(std::move(*tcp), std::move(ctx), std::move(name));
    };
    auto [client, server] =
        co_await when_all(connect_side(at, std::move(client_ctx), std::move(host)),
                          accept_side(listener, server_context(server_name)));
    if (!client) co_return client.error();
    if (!server) co_return server.error();
    co_return tls_pair{std::move(*client), std::move(*server)};
}

/// The client's handshake error against a server presenting `server_name`'s certificate.
std::error_code client_failure(net::tls_context ctx, std::string host,
                               std::string server_name = "server") {
    return run_test([](net::tls_context c, std::string h, std::string s) -> task<std::error_code> {
        auto pair = co_await connect_pair(std::move(c), std::move(h), std::move(s));
        co_return pair ? std::error_code{} : pair.error();
    }(std::move(ctx), std::move(host), std::move(server_name)));
}

std::vector<std::byte> pattern(std::size_t size, std::uint8_t seed) {
    std::vector<std::byte> bytes(size);
    for (std::size_t i = 0; i < size; ++i)
        bytes[i] = static_cast<std::byte>((i * 131 + seed) & 0xff);
    return bytes;
}

/// Reads exactly `size` bytes (or fails) through buffers of `chunk` bytes.
task<result<std::vector<std::byte>>> read_exactly(stream& s, std::size_t size, std::size_t chunk) {
    std::vector<std::byte> got;
    std::vector<std::byte> buffer(chunk);
    while (got.size() < size) {
        auto n = co_await s.recv(buffer);
        if (!n) co_return n.error();
        if (*n == 0) co_return make_error_code(errc::eof);
        got.insert(got.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(*n));
    }
    co_return got;
}

/// Input buffers the loop's TLS sessions hold now.
std::size_t input_buffers_held() {
    return net::detail::tls_input_buffers::of_this_loop().in_use();
}

/// The bytes of `buffer` a recv filled, as text.
std::string text_of(std::span<const std::byte> buffer, std::size_t n) {
    return std::string(reinterpret_cast<const char*>(buffer.data()), n);
}

} // namespace

TEST_CASE("a megabyte each way at once arrives intact, and ALPN agrees on http/1.1") {
    auto [ok, alpn] = run_test([]() -> task<std::pair<bool, std::string>> {
        auto pair = co_await connect_pair(client_context(), "localhost");
        REQUIRE(pair);
        const auto up = pattern(1 << 20, 1);
        const auto down = pattern(1 << 20, 2);
        // Both sides write and read at the same time: neither may wait for the other's reader.
        auto side = [](stream& s, const std::vector<std::byte>& out,
                       std::size_t expect) -> task<result<std::vector<std::byte>>> {
            auto [sent, got] = co_await when_all(s.send_all(out), read_exactly(s, expect, 16384));
            if (!sent) co_return sent.error();
            co_return got;
        };
        auto [at_server, at_client] = co_await when_all(side(pair->client, up, down.size()),
                                                        side(pair->server, down, up.size()));
        REQUIRE(at_server);
        REQUIRE(at_client);
        co_return std::pair{*at_server == down && *at_client == up,
                            std::string(pair->client.alpn())};
    }());
    CHECK(ok);
    CHECK(alpn == "http/1.1");
}

TEST_CASE("a KeyUpdate in the middle of a full-duplex transfer loses and stalls nothing") {
    auto ok = run_test([]() -> task<bool> {
        auto pair = co_await connect_pair(client_context(), "localhost");
        REQUIRE(pair);
        const auto up = pattern(4 << 20, 3);
        const auto down = pattern(4 << 20, 4);
        // Each side writes 4 MiB while reading the other's: the socket buffers fill, so the
        // writers block while the readers process the KeyUpdate and owe replies to it.
        auto side = [](stream& s, const std::vector<std::byte>& out,
                       std::size_t expect) -> task<result<std::vector<std::byte>>> {
            auto [sent, got] = co_await when_all(s.send_all(out), read_exactly(s, expect, 4096));
            if (!sent) co_return sent.error();
            co_return got;
        };
        auto rekey = [](stream& s) -> task<result<void>> {
            co_await sleep(1ms);
            co_return co_await s.update_keys();
        };
        auto [at_server, at_client, rekeyed] =
            co_await when_all(side(pair->client, up, down.size()),
                              side(pair->server, down, up.size()), rekey(pair->client));
        REQUIRE(rekeyed);
        REQUIRE(at_server);
        REQUIRE(at_client);
        co_return *at_server == down&&* at_client == up;
    }());
    CHECK(ok);
}

TEST_CASE("a second connection to the same name resumes the first one's session") {
    auto resumed = run_test([]() -> task<std::vector<bool>> {
        // One server context for both connections: its ticket keys decrypt the ticket.
        const net::tls_context server_ctx = server_context();
        const net::tls_context client_ctx = client_context();
        auto listener = net::tcp_listener::bind("127.0.0.1:0").value();
        const auto at = listener.local_address();
        std::vector<bool> seen;
        for (int round = 0; round < 3; ++round) {
            auto accept_side = [](net::tcp_listener& l,
                                  net::tls_context ctx) -> task<result<stream>> {
                auto tcp = co_await l.accept();
                if (!tcp) co_return tcp.error();
                auto s = co_await stream::accept_tls(std::move(*tcp), std::move(ctx));
                if (!s) co_return s.error();
                // The server's tickets follow the handshake; a byte of data carries the
                // client's read past them.
                auto sent = co_await s->send_all("x");
                if (!sent) co_return sent.error();
                co_return s;
            };
            auto connect_side = [](net::address to, net::tls_context ctx) -> task<result<stream>> {
                auto tcp = co_await net::tcp_stream::connect(to);
                if (!tcp) co_return tcp.error();
                auto s = co_await stream::connect_tls(std::move(*tcp), std::move(ctx), "localhost");
                if (!s) co_return s.error();
                std::byte one[1];
                auto n = co_await s->recv(one);
                if (!n) co_return n.error();
                co_return s;
            };
            auto [client, server] =
                co_await when_all(connect_side(at, client_ctx), accept_side(listener, server_ctx));
            // Plain checks: clang 14 cannot capture a structured binding in a message.
            REQUIRE(client.has_value());
            REQUIRE(server.has_value());
            seen.push_back(client->resumed());
            CHECK(client->resumed() == server->resumed());
        }
        co_return seen;
    }());
    REQUIRE(resumed.size() == 3);
    CHECK_FALSE(resumed[0]); // nothing to resume yet
    CHECK(resumed[1]);
    CHECK(resumed[2]); // the resumed handshake brought fresh tickets
}

TEST_CASE("one-byte reads see every byte in order") {
    auto same = run_test([]() -> task<bool> {
        auto pair = co_await connect_pair(client_context(), "localhost");
        REQUIRE(pair);
        const auto data = pattern(5000, 7);
        auto [sent, got] =
            co_await when_all(pair->server.send_all(data), read_exactly(pair->client, 5000, 1));
        REQUIRE(sent);
        REQUIRE(got);
        co_return *got == data;
    }());
    CHECK(same);
}

TEST_CASE("a certificate is checked against an IP literal") {
    CHECK(client_failure(client_context(), "127.0.0.1") == std::error_code{});
    CHECK(client_failure(client_context(), "::1") == std::error_code{}); // connects to 127.0.0.1
}

TEST_CASE("each verification failure says why") {
    const auto wrong_name = client_failure(client_context(), "localhost", "other");
    CHECK(wrong_name == net::verify_error(X509_V_ERR_HOSTNAME_MISMATCH));
    CHECK(net::is_tls_error(wrong_name));
    const auto expired = client_failure(client_context(), "localhost", "expired");
    CHECK(expired == net::verify_error(X509_V_ERR_CERT_HAS_EXPIRED));
    // The system bundle does not know the test CA.
    const auto unknown = client_failure(net::tls_context::client().value(), "localhost");
    CHECK(unknown.category() == net::tls_verify_category());
    CHECK(unknown != net::verify_error(X509_V_ERR_HOSTNAME_MISMATCH));
    CHECK(
        unknown.default_error_condition() ==
        std::error_condition(static_cast<int>(net::tls_errc::verify_failed), net::tls_category()));
}

TEST_CASE("skipping verification takes an option that says so") {
    auto insecure = net::tls_context::client({.insecure_skip_verify = true}).value();
    CHECK_FALSE(insecure.verifies_peer());
    CHECK(client_failure(insecure, "localhost", "other") == std::error_code{});
    CHECK(client_context().verifies_peer());
}

TEST_CASE("a missing certificate file is a configuration error") {
    auto ctx = net::tls_context::server(
        {.certificate_file = "/nonexistent.pem", .key_file = "/nonexistent.key"});
    REQUIRE_FALSE(ctx);
    CHECK(ctx.error() == net::tls_errc::configuration);
}

TEST_CASE("close_notify ends the stream cleanly; a bare FIN is truncation") {
    auto [clean, truncated] =
        run_test([]() -> task<std::pair<result<std::size_t>, result<std::size_t>>> {
            auto first = co_await connect_pair(client_context(), "localhost");
            REQUIRE(first);
            REQUIRE(co_await first->server.shutdown());
            std::array<std::byte, 64> buffer{};
            auto clean_end = co_await first->client.recv(buffer);

            auto second = co_await connect_pair(client_context(), "localhost");
            REQUIRE(second);
            REQUIRE(co_await second->server.tcp().shutdown(SHUT_WR)); // FIN without close_notify
            auto cut = co_await second->client.recv(buffer);
            co_return std::pair{clean_end, cut};
        }());
    REQUIRE(clean);
    CHECK(*clean == 0);
    REQUIRE_FALSE(truncated);
    CHECK(truncated.error() == net::tls_errc::truncated);
}

TEST_CASE("a deadline in the handshake ends it with timed_out") {
    auto error = run_test([]() -> task<std::error_code> {
        // A server that accepts the TCP connection and never answers the ClientHello.
        auto listener = net::tcp_listener::bind("127.0.0.1:0").value();
        auto tcp = co_await net::tcp_stream::connect(listener.local_address());
        REQUIRE(tcp);
        auto silent = co_await listener.accept();
        REQUIRE(silent);
        auto s = co_await with_timeout(
            stream::connect_tls(std::move(*tcp), client_context(), "localhost"), 50ms);
        co_return s ? std::error_code{} : s.error();
    }());
    CHECK(error == std::errc::timed_out);
}

TEST_CASE("a read deadline cancels only the read: the session goes on") {
    auto [first, second] = run_test([]() -> task<std::pair<std::error_code, std::string>> {
        auto pair = co_await connect_pair(client_context(), "localhost");
        REQUIRE(pair);
        std::array<std::byte, 64> buffer{};
        auto idle = co_await with_timeout(
            [](stream& s, std::span<std::byte> b) -> task<result<std::size_t>> {
                co_return co_await s.recv(b);
            }(pair->client, buffer),
            30ms);
        REQUIRE(co_await pair->server.send_all("still here"));
        auto n = co_await pair->client.recv(buffer);
        REQUIRE(n);
        co_return std::pair{idle ? std::error_code{} : idle.error(),
                            std::string(reinterpret_cast<const char*>(buffer.data()), *n)};
    }());
    CHECK(first == std::errc::timed_out);
    CHECK(second == "still here");
}

TEST_CASE("a task destroyed in a TLS read, with the stream gone too, frees nothing in use") {
    auto echoed = run_test([]() -> task<bool> {
        auto pair = co_await connect_pair(client_context(), "localhost");
        REQUIRE(pair);
        // The client reads the server's session tickets first: a socket closed with bytes
        // unread sends RST, and the send below would fail for that reason alone.
        REQUIRE(co_await pair->server.send_all("x"));
        std::array<std::byte, 1> first{};
        REQUIRE(co_await pair->client.recv(first));
        auto reader = [](stream s) -> task<void> {
            std::array<std::byte, 64> buffer{};
            (void)co_await s.recv(buffer);
            FAIL_CHECK("the destroyed reader must never resume");
        };
        {
            task<void> t = reader(std::move(pair->client));
            t.handle().resume(); // runs until its read is in flight
        } // destroyed here: the read is cancelled and reaped before the session is freed
        auto sent = co_await pair->server.send_all("late");
        co_await sleep(5ms);
        co_return static_cast<bool>(sent);
    }());
    CHECK(echoed);
}

TEST_CASE("a server picks AES-128-GCM over TLS 1.2 and 1.3 though the client lists AES-256 first") {
    // A handshake in memory, through a BIO pair: OpenSSL's own client, whose default lists
    // put AES-256-GCM first, against a snow server context.
    const net::tls_context server = server_context();
    struct expectation {
        long version;
        std::string_view cipher;
    };
    for (const expectation& e : {expectation{TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256"},
                                 expectation{TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256"}}) {
        CAPTURE(e.cipher);
        SSL_CTX* client_ctx = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_max_proto_version(client_ctx, e.version);
        SSL* client = SSL_new(client_ctx);
        SSL* accepting = SSL_new(server.native_handle());
        BIO* client_end = nullptr;
        BIO* server_end = nullptr;
        REQUIRE(BIO_new_bio_pair(&client_end, 0, &server_end, 0) == 1);
        SSL_set_bio(client, client_end, client_end);
        SSL_set_bio(accepting, server_end, server_end);
        SSL_set_connect_state(client);
        SSL_set_accept_state(accepting);
        bool done = false;
        for (int round = 0; round < 10 && !done; ++round) {
            const int c = SSL_do_handshake(client);
            const int a = SSL_do_handshake(accepting);
            done = c == 1 && a == 1;
        }
        CHECK(done);
        CHECK(std::string_view(SSL_CIPHER_get_name(SSL_get_current_cipher(accepting))) == e.cipher);
        SSL_free(accepting);
        SSL_free(client);
        SSL_CTX_free(client_ctx);
    }
}

TEST_CASE("wait_readable ends when the peer writes, holding no buffer while it waits") {
    struct outcome {
        result<void> waited;
        std::size_t held_while_waiting = 99;
        std::size_t held_after_read = 99;
        std::string read;
    };
    auto got = run_test([]() -> task<outcome> {
        auto pair = co_await connect_pair(client_context(), "localhost");
        REQUIRE(pair);
        outcome o;
        // when_all starts the wait first: it is in flight when the writer looks and writes.
        auto writer = [](stream& s, outcome& seen) -> task<result<void>> {
            seen.held_while_waiting = input_buffers_held();
            co_return co_await s.send_all("ready now");
        };
        auto both = co_await when_all(pair->server.wait_readable(), writer(pair->client, o));
        REQUIRE(std::get<1>(both));
        o.waited = std::get<0>(both);
        std::array<std::byte, 64> buffer{};
        auto n = co_await pair->server.recv(buffer);
        REQUIRE(n);
        o.read = text_of(buffer, *n);
        o.held_after_read = input_buffers_held();
        co_return o;
    }());
    CHECK(got.waited.has_value());
    CHECK(got.held_while_waiting == 0);
    CHECK(got.read == "ready now");
    CHECK(got.held_after_read == 0); // the buffer went back once OpenSSL read every byte
}

TEST_CASE("wait_readable ends at the peer's close, which the recv after it reports") {
    auto [waited, read] = run_test([]() -> task<std::pair<result<void>, result<std::size_t>>> {
        auto pair = co_await connect_pair(client_context(), "localhost");
        REQUIRE(pair);
        auto closer = [](stream& s) -> task<result<void>> { co_return co_await s.shutdown(); };
        auto both = co_await when_all(pair->server.wait_readable(), closer(pair->client));
        REQUIRE(std::get<1>(both));
        std::array<std::byte, 64> buffer{};
        auto n = co_await pair->server.recv(buffer);
        co_return std::pair{std::get<0>(both), n};
    }());
    CHECK(waited.has_value());
    REQUIRE(read);
    CHECK(*read == 0); // close_notify, then FIN
}

TEST_CASE("wait_readable ends with operation_canceled when interrupted, or timed_out") {
    auto [interrupted, timed_out, still] =
        run_test([]() -> task<std::tuple<result<void>, result<void>, std::string>> {
            auto pair = co_await connect_pair(client_context(), "localhost");
            REQUIRE(pair);
            io::wait_handle idle;
            auto interrupter = [](io::wait_handle& h) -> task<void> {
                REQUIRE(h.waiting());
                h.interrupt();
                co_return;
            };
            auto both = co_await when_all(pair->server.wait_readable(&idle), interrupter(idle));
            auto expired = co_await with_timeout(pair->server.wait_readable(), 20ms);
            // Neither wait took anything: the next bytes are read whole.
            REQUIRE(co_await pair->client.send_all("after"));
            std::array<std::byte, 64> buffer{};
            auto n = co_await pair->server.recv(buffer);
            REQUIRE(n);
            co_return std::tuple{std::get<0>(both), expired, text_of(buffer, *n)};
        }());
    REQUIRE_FALSE(interrupted);
    CHECK(interrupted.error() == std::errc::operation_canceled);
    REQUIRE_FALSE(timed_out);
    CHECK(timed_out.error() == std::errc::timed_out);
    CHECK(still == "after");
}

TEST_CASE("wait_readable on a plain stream ends when the peer writes") {
    auto read = run_test([]() -> task<std::string> {
        auto sockets = testing::socket_pair();
        stream client(std::move(sockets.first));
        stream server(std::move(sockets.second));
        auto writer = [](stream& s) -> task<result<void>> {
            co_return co_await s.send_all("plain");
        };
        auto both = co_await when_all(server.wait_readable(), writer(client));
        REQUIRE(std::get<0>(both));
        REQUIRE(std::get<1>(both));
        std::array<std::byte, 64> buffer{};
        auto n = co_await server.recv(buffer);
        REQUIRE(n);
        co_return text_of(buffer, *n);
    }());
    CHECK(read == "plain");
}

TEST_CASE("an idle TLS stream holds no input buffer, before, during and after a read") {
    auto held = run_test([]() -> task<std::vector<std::size_t>> {
        auto pair = co_await connect_pair(client_context(), "localhost");
        REQUIRE(pair);
        std::vector<std::size_t> seen;
        // The client reads the server's tickets and its first record, so both are idle after.
        REQUIRE(co_await pair->server.send_all("one"));
        std::array<std::byte, 64> buffer{};
        REQUIRE(co_await pair->client.recv(buffer));
        seen.push_back(input_buffers_held());
        // A read waiting for its record (as a handler's long wait or an idle WebSocket does).
        auto writer = [](stream& s, std::vector<std::size_t>& out) -> task<result<void>> {
            out.push_back(input_buffers_held());
            co_return co_await s.send_all("two");
        };
        auto reader = [](stream& s, std::span<std::byte> into) -> task<result<std::size_t>> {
            co_return co_await s.recv(into);
        };
        auto both = co_await when_all(reader(pair->server, buffer), writer(pair->client, seen));
        REQUIRE(std::get<1>(both));
        REQUIRE(std::get<0>(both));
        CHECK(text_of(buffer, *std::get<0>(both)) == "two");
        seen.push_back(input_buffers_held());
        co_return seen;
    }());
    CHECK(held == std::vector<std::size_t>{0, 0, 0});
}

TEST_SUITE_END();
