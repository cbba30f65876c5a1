// snow/http/url.hpp: absolute http URLs for the client: parsed into what a request needs
// (host, port or Unix socket path, request-target, Host value) and resolved against a Location
// for redirects.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

#include "snow/core/export.hpp"
#include "snow/core/result.hpp"

namespace snow::http {

/// Why a URL was refused. All of them are client_failure::url to the client.
enum class url_errc {
    not_absolute = 1,   ///< no "scheme://" in front (snow needs absolute URLs)
    unsupported_scheme, ///< a scheme other than http, https and http+unix
    userinfo,           ///< "user:password@host": credentials in URLs are not supported
    invalid_host,       ///< an empty host, a character no host may hold, a bad IPv6 literal,
                        ///< a Unix socket path that is empty, too long or holds a NUL
    invalid_port,       ///< a port that is not decimal digits, is 0, or is above 65535
    invalid_character,  ///< a control character, or whitespace in the authority
};

/// The error category of url_errc.
SNOW_API const std::error_category& url_error_category() noexcept;

/// `e` as a std::error_code in url_error_category().
inline std::error_code make_error_code(url_errc e) noexcept {
    return {static_cast<int>(e), url_error_category()};
}

/// An absolute http, https or http+unix URL, owning its parts. The parts are normalised for the
/// wire: the host is percent-decoded and lower-cased, the target's dot segments are removed, every
/// byte that may not appear in a request-target (space, non-ASCII, `"<>\^`{|}[]`, a '%' that starts
/// no valid escape) is percent-encoded, valid escapes are kept as they are, and the fragment is
/// dropped.
class SNOW_API url {
public:
    /// Parses "http[s]://host[:port][/path][?query][#fragment]"; host is a name, dotted IPv4
    /// or a bracketed IPv6 literal. "http+unix://SOCKET[/path]…" names a Unix stream socket
    /// by its percent-encoded path (the convention of requests-unixsocket and others:
    /// "http+unix://%2Frun%2Fapp.sock/status"); its host is "localhost", for the Host field.
    /// Errors: url_errc.
    static result<url> parse(std::string_view text);

    /// The URL `reference` names when read relative to this one (RFC 3986 §5.2), as a
    /// Location header is: absolute ("http://other/x"), network-path ("//other/x"),
    /// path-absolute ("/x"), relative ("x", "../x", "?q") or empty. Errors: url_errc.
    result<url> resolve(std::string_view reference) const;

    /// Without brackets for IPv6 ("::1"), percent-decoded, lower-case.
    const std::string& host() const noexcept { return host_; }
    /// The port; 80 (http) or 443 (https) when the URL gives none.
    std::uint16_t port() const noexcept { return port_; }
    /// Whether the scheme is https.
    bool is_https() const noexcept { return https_; }
    /// Whether the scheme is http+unix: the server is at unix_socket(), not host and port.
    bool is_unix() const noexcept { return !unix_socket_.empty(); }
    /// The path of the Unix socket, decoded ("/run/app.sock"); empty unless is_unix().
    const std::string& unix_socket() const noexcept { return unix_socket_; }
    /// "http", "https" or "http+unix".
    std::string_view scheme() const noexcept {
        return is_unix() ? "http+unix" : https_ ? "https" : "http";
    }
    /// Whether the host is an IPv6 literal.
    bool is_ipv6() const noexcept { return ipv6_; }
    /// The request-target: path and query, never empty ("/" at least).
    const std::string& target() const noexcept { return target_; }
    /// The target up to '?' (still encoded), never empty.
    std::string_view path() const noexcept {
        return std::string_view(target_).substr(0, path_end_);
    }
    /// After '?' (still encoded); empty when there is none.
    std::string_view query() const noexcept {
        return path_end_ < target_.size() ? std::string_view(target_).substr(path_end_ + 1)
                                          : std::string_view{};
    }
    /// The Host field value: "host", "host:port" when the port is not the scheme's default,
    /// IPv6 in brackets.
    std::string authority() const;
    /// "host:port" always (IPv6 in brackets); for http+unix, the encoded socket path.
    std::string endpoint() const;
    /// "scheme://host:port" ("http+unix://ENCODED-PATH"): the key of the client's connection
    /// pool, so a plain and a TLS connection to one host never stand in for each other.
    std::string origin() const;
    /// "scheme://authority/target"; for http+unix, "http+unix://ENCODED-PATH/target".
    std::string to_string() const;

    /// Component-wise equality of the normalized URLs.
    friend bool operator==(const url&, const url&) = default;

private:
    std::string host_;
    std::string target_;
    std::string unix_socket_; // decoded; empty for http and https
    std::size_t path_end_ = 1;
    std::uint16_t port_ = 80;
    bool ipv6_ = false;
    bool https_ = false;
};

} // namespace snow::http

template <>
struct std::is_error_code_enum<snow::http::url_errc> : std::true_type {};
