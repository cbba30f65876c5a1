// snow/http/client/error.cpp: the client's error categories and the table that sorts every
// error it can return into a client_failure class.
#include "snow/http/client/error.hpp"

#include <cerrno>
#include <string_view>

#include "snow/core/error.hpp"
#include "snow/http/errc.hpp"
#include "snow/http/url.hpp"
#include "snow/net/socks5.hpp"
#include "snow/net/tls_error.hpp"

namespace snow::http {
namespace {

std::string_view message_for(client_error e) noexcept {
    switch (e) {
    case client_error::head_truncated:
        return "the server closed the connection before the response head was complete";
    case client_error::body_truncated:
        return "the server closed the connection before the response body was complete";
    case client_error::too_many_redirects:
        return "too many redirects";
    case client_error::unexpected_upgrade:
        return "the server switched protocols without being asked to";
    case client_error::too_many_interim:
        return "too many 1xx responses before the final response";
    case client_error::unsupported_method:
        return "the client cannot send this method";
    case client_error::proxy_refused:
        return "the proxy refused to open a tunnel to the server";
    case client_error::proxy_url:
        return "the proxy is not an http://host:port URL";
    case client_error::no_unix_socket:
        return "no Unix socket at the path the http+unix:// URL names";
    }
    return "HTTP client error";
}

std::string_view message_for(client_failure e) noexcept {
    switch (e) {
    case client_failure::timeout:
        return "the request timed out";
    case client_failure::connect:
        return "could not connect to the server";
    case client_failure::dns:
        return "the host name could not be resolved";
    case client_failure::url:
        return "malformed or unsupported URL";
    case client_failure::truncated:
        return "the connection ended before the response was complete";
    case client_failure::protocol:
        return "malformed or oversized response";
    case client_failure::redirects:
        return "too many redirects";
    case client_failure::io:
        return "I/O error";
    case client_failure::tls:
        return "TLS handshake or certificate check failed";
    }
    return "HTTP client error";
}

/// client_failure is a condition: a code belongs to it when classify() puts it there.
class failure_category final : public enum_category<client_failure> {
public:
    failure_category() noexcept : enum_category("snow.http.client_class", message_for) {}
    bool equivalent(const std::error_code& code, int condition) const noexcept override {
        return code && static_cast<int>(classify(code)) == condition;
    }
};

client_failure classify_errno(int value) noexcept {
    switch (value) {
    case ETIMEDOUT:
        return client_failure::timeout;
    case ECONNREFUSED:
    case ENETUNREACH:
    case EHOSTUNREACH:
    case EHOSTDOWN:
    case ENETDOWN:
    case EADDRNOTAVAIL:
    case EAFNOSUPPORT:
        return client_failure::connect;
    // After the handshake these mean the peer went away mid-exchange; during connect the
    // client reports them as ECONNREFUSED instead (see client_connection.cpp).
    case ECONNRESET:
    case ECONNABORTED:
    case EPIPE:
        return client_failure::truncated;
    default:
        return client_failure::io;
    }
}

} // namespace

const std::error_category& client_error_category() noexcept {
    static const enum_category<client_error> instance("snow.http.client", message_for);
    return instance;
}

const std::error_category& client_failure_category() noexcept {
    static const failure_category instance;
    return instance;
}

client_failure classify(std::error_code error) noexcept {
    const auto& category = error.category();
    const int value = error.value();
    if (category == client_error_category()) {
        switch (static_cast<client_error>(value)) {
        case client_error::head_truncated:
        case client_error::body_truncated:
            return client_failure::truncated;
        case client_error::too_many_redirects:
            return client_failure::redirects;
        case client_error::unexpected_upgrade:
        case client_error::too_many_interim:
            return client_failure::protocol;
        case client_error::unsupported_method:
        case client_error::proxy_url:
            return client_failure::url;
        case client_error::proxy_refused:
        case client_error::no_unix_socket:
            return client_failure::connect;
        }
        return client_failure::io;
    }
    if (category == url_error_category()) return client_failure::url;
    if (category == net::socks5_category()) return client_failure::connect;
    if (net::is_tls_error(error))
        return error == net::tls_errc::truncated ? client_failure::truncated : client_failure::tls;
    if (category == http::error_category())
        return static_cast<errc>(value) == errc::unexpected_eof ? client_failure::truncated
                                                                : client_failure::protocol;
    if (category == snow::error_category()) {
        switch (static_cast<snow::errc>(value)) {
        case snow::errc::resolve_failed:
        case snow::errc::resolve_timeout:
            return client_failure::dns;
        case snow::errc::invalid_address:
            return client_failure::url;
        case snow::errc::eof:
            return client_failure::truncated;
        case snow::errc::message_too_long:
            return client_failure::protocol;
        default:
            return client_failure::io;
        }
    }
    if (category == std::system_category() || category == std::generic_category())
        return classify_errno(value);
    return client_failure::io;
}

std::string_view to_string(client_failure e) noexcept {
    switch (e) {
    case client_failure::timeout:
        return "timeout";
    case client_failure::connect:
        return "connect";
    case client_failure::dns:
        return "dns";
    case client_failure::url:
        return "url";
    case client_failure::truncated:
        return "truncated";
    case client_failure::protocol:
        return "protocol";
    case client_failure::redirects:
        return "redirects";
    case client_failure::io:
        return "io";
    case client_failure::tls:
        return "tls";
    }
    return "io";
}

} // namespace snow::http
