// snow/http/client/detail/connection.cpp: the client side of one HTTP/1.1 connection: connect
// (by name, through a proxy, or to a Unix socket), send, read the head, read the body by its
// framing (Content-Length, chunked, close).
#include "snow/http/client/detail/connection.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "snow/http/client/detail/proxy.hpp"
#include "snow/http/client/error.hpp"
#include "snow/io/event_loop.hpp"
#include "snow/io/syscalls.hpp"
#include "snow/net/happy_eyeballs.hpp"
#include "snow/net/resolver.hpp"
#include "snow/net/socks5.hpp"
#include "snow/net/unix_socket.hpp"

namespace snow::http::detail {
namespace {
constexpr std::size_t initial_input_bytes = 16 * 1024;
constexpr std::size_t min_read_bytes = 4 * 1024;
/// 1xx heads accepted before the final one; a server that sends 103s forever is broken.
constexpr int max_interim_responses = 16;
} // namespace

namespace {
/// A CONNECT response head longer than this is not from a proxy worth waiting for.
constexpr std::size_t max_tunnel_head_bytes = 16 * 1024;
} // namespace

task<result<void>> client_connection::open_tunnel(net::tcp_stream& tcp, const std::string& host,
                                                  std::uint16_t port) {
    const bool ipv6 = host.find(':') != std::string::npos;
    const std::string authority =
        ipv6 ? fmt::format("[{}]:{}", host, port) : fmt::format("{}:{}", host, port);
    const std::string request = fmt::format("CONNECT {0} HTTP/1.1\r\nHost: {0}\r\n\r\n", authority);
    auto sent = co_await tcp.send_all(request);
    if (!sent) co_return sent.error();
    // The proxy says nothing after its head until the server speaks, and the server speaks
    // only after our ClientHello: reading up to the blank line takes nothing that is TLS's.
    std::string head;
    std::byte one[1];
    while (!head.ends_with("\r\n\r\n")) {
        if (head.size() > max_tunnel_head_bytes) co_return client_error::proxy_refused;
        auto n = co_await tcp.recv(one);
        if (!n) co_return n.error();
        if (*n == 0) co_return client_error::head_truncated;
        head.push_back(static_cast<char>(one[0]));
    }
    // "HTTP/1.x 2xx": any 2xx opens the tunnel (RFC 9110 §9.3.6).
    if (head.size() < 12 || head.compare(0, 7, "HTTP/1.") != 0 || head[9] != '2')
        co_return client_error::proxy_refused;
    co_return result<void>{};
}

client_connection::client_connection(net::stream stream, const parser_limits& limits)
    : stream_(std::move(stream))
    , input_(initial_input_bytes)
    , parser_(limits)
    , chunked_(limits) {}

task<result<std::unique_ptr<client_connection>>>
client_connection::open(std::string host, std::uint16_t port, const net::tls_context* tls,
                        std::optional<std::chrono::nanoseconds> timeout, parser_limits limits,
                        request_timings& timings, const proxy_route* proxy) {
    io::event_loop& loop = io::event_loop::current();
    auto start = loop.now();
    timings.failed_in = "dns";
    const bool socks = proxy != nullptr && proxy->kind == proxy_route::protocol::socks5;
    // Through a proxy, the TCP connection is to the proxy; TLS (over a tunnel) is still made
    // with, and checks the certificate of, the origin server.
    // One await: GCC 12 compiles an await in each arm of a conditional expression wrongly.
    std::string lookup_host = proxy != nullptr ? proxy->address.host() : host;
    const std::uint16_t lookup_port = proxy != nullptr ? proxy->address.port() : port;
    auto addresses = co_await net::resolve(std::move(lookup_host), lookup_port);
    if (!addresses) {
        timings.dns = loop.now() - start;
        co_return addresses.error();
    }
    // socks5:// names the server to the proxy by an address resolved here.
    std::string destination = host;
    if (socks && !proxy->remote_dns) {
        auto resolved = co_await net::resolve(host, port);
        if (!resolved) {
            timings.dns = loop.now() - start;
            co_return resolved.error();
        }
        destination = resolved->front().ip();
    }
    timings.dns = loop.now() - start;
    start = loop.now();
    timings.failed_in = "connect";
    auto tcp = co_await net::connect_first(std::move(*addresses), {.timeout = timeout},
                                           net::default_attempt_delay);
    timings.connect = loop.now() - start;
    if (!tcp) {
        std::error_code error = tcp.error();
        // A reset answering the SYN is how a refusal looks from here (a full backlog with
        // tcp_abort_on_overflow); keep "reset" for connections that were up.
        if (error == std::errc::connection_reset || error == std::errc::connection_aborted)
            error = std::make_error_code(std::errc::connection_refused);
        co_return error;
    }
    if (auto peer = tcp->peer_address()) timings.remote = *peer;
    if (socks) {
        auto tunnelled =
            co_await net::socks5_connect(*tcp, std::move(destination), port, proxy->credentials);
        timings.connect = loop.now() - start;
        if (!tunnelled) co_return tunnelled.error();
    } else if (proxy != nullptr && tls != nullptr) {
        auto tunnelled = co_await open_tunnel(*tcp, host, port);
        timings.connect = loop.now() - start;
        if (!tunnelled) co_return tunnelled.error();
    }
    timings.failed_in = {};
    if (tls == nullptr)
        co_return std::make_unique<client_connection>(net::stream(std::move(*tcp)), limits);
    // The request's deadline covers the handshake; a failed one is not retried on another
    // address: the server answered, and did not prove who it is.
    start = loop.now();
    timings.failed_in = "tls";
    auto secure = co_await net::stream::connect_tls(std::move(*tcp), *tls, host);
    timings.tls = loop.now() - start;
    if (!secure) co_return secure.error();
    timings.failed_in = {};
    co_return std::make_unique<client_connection>(std::move(*secure), limits);
}

task<result<std::unique_ptr<client_connection>>>
client_connection::open_unix(std::string path, std::optional<std::chrono::nanoseconds> timeout,
                             parser_limits limits, request_timings& timings) {
    io::event_loop& loop = io::event_loop::current();
    const auto start = loop.now();
    timings.failed_in = "connect";
    auto connected = co_await net::connect_unix(std::move(path), timeout);
    timings.connect = loop.now() - start;
    if (!connected) {
        // ENOENT alone would read as a missing file of the caller's; say which file.
        if (connected.error() == std::errc::no_such_file_or_directory)
            co_return make_error_code(client_error::no_unix_socket);
        co_return connected.error();
    }
    timings.failed_in = {};
    co_return std::make_unique<client_connection>(net::stream(std::move(*connected)), limits);
}

task<result<void>> client_connection::send(std::string_view head, std::string_view body) {
    ++requests_;
    response_bytes_ = 0;
    // The kernel only reads through these pointers (sendmsg), never writes.
    iovec parts[2] = {{const_cast<char*>(head.data()), head.size()},
                      {const_cast<char*>(body.data()), body.size()}};
    co_return co_await stream_.send_all(std::span<iovec>(parts, body.empty() ? 1 : 2));
}

task<result<std::size_t>> client_connection::receive() {
    // Growth is bounded: a head stops at max_header_bytes, and body bytes are handed out
    // before the next read.
    auto n = co_await stream_.recv(input_.prepare(0, min_read_bytes));
    if (n) {
        input_.commit(*n);
        response_bytes_ += *n;
    }
    co_return n;
}

task<result<void>> client_connection::read_head(http::method m) {
    parser_.reset();
    chunked_.reset();
    body_done_ = false;
    upgraded_ = false;
    int interim = 0;
    for (;;) {
        // The parser picks up where the previous call stopped, so a head arriving a byte at
        // a time is still scanned once.
        const parse_result parsed = parser_.parse(buffered(), head_, m);
        if (parsed.failed()) co_return parsed.error_code();
        if (parsed.complete()) {
            input_.consume(parsed.consumed()); // the views stay valid until the next receive()
            if (head_.status == 101 && upgrade_expected_) {
                // The final answer: what follows belongs to the new protocol.
                upgraded_ = true;
                body_kind_ = body_kind::none;
                body_done_ = true;
                co_return result<void>{};
            }
            if (head_.interim()) {
                if (head_.status == 101) co_return client_error::unexpected_upgrade;
                if (++interim > max_interim_responses) co_return client_error::too_many_interim;
                continue; // the next call parses the following head
            }
            body_kind_ = head_.body.kind;
            body_left_ = head_.body.content_length;
            body_done_ = body_kind_ == body_kind::none ||
                         (body_kind_ == body_kind::content_length && body_left_ == 0);
            co_return result<void>{};
        }
        auto n = co_await receive();
        if (!n) co_return n.error();
        if (*n == 0) co_return client_error::head_truncated;
    }
}

task<result<std::string_view>> client_connection::read_body() {
    if (body_done_) co_return std::string_view{};
    switch (body_kind_) {
    case body_kind::content_length: {
        if (input_.empty()) {
            auto n = co_await receive();
            if (!n) co_return n.error();
            if (*n == 0) co_return client_error::body_truncated;
        }
        const auto take = static_cast<std::size_t>(
            std::min<std::uint64_t>(body_left_, static_cast<std::uint64_t>(input_.size())));
        const std::string_view data = input_.view().substr(0, take);
        input_.consume(take);
        body_left_ -= take;
        body_done_ = body_left_ == 0;
        co_return data;
    }
    case body_kind::chunked:
        for (;;) {
            if (!input_.empty()) {
                const decode_result step = chunked_.decode(buffered());
                input_.consume(step.consumed());
                if (step.failed()) co_return step.error_code();
                if (step.complete()) body_done_ = true;
                if (!step.data().empty() || body_done_) co_return step.data();
                continue; // framing only (a size line, a CRLF): decode on
            }
            auto n = co_await receive();
            if (!n) co_return n.error();
            if (*n == 0) co_return client_error::body_truncated;
        }
    case body_kind::until_close: {
        if (input_.empty()) {
            auto n = co_await receive();
            if (!n) co_return n.error();
            if (*n == 0) {
                body_done_ = true;
                co_return std::string_view{};
            }
        }
        const std::string_view data = buffered();
        input_.consume(data.size());
        co_return data;
    }
    case body_kind::none:
        break;
    }
    body_done_ = true;
    co_return std::string_view{};
}

bool client_connection::reusable() const noexcept {
    return !upgraded_ && body_done_ && head_.keep_alive && !close_requested_ &&
           body_kind_ != body_kind::until_close && input_.empty() && stream_.is_open();
}

bool client_connection::looks_alive() const noexcept {
    char byte = 0;
    const ssize_t n = io::sys::recv_now(stream_.native_handle(), &byte, 1, MSG_PEEK);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
    // Over TLS a server may send records between responses (TLS 1.3 session tickets); the
    // next read consumes them. A close_notify among them shows as a stale connection, which
    // the client retries like any other.
    return n > 0 && stream_.secure();
}

} // namespace snow::http::detail
