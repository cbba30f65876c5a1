// snow/http/client/error.hpp: how a client request fails. The client returns precise error
// codes (a kernel errno, a response parse error, a URL error, or one of its own below);
// client_failure sorts every one of them into the nine classes a caller acts on:
//     if (r.error() == snow::http::client_failure::timeout) ...
#pragma once

#include <string_view>
#include <system_error>

#include "snow/core/export.hpp"

namespace snow::http {

/// Failures the client itself detects. Everything else keeps the code it came with: errno
/// values from the kernel (ECONNREFUSED, ECONNRESET…), http::errc from the response parser,
/// url_errc, snow::errc::resolve_failed, std::errc::timed_out.
enum class client_error {
    head_truncated = 1, ///< the connection ended before the response head was complete
    body_truncated,     ///< the connection ended before the response body was complete
    too_many_redirects, ///< more redirects than request_options::max_redirects
    unexpected_upgrade, ///< 101 Switching Protocols to a request that asked for no upgrade
    too_many_interim,   ///< more 1xx responses before the final one than the client accepts
    unsupported_method, ///< CONNECT or method::other: the client sends neither
    proxy_refused,      ///< the proxy answered CONNECT with something other than 2xx
    proxy_url,          ///< a proxy that is not an "http://host:port" URL
    no_unix_socket,     ///< an http+unix:// URL names a path where no socket is
};

/// The class of any error the client returns: an error_condition, so `==` with an
/// error_code tells whether the code belongs to the class.
enum class client_failure {
    timeout = 1, ///< the request's deadline or connect timeout passed (its I/O was cancelled)
    connect,     ///< no connection: refused, unreachable, no route (every address tried), no
                 ///< socket at an http+unix:// path
    dns,         ///< the host name did not resolve
    url,         ///< a request that cannot be sent: bad or unsupported URL (ftp:, bad port…)
    truncated,   ///< the server closed or reset the connection before the response ended
    protocol,    ///< a malformed response, or one over the head or body size limit
    redirects,   ///< too many redirects
    io,          ///< anything else: out of descriptors or memory, cancellation by the caller
    tls,         ///< the TLS handshake failed or the server's certificate was refused
};

/// The error category of client_error.
SNOW_API const std::error_category& client_error_category() noexcept;
/// The category of the client_failure conditions; it maps every error the client returns
/// to its class.
SNOW_API const std::error_category& client_failure_category() noexcept;

/// `e` as a std::error_code in client_error_category().
inline std::error_code make_error_code(client_error e) noexcept {
    return {static_cast<int>(e), client_error_category()};
}
/// `e` as a std::error_condition, so `error == client_failure::timeout` classifies an error.
inline std::error_condition make_error_condition(client_failure e) noexcept {
    return {static_cast<int>(e), client_failure_category()};
}

/// The class `error` belongs to; io for a code the client does not know. `error` must be
/// an error (not the empty code).
SNOW_API client_failure classify(std::error_code error) noexcept;

/// "timeout", "connect", "dns", "url", "truncated", "protocol", "redirects", "io", "tls".
SNOW_API std::string_view to_string(client_failure e) noexcept;

} // namespace snow::http

template <>
struct std::is_error_code_enum<snow::http::client_error> : std::true_type {};
template <>
struct std::is_error_condition_enum<snow::http::client_failure> : std::true_type {};
