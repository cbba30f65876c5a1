// snow/http/client/client.hpp: the HTTP/1.1 client. url → a connection slot → resolve → connect
// (or a pooled keep-alive connection) → send → parse, all but the wait for the slot under one
// deadline whose expiry cancels whichever kernel operation is in flight. Three lines to use:
//     snow::http::client http;
//     auto r = co_await http.get("http://127.0.0.1:8012/index/", {.timeout = 5s});
//     if (!r) fmt::print("{}\n", r.error().message());
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "snow/core/export.hpp"
#include "snow/core/result.hpp"
#include "snow/core/task.hpp"
#include "snow/http/client/detail/connection_pool.hpp"
#include "snow/http/client/error.hpp"
#include "snow/http/client/timings.hpp"
#include "snow/http/headers.hpp"
#include "snow/http/method.hpp"
#include "snow/http/parser.hpp"
#include "snow/http/url.hpp"
#include "snow/io/timer_queue.hpp"
#include "snow/net/stream.hpp"
#include "snow/net/tls_context.hpp"

namespace snow::http {

/// Proxies the client sends requests through. Through an HTTP proxy, an http:// URL goes
/// as an absolute-form request and an https:// URL is tunnelled with CONNECT. Through a
/// SOCKS5 proxy, every request goes through a tunnel the proxy connects (RFC 1928), with
/// a username and password (RFC 1929) when the URL gives them: `socks5h://` lets the proxy
/// resolve the server's name, `socks5://` resolves it here and sends the address. In a
/// tunnel, the TLS handshake (and certificate check) is made with the origin server.
struct proxy_options {
    /// For http:// URLs: "http://host:port" (or "host:port"), "socks5://[user:password@]
    /// host:port" or "socks5h://…"; empty: direct.
    std::string http{};
    /// For https:// URLs, the same forms; empty: direct.
    std::string https{};
    /// Hosts reached directly: a name matches itself and any name under it ("example.com"
    /// covers "a.example.com"), "*" matches every host.
    std::vector<std::string> no_proxy{};

    /// The proxies of the conventional environment variables: http_proxy, https_proxy and
    /// no_proxy (comma-separated), each also in upper case (lower case wins). HTTP_PROXY is
    /// not read when REQUEST_METHOD is set, since a CGI request can set it (httpoxy).
    SNOW_API static proxy_options from_environment();
};

/// Settings of a client as a whole: its connection pool, default deadlines, response limits,
/// User-Agent, TLS checks and proxies. Pass it to the client's constructor.
struct client_options {
    /// Connections per host:port, in use or idle; requests beyond it wait for one.
    std::size_t max_connections_per_host = 16;
    /// A pooled connection unused for this long is closed.
    std::chrono::nanoseconds idle_timeout = std::chrono::seconds(30);
    /// The deadline of a request that sets none; none: no deadline.
    std::optional<std::chrono::nanoseconds> timeout{};
    /// The longest wait for a connection slot of a request that sets none; none: as long
    /// as it takes.
    std::optional<std::chrono::nanoseconds> queue_timeout{};
    /// For each TCP handshake (per address tried), unless a request sets its own.
    std::chrono::nanoseconds connect_timeout = std::chrono::seconds(10);
    /// Response head limits (max_header_bytes, max_headers) and, for the whole-body calls
    /// (get, post, request), max_body_bytes. Streamed bodies (open) have no size limit.
    parser_limits limits{.max_target_bytes = 8192,
                         .max_header_bytes = 64 * 1024,
                         .max_headers = 256,
                         .max_body_bytes = 64 * 1024 * 1024};
    /// Sent as User-Agent unless a request sets one; empty: none.
    std::string user_agent = "snow/0.1";
    /// How https servers are checked: against the system's CAs (or `tls.ca_file`), by
    /// name, unless `tls.insecure_skip_verify` says otherwise.
    net::tls_client_options tls{};
    /// Proxies; none by default (proxy_options::from_environment() reads the usual
    /// variables).
    proxy_options proxy{};
};

/// Settings of one request: its deadlines, connect timeout and redirect policy. Every request
/// call takes one as its last argument: `http.get(url, {.timeout = 2s})`.
struct request_options {
    /// The whole request from the moment it has a connection slot to its host (beyond
    /// client_options::max_connections_per_host it waits for one first; that wait is its
    /// `queue` phase, bounded by queue_timeout instead): resolving, connecting, sending, and
    /// the response head and body (for open(), every next_chunk() too). With redirects
    /// followed, it runs from the first hop's slot, and later hops' waits count. On expiry
    /// the operation in flight is cancelled and the request fails with std::errc::timed_out
    /// (client_failure::timeout). None: client_options::timeout.
    std::optional<std::chrono::nanoseconds> timeout{};
    /// The longest wait for a connection slot (the `queue` phase); past it the request fails
    /// with std::errc::timed_out, failed in "queue". Once `timeout` runs (a redirect's
    /// later hop), that bounds the wait too. None: client_options::queue_timeout.
    std::optional<std::chrono::nanoseconds> queue_timeout{};
    /// Each TCP handshake. None: client_options::connect_timeout.
    std::optional<std::chrono::nanoseconds> connect_timeout{};
    /// Follow 301, 302, 303, 307 and 308 with a Location; off, a 3xx is the result.
    bool follow_redirects = false;
    /// Redirects followed before the request fails with client_error::too_many_redirects.
    int max_redirects = 5;
    /// 1 sends HTTP/1.1; 0 sends HTTP/1.0, for servers that speak nothing newer, and closes
    /// the connection after the response, since an HTTP/1.0 request asks for no reuse.
    int version_minor = 1;
};

/// A whole response.
struct client_response {
    int status = 0; ///< the final status: 1xx responses are skipped
    /// The reason phrase of the status line, as sent.
    std::string reason{};
    /// The minor HTTP version of the response: 1 for HTTP/1.1, 0 for HTTP/1.0.
    int version_minor = 1;
    /// The response's header fields, in the order received.
    http::headers headers{};
    std::string body{}; ///< de-chunked
    /// A chunked body's trailer fields; empty otherwise.
    http::headers trailers{};
    std::string url{};         ///< the URL that answered: the request's, or the last redirect's
    int redirects = 0;         ///< redirects followed to get here
    request_timings timings{}; ///< where the request's time went
};

/// A connection a server switched to another protocol with 101 Switching Protocols, taken
/// out of the client's pool: the protocol named in the request's Upgrade runs on it now.
struct switched_connection {
    net::stream stream{}; ///< the connection, TLS included when the URL was https
    /// Bytes that arrived after the 101 head: the first of the new protocol.
    std::string received{};
};

/// A response whose body is read piece by piece, for bodies too large to hold. Holds its
/// connection until next_chunk() has returned the end of the body (then the connection
/// returns to the pool) or the stream is destroyed (then it is closed). Loop-thread only;
/// must not outlive the loop it was opened on.
class SNOW_API response_stream {
public:
    // Moving and destroying are defined in client.cpp, not defaulted here: they move and
    // release the pool lease, whose code libsnow.so does not export.
    /// Moves the stream and the connection it holds.
    response_stream(response_stream&&) noexcept;
    /// Moves the stream and the connection it holds.
    response_stream& operator=(response_stream&&) noexcept;
    /// Closes the connection unless the whole body was read (then it went back to the pool).
    ~response_stream();

