// snow/http/server/response.hpp: what a handler returns: status, headers, cookies and a body that
// is either held whole or streamed with chunked encoding. Helpers build the common ones.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "snow/core/result.hpp"
#include "snow/core/task.hpp"
#include "snow/http/headers.hpp"

namespace snow::http {

/// A Set-Cookie value (RFC 6265 §4.1).
struct cookie {
    enum class same_site_policy { unset, strict, lax, none };

    std::string name;
    std::string value;
    std::string path;
    std::string domain;
    std::optional<std::chrono::seconds> max_age;
    bool secure = false;
    bool http_only = false;
    same_site_policy same_site = same_site_policy::unset;

    /// "name=value; Path=/; Max-Age=60; Secure; HttpOnly; SameSite=Lax"
    std::string to_string() const;
};

/// Writes the chunks of a streamed body; each write goes out as one chunk at once.
class body_writer {
public:
    virtual ~body_writer() = default;
    /// Sends `data` as one chunk (nothing for empty data). Errors: the connection's.
    virtual task<result<void>> write(std::string_view data) = 0;
};

struct response {
    int status = 200;
    http::headers headers;
    std::string body;
    /// When set, the body is produced by this function, written with chunked encoding
    /// (or until close for an HTTP/1.0 client), and `body` is ignored.
    std::function<task<result<void>>(body_writer&)> stream;

    response& header(std::string_view name, std::string_view value) {
        headers.add(name, value);
        return *this;
    }
    response& set_cookie(const cookie& c) {
        headers.add("Set-Cookie", c.to_string());
        return *this;
    }
};

/// text/plain; charset=utf-8
response text(std::string body, int status = 200);
/// text/html; charset=utf-8
response html(std::string body, int status = 200);
/// application/json (the body is sent as given).
response json(std::string body, int status = 200);
/// A redirect to `location` (302 Found by default; 301, 303, 307, 308 also fit).
response redirect(std::string_view location, int status = 302);
/// A status with its reason phrase as a text body ("404 Not Found").
response status_page(int status);

} // namespace snow::http
