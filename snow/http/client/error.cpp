// snow/http/client/errc.cpp: the client's error categories and the table that sorts every
// error it can return into a client_errc class.
#include "snow/http/client/errc.hpp"

#include <cerrno>
#include <string>

#include "snow/core/error.hpp"
#include "snow/http/errc.hpp"
#include "snow/http/url.hpp"

namespace snow::http {
namespace {

class error_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "snow.http.client"; }
    std::string message(int value) const override {
        switch (static_cast<client_error>(value)) {
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
        }
        return "HTTP client error";
    }
};

class class_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "snow.http.client_class"; }
    std::string message(int value) const override {
        switch (static_cast<client_errc>(value)) {
        case client_errc::timeout:
            return "the request timed out";
        case client_errc::connect:
            return "could not connect to the server";
        case client_errc::dns:
            return "the host name could not be resolved";
        case client_errc::url:
            return "malformed or unsupported URL";
        case client_errc::truncated:
            return "the connection ended before the response was complete";
        case client_errc::protocol:
            return "malformed or oversized response";
        case client_errc::redirects:
            return "too many redirects";
        case client_errc::io:
            return "I/O error";
        }
        return "HTTP client error";
    }
    bool equivalent(const std::error_code& code, int condition) const noexcept override {
        return code && static_cast<int>(classify(code)) == condition;
    }
};

client_errc classify_errno(int value) noexcept {
    switch (value) {
    case ETIMEDOUT:
        return client_errc::timeout;
    case ECONNREFUSED:
    case ENETUNREACH:
    case EHOSTUNREACH:
    case EHOSTDOWN:
    case ENETDOWN:
    case EADDRNOTAVAIL:
    case EAFNOSUPPORT:
        return client_errc::connect;
    // After the handshake these mean the peer went away mid-exchange; during connect the
    // client reports them as ECONNREFUSED instead (see client_connection.cpp).
    case ECONNRESET:
    case ECONNABORTED:
    case EPIPE:
        return client_errc::truncated;
    default:
        return client_errc::io;
    }
}

} // namespace

const std::error_category& client_error_category() noexcept {
    static const error_category_impl instance;
    return instance;
}

const std::error_category& client_errc_category() noexcept {
    static const class_category instance;
    return instance;
}

client_errc classify(std::error_code error) noexcept {
    const auto& category = error.category();
    const int value = error.value();
    if (category == client_error_category()) {
        switch (static_cast<client_error>(value)) {
        case client_error::head_truncated:
        case client_error::body_truncated:
            return client_errc::truncated;
        case client_error::too_many_redirects:
            return client_errc::redirects;
        case client_error::unexpected_upgrade:
        case client_error::too_many_interim:
            return client_errc::protocol;
        case client_error::unsupported_method:
            return client_errc::url;
        }
        return client_errc::io;
    }
    if (category == url_error_category()) return client_errc::url;
    if (category == http::error_category())
        return static_cast<errc>(value) == errc::unexpected_eof ? client_errc::truncated
                                                                : client_errc::protocol;
    if (category == snow::error_category()) {
        switch (static_cast<snow::errc>(value)) {
        case snow::errc::resolve_failed:
            return client_errc::dns;
        case snow::errc::invalid_address:
            return client_errc::url;
        case snow::errc::eof:
            return client_errc::truncated;
        case snow::errc::message_too_long:
            return client_errc::protocol;
        default:
            return client_errc::io;
        }
    }
    if (category == std::system_category() || category == std::generic_category())
        return classify_errno(value);
    return client_errc::io;
}

std::string_view to_string(client_errc e) noexcept {
    switch (e) {
    case client_errc::timeout:
        return "timeout";
    case client_errc::connect:
        return "connect";
    case client_errc::dns:
        return "dns";
    case client_errc::url:
        return "url";
    case client_errc::truncated:
        return "truncated";
    case client_errc::protocol:
        return "protocol";
    case client_errc::redirects:
        return "redirects";
    case client_errc::io:
        return "io";
    }
    return "io";
}

} // namespace snow::http
