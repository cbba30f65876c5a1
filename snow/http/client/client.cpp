// snow/http/client/client.cpp: a request from URL to response: the wait for a connection slot,
// the deadline that starts once it has one, the retry of a request that met a connection the
// server had closed, redirects, whole bodies.
#include "snow/http/client/client.hpp"

#include <fmt/format.h>

#include <iterator>
#include <limits>

#include "snow/http/client/detail/proxy.hpp"
#include "snow/http/grammar.hpp"
#include "snow/io/event_loop.hpp"
#include "snow/time/timeout.hpp"

namespace snow::http {
namespace {

/// Redirect bodies up to this size are read so the connection can serve the next hop;
/// a larger one costs less to drop with its connection.
constexpr std::uint64_t max_drained_redirect_bytes = 64 * 1024;

/// RFC 9110 §9.2.2: a request the server may receive twice without harm.
constexpr bool is_idempotent(method m) noexcept {
    switch (m) {
    case method::get:
    case method::head:
    case method::put:
    case method::delete_:
    case method::options:
    case method::trace:
        return true;
    default:
        return false;
    }
}

constexpr bool is_redirect(int status) noexcept {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/// What a request sent on a pooled connection the server had already closed runs into,
/// before a single response byte: the only failures it is safe to retry.
bool is_stale_connection(std::error_code error, std::uint64_t response_bytes) noexcept {
    return response_bytes == 0 &&
           (error == client_error::head_truncated || error == std::errc::connection_reset ||
            error == std::errc::broken_pipe);
}

struct serialized_head {
    std::string text;
    bool close = false; ///< the request asks for the connection to close after it
};

/// The request head. `absolute` sends the target in absolute form, as a proxy needs it.
serialized_head serialize(method m, const url& target, const headers& fields, std::size_t body_size,
                          std::string_view user_agent, bool absolute, int version_minor) {
    serialized_head head;
    auto out = std::back_inserter(head.text);
    fmt::format_to(out, "{} {} HTTP/1.{}\r\n", to_string(m),
                   absolute ? target.to_string() : target.target(), version_minor == 0 ? 0 : 1);
    // An HTTP/1.0 request without "Connection: keep-alive" ends its connection.
    head.close = version_minor == 0;
    if (!fields.contains("Host")) fmt::format_to(out, "Host: {}\r\n", target.authority());
    if (!user_agent.empty() && !fields.contains("User-Agent"))
        fmt::format_to(out, "User-Agent: {}\r\n", user_agent);
    for (const header_field field : fields) {
        // The body's framing is the client's to state; a second one could smuggle.
        if (iequals(field.name, "Content-Length") || iequals(field.name, "Transfer-Encoding"))
            continue;
        if (iequals(field.name, "Connection") && has_close_option(field.value)) head.close = true;
        fmt::format_to(out, "{}: {}\r\n", field.name, field.value);
    }
    if (body_size > 0 || m == method::post || m == method::put || m == method::patch)
        fmt::format_to(out, "Content-Length: {}\r\n", body_size);
    head.text.append("\r\n");
    return head;
}

/// Runs `t` under `deadline`: past it, the operation in flight is cancelled and the
/// outcome is std::errc::timed_out.
template <typename T>
task<result<T>> bounded(std::optional<io::clock::time_point> deadline, task<result<T>> t) {
    if (!deadline) co_return co_await std::move(t);
    const auto left = *deadline - io::clock::now();
    if (left <= io::clock::duration::zero()) co_return std::make_error_code(std::errc::timed_out);
    co_return co_await with_timeout(std::move(t), left);
}

void copy_fields(header_list from, headers& to) {
    for (const header_field& field : from) to.add(field.name, field.value);
}

} // namespace

// ---------------------------------------------------------------------------------------
// response_stream

response_stream::response_stream(detail::pool_lease lease,
                                 std::optional<io::clock::time_point> deadline)
    : lease_(std::move(lease))
    , deadline_(deadline)
    , head_at_(io::event_loop::current().now()) {
    const response_head& head = lease_.connection()->head();
    status_ = head.status;
    version_minor_ = head.version_minor;
    reason_ = head.reason;
    copy_fields(head.headers(), headers_);
    if (head.body.kind == body_kind::content_length) content_length_ = head.body.content_length;
    if (lease_.connection()->body_done()) {
        done_ = true;
        // An upgraded connection is not the pool's any more: take_upgraded() takes it out.
        if (!lease_.connection()->upgraded()) lease_.release(true);
    }
}

response_stream::response_stream(response_stream&&) noexcept = default;
response_stream& response_stream::operator=(response_stream&&) noexcept = default;
response_stream::~response_stream() = default;

task<result<std::string_view>> response_stream::next_chunk() {
    if (error_) co_return error_;
    if (done_) co_return std::string_view{};
    detail::client_connection& connection = *lease_.connection();
    auto chunk = co_await bounded(deadline_, connection.read_body());
    if (!chunk) {
        error_ = chunk.error();
        timings_.failed_in = "body";
        lease_.release(false);
        co_return error_;
    }
    if (chunk->empty()) {
        done_ = true;
        timings_.body = io::event_loop::current().now() - head_at_;
        copy_fields(connection.trailers(), trailers_);
        lease_.release(true);
    }
    body_bytes_ += chunk->size();
    co_return chunk;
}

result<switched_connection> response_stream::take_upgraded() {
    detail::client_connection* connection = lease_.connection();
    if (status_ != 101 || connection == nullptr || !connection->upgraded())
        return std::errc::invalid_argument;
    switched_connection taken;
    taken.stream = connection->take_stream();
    taken.received = connection->take_buffered();
    lease_.release(false); // frees the pool's slot; the connection object is empty now
    return taken;
}

task<result<client_response>> response_stream::read_all(std::uint64_t max_body_bytes) {
    client_response r;
    if (content_length_) {
        if (*content_length_ > max_body_bytes) {
            error_ = make_error_code(errc::body_too_large);
            lease_.release(false);
            co_return error_;
        }
        r.body.reserve(static_cast<std::size_t>(*content_length_));
    }
    for (;;) {
        auto chunk = co_await next_chunk();
        if (!chunk) co_return chunk.error();
        if (chunk->empty()) break;
        if (r.body.size() + chunk->size() > max_body_bytes) {
            error_ = make_error_code(errc::body_too_large);
            lease_.release(false);
            co_return error_;
        }
        r.body.append(*chunk);
    }
    r.status = status_;
    r.reason = std::move(reason_);
    r.version_minor = version_minor_;
    r.headers = std::move(headers_);
    r.trailers = std::move(trailers_);
    r.url = std::move(url_);
    r.redirects = redirects_;
    r.timings = timings_;
    co_return r;
}

// ---------------------------------------------------------------------------------------
// client

client::client(client_options options)
    : options_(std::move(options))
    , connection_limits_(options_.limits)
    , pool_({.max_per_host = std::max<std::size_t>(options_.max_connections_per_host, 1),
             .idle_timeout = options_.idle_timeout}) {
    connection_limits_.max_body_bytes = std::numeric_limits<std::size_t>::max();
}

client::~client() = default;

std::size_t client::idle_connections() const noexcept {
    return pool_.idle_connections();
}

std::size_t client::active_connections() const noexcept {
    return pool_.leased();
}

result<const net::tls_context*> client::tls_context() {
    if (!tls_) {
        auto made = net::tls_context::client(options_.tls);
        if (!made) return made.error();
        tls_ = std::move(*made);
    }
    return &*tls_;
}

task<result<client_response>> client::get(std::string url, request_options options) {
    return request(method::get, std::move(url), {}, {}, options);
}

task<result<client_response>> client::head(std::string url, request_options options) {
    return request(method::head, std::move(url), {}, {}, options);
}

task<result<client_response>> client::post(std::string url, std::string body, headers fields,
                                           request_options options) {
    return request(method::post, std::move(url), std::move(body), std::move(fields), options);
}

task<result<client_response>> client::request(method m, std::string url, std::string body,
                                              headers fields, request_options options) {
    auto stream =
        co_await open(m, std::move(url), std::move(body), std::move(fields), std::move(options));
    if (!stream) co_return stream.error();
    co_return co_await stream->read_all(options_.limits.max_body_bytes);
}

task<result<response_stream>> client::open(method m, std::string url, std::string body,
                                           headers fields, request_options options) {
    auto outcome = co_await open_traced(m, std::move(url), std::move(body), std::move(fields),
                                        std::move(options));
    co_return std::move(outcome.stream);
}

task<client::open_outcome> client::open_traced(method m, std::string url_text, std::string body,
                                               headers fields, request_options options) {
    if (m == method::connect || m == method::other)
        co_return open_outcome{client_error::unsupported_method, std::nullopt};
    time_limits limits;
    limits.connect_timeout = options.connect_timeout.value_or(options_.connect_timeout);
    limits.timeout = options.timeout ? options.timeout : options_.timeout;
    limits.queue_timeout = options.queue_timeout ? options.queue_timeout : options_.queue_timeout;
    // Set by the first hop once it has a connection slot: the wait for one is not the
    // request's time, since the caller chose how many may be in flight.
    std::optional<io::clock::time_point> deadline;

    auto target = url::parse(url_text);
    if (!target) co_return open_outcome{target.error(), std::nullopt, {}};
    for (int hop = 0;; ++hop) {
        request_timings timings;
        auto stream = co_await exchange(m, *target, fields, body, limits, deadline,
                                        options.version_minor, timings);
        if (!stream) co_return open_outcome{stream.error(), std::nullopt, std::move(timings)};
        stream->url_ = target->to_string();
        stream->redirects_ = hop;
        stream->timings_ = timings;
        const int status = stream->status();
        const auto location = stream->headers().get("Location");
        if (!options.follow_redirects || !is_redirect(status) || !location)
            co_return open_outcome{std::move(stream), status, std::move(timings)};
        if (hop >= options.max_redirects)
            co_return open_outcome{client_error::too_many_redirects, status, std::move(timings)};
        auto next = target->resolve(*location);
        if (!next) co_return open_outcome{next.error(), status, std::move(timings)};

        // Read the rest of a small redirect body so its connection returns to the pool (the
        // stream releases it at the end); a failure here only costs that connection.
        while (!stream->done() && stream->body_bytes() < max_drained_redirect_bytes) {
            auto chunk = co_await stream->next_chunk();
            if (!chunk) break;
        }

        // RFC 9110 §15.4: 303 turns into GET; so do 301 and 302 after POST, as every
        // browser does. 307 and 308 repeat the request as it was.
        if ((status == 303 && m != method::head) ||
            ((status == 301 || status == 302) && m == method::post)) {
            m = method::get;
            body.clear();
            fields.remove("Content-Type");
        }
        if (next->origin() != target->origin()) {
            // Credentials and the Host meant for one server are not forwarded to another.
            fields.remove("Authorization");
            fields.remove("Cookie");
            fields.remove("Host");
        }
        target = std::move(*next);
    }
}

task<result<response_stream>> client::exchange(method m, url target, const headers& fields,
                                               std::string_view body, const time_limits& limits,
                                               std::optional<io::clock::time_point>& deadline,
                                               int version_minor, request_timings& timings) {
    auto via = detail::proxy_for(options_.proxy, target);
    if (!via) co_return via.error();
    const detail::proxy_route* proxy = via->has_value() ? &**via : nullptr;
    // Plain requests through an HTTP proxy share its connections whatever their server; a
    // tunnel (CONNECT, SOCKS5) belongs to one server.
    const bool absolute = proxy != nullptr && proxy->kind == detail::proxy_route::protocol::http &&
                          !target.is_https();
    const std::string pool_key = proxy == nullptr ? target.origin()
                                 : absolute       ? proxy->key()
                                                  : proxy->key() + " " + target.origin();
    const serialized_head head =
        serialize(m, target, fields, body.size(), options_.user_agent, absolute, version_minor);
    io::event_loop& loop = io::event_loop::current();
    for (int attempt = 0;; ++attempt) {
        timings = request_timings{};
        // A retry takes a new connection: the pool may hold more the server has closed.
        const auto start = loop.now();
        timings.failed_in = "queue";
        std::optional<io::clock::time_point> queue_deadline = deadline;
        if (limits.queue_timeout) {
            const auto own = io::deadline_after(io::clock::now(), *limits.queue_timeout);
            if (!queue_deadline || own < *queue_deadline) queue_deadline = own;
        }
        auto lease = co_await bounded(queue_deadline, pool_.acquire(pool_key, attempt == 0));
        timings.queue = loop.now() - start;
        if (!lease) co_return lease.error();
        timings.failed_in = {};
        if (!deadline && limits.timeout)
            deadline = io::deadline_after(io::clock::now(), *limits.timeout);

        bool reused = false;
        auto outcome = co_await bounded(deadline, converse(*lease, target, proxy, head.text,
                                                           head.close, fields.contains("Upgrade"),
                                                           body, m, limits, timings, reused));
        if (!outcome) {
            // The server closed a pooled connection as we sent on it: retry once, when
            // the request may safely arrive twice and nothing of an answer was received.
            if (reused && attempt == 0 && is_idempotent(m) &&
                is_stale_connection(outcome.error(), lease->connection()->response_bytes()))
                continue;
            co_return outcome.error();
        }
        co_return response_stream(std::move(*lease), deadline);
    }
}

task<result<void>> client::converse(detail::pool_lease& lease, const url& target,
                                    const detail::proxy_route* proxy, std::string_view head,
                                    bool close_after, bool upgrade, std::string_view body, method m,
                                    const time_limits& limits, request_timings& timings,
                                    bool& reused) {
    io::event_loop& loop = io::event_loop::current();
    if (lease.connection() == nullptr) {
        const net::tls_context* tls = nullptr;
        if (target.is_https()) {
            auto context = tls_context();
            if (!context) co_return context.error();
            tls = *context;
        }
        // Each open awaited in a statement of its own, as GCC 12 wants.
        if (target.is_unix()) {
            auto opened = co_await detail::client_connection::open_unix(
                target.unix_socket(), limits.connect_timeout, connection_limits_, timings);
            if (!opened) co_return opened.error();
            lease.attach(std::move(*opened));
        } else {
            auto opened = co_await detail::client_connection::open(
                target.host(), target.port(), tls, limits.connect_timeout, connection_limits_,
                timings, proxy);
            if (!opened) co_return opened.error();
            lease.attach(std::move(*opened));
        }
    }
    detail::client_connection& connection = *lease.connection();
    reused = connection.requests() > 0;
    timings.reused_connection = reused;
    if (reused) {
        if (auto peer = connection.peer_address()) timings.remote = *peer;
    }
    if (close_after) connection.set_close_after_response();
    connection.set_upgrade_expected(upgrade);

    auto start = loop.now();
    timings.failed_in = "send";
    result<void> outcome = co_await connection.send(head, body);
    const auto sent_at = loop.now();
    timings.send = sent_at - start;
    if (!outcome) co_return outcome;
    timings.failed_in = "ttfb";
    outcome = co_await connection.read_head(m);
    timings.ttfb = loop.now() - sent_at;
    if (!outcome) co_return outcome;
    timings.failed_in = {};
    co_return result<void>{};
}

} // namespace snow::http
