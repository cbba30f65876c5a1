// snow/http/server/response.hpp: what a handler returns: status, headers, cookies and a body that
// is either held whole or streamed with chunked encoding. Helpers build the common ones.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "snow/core/cancel.hpp"
#include "snow/core/export.hpp"
#include "snow/core/result.hpp"
#include "snow/core/task.hpp"
#include "snow/http/headers.hpp"

namespace snow::io {
class buffer_pool;
}
namespace snow::net {
class stream;
class receive_buffer;
} // namespace snow::net

namespace snow::http {

/// A Set-Cookie value (RFC 6265 §4.1).
struct SNOW_API cookie {
    /// The SameSite attribute; `unset` sends none.
    enum class same_site_policy { unset, strict, lax, none };

    /// The cookie's name, a token.
    std::string name;
    /// The cookie's value, sent as given.
    std::string value;
    /// The Path attribute; empty sends none.
    std::string path;
    /// The Domain attribute; empty sends none.
    std::string domain;
    /// The Max-Age attribute; none sends none (a session cookie).
    std::optional<std::chrono::seconds> max_age;
    /// Send the Secure attribute.
    bool secure = false;
    /// Send the HttpOnly attribute.
    bool http_only = false;
    /// The SameSite attribute.
    same_site_policy same_site = same_site_policy::unset;

    /// "name=value; Path=/; Max-Age=60; Secure; HttpOnly; SameSite=Lax"
    std::string to_string() const;
};

/// Writes the chunks of a streamed body; each write goes out as one chunk at once.
class body_writer {
public:
    virtual ~body_writer() = default;
    /// Sends `data` as one chunk (nothing for empty data), within the server's write_timeout.
    /// Errors: the connection's.
    virtual task<result<void>> write(std::string_view data) = 0;
    /// For a body that may stay idle for long (an event stream): from this call until the
    /// body ends, a receive stays in flight on the connection, so that a client that leaves
    /// is noticed while nothing is written. Returns the source requested then (the client's
    /// end of stream, or a reset); null where the writer cannot tell. Bytes the client sends
    /// meanwhile are kept for its next request. A second call returns the same source.
    virtual cancel_source* watch_client() { return nullptr; }
    /// Requested when the server begins a graceful stop while the body streams, so that a
    /// body that would never end on its own can finish; null where there is none.
    virtual cancel_source* server_stopping() noexcept { return nullptr; }
};

/// What a response that takes over its connection (an upgrade to another protocol, status
/// 101) is handed once its head has gone out. All of it belongs to the connection, which
/// closes when the upgrade function returns.
struct upgraded_connection {
    /// The connection, full duplex: one task may receive while another sends.
    net::stream& stream;
    /// Bytes the client sent after the request's head, already received: the new protocol's
    /// first bytes, never lost. Receive more into it, or on the stream.
    net::receive_buffer& input;
    /// The loop's provided buffers, so that a wait for input holds no buffer of its own; null
    /// over TLS (whose session decrypts into the caller's buffer) or without a pool.
    io::buffer_pool* pool;
    /// The connection's scope, which the upgrade function's task is bound to: requested at a
    /// hard stop (the drain deadline), cancelling whatever the connection does.
    cancel_source& io_scope;
    /// Requested when the server begins a graceful stop (already, if it had begun): the
    /// protocol should end cleanly, before the drain deadline.
    cancel_source& stopping;
};

/// What a handler returns: a status, header fields and a body, or a function that streams
/// the body. The server adds Date, Content-Length (or chunked framing) and Connection; the
/// helpers text(), html(), json(), redirect() and status_page() make common ones.
struct response {
    /// The status code; the server sends its standard reason phrase.
    int status = 200;
    /// Header fields, sent as given before the ones the server adds. Content-Length,
    /// Transfer-Encoding and Connection here are left out, since the server frames the body
    /// and decides persistence (a `Connection: close` still closes the connection after
    /// this response); a Date here replaces the server's.
    http::headers headers;
    /// The whole body. Not sent when `stream` is set, in answer to HEAD (its length still
    /// is), or with a status that has none (1xx, 204, 304).
    std::string body;
    /// When set, the body is produced by this function, written with chunked encoding
    /// (or until close for an HTTP/1.0 client), and `body` is ignored.
    std::function<task<result<void>>(body_writer&)> stream;
    /// With status 101 (Switching Protocols): the server sends the head with `Connection:
    /// Upgrade` (the handler adds Upgrade and the new protocol's fields), then hands the
    /// connection to this function, and closes it when the function returns. `body` and
    /// `stream` are ignored. websocket_response() makes one.
    std::function<task<void>(upgraded_connection&)> upgrade;

    /// Adds a header field; returns the response for chaining.
    response& header(std::string_view name, std::string_view value) {
        headers.add(name, value);
        return *this;
    }
    /// Adds a Set-Cookie field for `c`; returns the response for chaining.
    response& set_cookie(const cookie& c) {
        headers.add("Set-Cookie", c.to_string());
        return *this;
    }
};

/// text/plain; charset=utf-8
SNOW_API response text(std::string body, int status = 200);
/// text/html; charset=utf-8
SNOW_API response html(std::string body, int status = 200);
/// application/json (the body is sent as given).
SNOW_API response json(std::string body, int status = 200);
/// A redirect to `location` (302 Found by default; 301, 303, 307, 308 also fit).
SNOW_API response redirect(std::string_view location, int status = 302);
/// A status with its reason phrase as a text body ("404 Not Found").
SNOW_API response status_page(int status);

} // namespace snow::http