    /// The final status code (1xx responses are skipped).
    int status() const noexcept { return status_; }
    /// The reason phrase of the status line.
    std::string_view reason() const noexcept { return reason_; }
    /// The minor HTTP version of the response: 1 or 0.
    int version_minor() const noexcept { return version_minor_; }
    /// The response's header fields.
    const http::headers& headers() const noexcept { return headers_; }
    /// The Content-Length when the body is delimited by one.
    std::optional<std::uint64_t> content_length() const noexcept { return content_length_; }
    /// The URL that answered: the request's, or the last redirect's.
    const std::string& url() const noexcept { return url_; }
    /// Redirects followed to get here.
    int redirects() const noexcept { return redirects_; }

    /// The next piece of the body, de-chunked; empty once the body has ended (and then on
    /// every later call). The view is valid until the next call. Runs under the request's
    /// deadline. Errors: std::errc::timed_out, client_error::body_truncated, http::errc
    /// (bad chunked framing), the kernel's; after an error every call repeats it.
    task<result<std::string_view>> next_chunk();

    /// Reads the rest of the body into a client_response. Errors: those of next_chunk(),
    /// http::errc::body_too_large past `max_body_bytes`.
    task<result<client_response>> read_all(std::uint64_t max_body_bytes);

    /// After a 101 Switching Protocols (the answer to a request with an Upgrade field, which
    /// open() returns as the final response): the connection, for the new protocol. The
    /// stream holds no connection afterwards. Errors: std::errc::invalid_argument when the
    /// status is not 101 or the connection was taken already.
    result<switched_connection> take_upgraded();

    /// True once the whole body has been read.
    bool done() const noexcept { return done_; }
    /// Body bytes handed out so far.
    std::uint64_t body_bytes() const noexcept { return body_bytes_; }
    /// A chunked body's trailer fields, once done().
    const http::headers& trailers() const noexcept { return trailers_; }
    /// Where the request's time went; `body` is filled in once done().
    const request_timings& timings() const noexcept { return timings_; }

private:
    friend class client;
    response_stream(detail::pool_lease lease, std::optional<io::clock::time_point> deadline);

