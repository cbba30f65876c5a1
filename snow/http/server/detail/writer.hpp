// snow/http/server/detail/writer.hpp: serialises a response head (and a held body) into the
// connection's output buffer, adding what the server owes every response: Date, Content-Length or
// Transfer-Encoding, and Connection when the connection will close.
#pragma once

#include <string>

#include "snow/http/server/response.hpp"

namespace snow::http {

struct write_context {
    int version_minor = 1;     ///< of the request being answered
    bool head_request = false; ///< HEAD: Content-Length as for GET, no body bytes
    bool keep_alive = true;    ///< false: add "Connection: close"
};

/// True if a response with this status carries no body (1xx, 204, 304).
constexpr bool status_forbids_body(int status) noexcept {
    return (status >= 100 && status < 200) || status == 204 || status == 304;
}

/// Appends the status line and header section of `r` to `out`. For a streamed response on
/// HTTP/1.1 this announces chunked encoding; on HTTP/1.0 the body runs until close.
void write_head(std::string& out, const response& r, const write_context& context);

/// Appends head and held body.
void write_response(std::string& out, const response& r, const write_context& context);

/// True if the user's headers ask to close the connection.
bool wants_close(const response& r) noexcept;

} // namespace snow::http
