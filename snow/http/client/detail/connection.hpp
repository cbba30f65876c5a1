// snow/http/client/detail/connection.hpp: one connection of the HTTP client: the socket, its input
// buffer and the state of the response being read from it. Opens (resolve, then each
// address in turn), sends a request, reads the final head (skipping 1xx) and hands out the
// body piece by piece. Internal to the client; the pool keeps these between requests.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "snow/core/result.hpp"
#include "snow/core/task.hpp"
#include "snow/http/client/timings.hpp"
#include "snow/http/method.hpp"
#include "snow/http/parser.hpp"
#include "snow/http/url.hpp"
#include "snow/io/timer_queue.hpp"
#include "snow/net/receive_buffer.hpp"
#include "snow/net/stream.hpp"
#include "snow/net/tls_context.hpp"

namespace snow::http::detail {

struct proxy_route;

class client_connection {
public:
    client_connection(net::stream stream, const parser_limits& limits);
    client_connection(const client_connection&) = delete;
    client_connection& operator=(const client_connection&) = delete;

    /// Resolves `host` and races its addresses (net::connect_first); with `tls`, then makes
    /// the TLS handshake for `host` over the connection. Records each phase's time in
    /// `timings`, and the phase a failure happened in. Errors:
    /// snow::errc::resolve_failed, the last address's connect error (a reset during the
    /// handshake is reported as connection_refused), a TLS error, timed_out,
    /// operation_canceled.
    static task<result<std::unique_ptr<client_connection>>>
    open(std::string host, std::uint16_t port, const net::tls_context* tls,
         std::optional<std::chrono::nanoseconds> timeout, parser_limits limits,
         request_timings& timings, const proxy_route* proxy);

    /// Connects to the Unix stream socket at `path` (an http+unix:// URL's), recording the
    /// time as the connect phase. Errors: client_error::no_unix_socket (nothing at the path),
    /// connection_refused (nobody listens there), timed_out, the kernel's.
    static task<result<std::unique_ptr<client_connection>>>
    open_unix(std::string path, std::optional<std::chrono::nanoseconds> timeout,
              parser_limits limits, request_timings& timings);

    /// Asks the proxy at the other end of `tcp` for a tunnel to host:port (CONNECT) and reads
    /// its answer. Errors: client_error::proxy_refused for an answer other than 2xx.
    static task<result<void>> open_tunnel(net::tcp_stream& tcp, const std::string& host,
                                          std::uint16_t port);

    /// Sends a request: `head` then `body`, gathered. Both must stay valid until it returns.
    task<result<void>> send(std::string_view head, std::string_view body);

    /// Reads the final response head to a request made with `m`, skipping 1xx responses.
    /// On success head() is valid (its views point into the input buffer) until read_body()
    /// is first called: copy what you need before. Errors: client_error::head_truncated (EOF),
    /// http::errc (malformed, over the limits), client_error::unexpected_upgrade /
    /// too_many_interim, the kernel's.
    task<result<void>> read_head(http::method m);
    const response_head& head() const noexcept { return head_; }

    /// The next piece of the body (de-chunked); empty once the body has ended. The view
    /// points into the input buffer and is valid until the next call. Errors:
    /// client_error::body_truncated, http::errc (bad chunked framing), the kernel's.
    task<result<std::string_view>> read_body();
    bool body_done() const noexcept { return body_done_; }
    /// Whether read_head() may take a 101 Switching Protocols as the final response: the
    /// request asked for an upgrade. The connection then carries the new protocol and is never
    /// reused for HTTP.
    void set_upgrade_expected(bool expected) noexcept { upgrade_expected_ = expected; }
    /// Whether the final response was a 101: the connection belongs to another protocol now.
    bool upgraded() const noexcept { return upgraded_; }
    /// The connection itself, for the protocol a 101 switched to; this object keeps an empty
    /// stream.
    net::stream take_stream() noexcept { return std::move(stream_); }
    /// Bytes received after the response head and not handed out: the new protocol's first.
    std::string take_buffered() {
        std::string bytes(buffered());
        input_.consume(bytes.size());
        return bytes;
    }
    /// Trailer fields of a chunked body, once body_done().
    header_list trailers() const noexcept { return chunked_.trailers(); }

    /// True when the response has ended cleanly and the connection may carry another request:
    /// both sides kept it alive and nothing unexpected follows the body.
    bool reusable() const noexcept;
    /// Bytes received for the current response so far: zero means a request on a stale
    /// pooled connection can safely be retried.
    std::uint64_t response_bytes() const noexcept { return response_bytes_; }
    /// Requests sent on this connection so far.
    std::uint64_t requests() const noexcept { return requests_; }
    /// The server's address.
    result<net::address> peer_address() const { return stream_.tcp().peer_address(); }
    void set_close_after_response() noexcept { close_requested_ = true; }

    /// True unless the server has closed the connection or sent unasked-for bytes while it
    /// sat in the pool. A non-blocking peek: no ring round trip, never waits.
    bool looks_alive() const noexcept;

    io::clock::time_point idle_since{};

private:
    task<result<std::size_t>> receive();
    std::string_view buffered() const noexcept { return input_.view(); }

    net::stream stream_;
    net::receive_buffer input_;

    response_parser parser_;
    response_head head_;
    chunked_decoder chunked_;
    body_kind body_kind_ = body_kind::none;
    std::uint64_t body_left_ = 0; // content_length: bytes still to come
    std::uint64_t response_bytes_ = 0;
    std::uint64_t requests_ = 0;
    bool body_done_ = false;
    bool close_requested_ = false;
    bool upgrade_expected_ = false;
    bool upgraded_ = false;
};

} // namespace snow::http::detail