    detail::pool_lease lease_;
    std::optional<io::clock::time_point> deadline_;
    int status_ = 0;
    int version_minor_ = 1;
    std::string reason_;
    http::headers headers_;
    http::headers trailers_;
    std::optional<std::uint64_t> content_length_;
    std::string url_;
    int redirects_ = 0;
    request_timings timings_{};
    io::clock::time_point head_at_{};
    std::uint64_t body_bytes_ = 0;
    std::error_code error_;
    bool done_ = false;
};

/// An HTTP/1.1 client with a keep-alive pool. Use it from one loop's thread; it must outlive
/// the requests it makes. Every call returns its failure as a value: compare the error with
/// client_failure for the class (timeout, connect, dns, url, truncated, protocol, redirects,
/// io); message() says what happened.
class SNOW_API client {
public:
    /// A client with an empty pool; it connects on the first request to each host:port.
    explicit client(client_options options = {});
    client(const client&) = delete;
    client& operator=(const client&) = delete;
    ~client();

    /// GET `url` and read the whole response; see request().
    task<result<client_response>> get(std::string url, request_options options = {});
    /// HEAD `url`: the response head, with an empty body; see request().
    task<result<client_response>> head(std::string url, request_options options = {});
    /// POST `body` to `url` with `headers` (set Content-Type there) and read the whole
    /// response; see request().
    task<result<client_response>> post(std::string url, std::string body,
                                       http::headers headers = {}, request_options options = {});

    /// Any method but CONNECT. Every verb takes its arguments in this order: URL, body,
    /// headers, options. `headers` are sent as given, after Host (unless given), User-Agent
    /// (unless given) and before Content-Length, which the client computes (a
    /// Content-Length or Transfer-Encoding in `headers` is ignored). The whole body is
    /// read, up to client_options::limits.max_body_bytes.
    task<result<client_response>> request(http::method m, std::string url, std::string body = {},
                                          http::headers headers = {}, request_options options = {});
    /// Like request(), but returns once the final response head has arrived; read the body
    /// with response_stream::next_chunk(), which stays under the request's deadline. When
    /// `headers` has an Upgrade field, a 101 is the final response: take its connection with
    /// response_stream::take_upgraded().
    task<result<response_stream>> open(http::method m, std::string url, std::string body = {},
                                       http::headers headers = {}, request_options options = {});
    /// What open() did, including the last status seen when it failed after a head (a
    /// redirect limit, a redirect to a bad URL): for tools that report it.
    struct open_outcome {
        /// The stream, or why open() failed.
        result<response_stream> stream;
        /// The status of the last response head seen, if one arrived.
        std::optional<int> last_status;
        /// Where the time went, and for a failure the phase it failed in.
        request_timings timings{};
    };
    /// open(), also reporting the last status seen when it fails.
    task<open_outcome> open_traced(http::method m, std::string url, std::string body = {},
                                   http::headers headers = {}, request_options options = {});

    // These two ask the pool, whose code libsnow.so does not export: defined in client.cpp.
    /// Pooled connections not in use.
    std::size_t idle_connections() const noexcept;
    /// Connections (or connection slots being connected) in use by requests.
    std::size_t active_connections() const noexcept;
    /// The options the client was made with.
    const client_options& options() const noexcept { return options_; }

private:
    /// The time limits of one request, as open_traced() works them out.
    struct time_limits {
        std::optional<std::chrono::nanoseconds> connect_timeout{};
        std::optional<std::chrono::nanoseconds> timeout{};
        std::optional<std::chrono::nanoseconds> queue_timeout{};
    };
    /// One hop: a slot, then the exchange on its connection. Sets `deadline` from
    /// `limits.timeout` once the request first has a slot, and keeps it for later hops.
    task<result<response_stream>> exchange(http::method m, url target, const http::headers& fields,
                                           std::string_view body, const time_limits& limits,
                                           std::optional<io::clock::time_point>& deadline,
                                           int version_minor, request_timings& timings);
    /// Connects the lease's slot if it holds no connection yet, sends the request and reads
    /// the response head; `close_after` when the head asks to close the connection after
    /// the response, `upgrade` when it asks for an Upgrade (then a 101 is its final answer).
    /// `reused` says whether the connection came from the pool.
    task<result<void>> converse(detail::pool_lease& lease, const url& target,
                                const detail::proxy_route* proxy, std::string_view head,
                                bool close_after, bool upgrade, std::string_view body,
                                http::method m, const time_limits& limits, request_timings& timings,
                                bool& reused);

    /// The TLS context, made on the first https request and shared by its connections.
    result<const net::tls_context*> tls_context();

    client_options options_;
    parser_limits connection_limits_; // options_.limits without a body limit: open() streams
    std::optional<net::tls_context> tls_;
    detail::connection_pool pool_;
};

} // namespace snow::http
