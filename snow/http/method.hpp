// snow/http/method.hpp: the request method as an enum, for routing and for the parser's
// framing rules (HEAD and CONNECT change what a response carries).
#pragma once

#include <string_view>

namespace snow::http {

/// The methods RFC 9110 §9 and RFC 5789 define; anything else is `other`, and the parsed
/// request keeps its spelling.
enum class method : unsigned char {
    get,
    head,
    post,
    put,
    delete_,
    connect,
    options,
    trace,
    patch,
    other,
};

/// The method named by `name`, compared case-sensitively as RFC 9110 §9.1 requires
/// ("get" is not GET); `other` for any other token.
constexpr method parse_method(std::string_view name) noexcept {
    // Dispatch on length first so each name costs at most one comparison.
    switch (name.size()) {
    case 3:
        if (name == "GET") return method::get;
        if (name == "PUT") return method::put;
        break;
    case 4:
        if (name == "POST") return method::post;
        if (name == "HEAD") return method::head;
        break;
    case 5:
        if (name == "PATCH") return method::patch;
        if (name == "TRACE") return method::trace;
        break;
    case 6:
        if (name == "DELETE") return method::delete_;
        break;
    case 7:
        if (name == "OPTIONS") return method::options;
        if (name == "CONNECT") return method::connect;
        break;
    default:
        break;
    }
    return method::other;
}

/// The method's name as sent on the wire; empty for `other`, whose spelling only the
/// parsed request knows.
constexpr std::string_view to_string(method m) noexcept {
    switch (m) {
    case method::get:
        return "GET";
    case method::head:
        return "HEAD";
    case method::post:
        return "POST";
    case method::put:
        return "PUT";
    case method::delete_:
        return "DELETE";
    case method::connect:
        return "CONNECT";
    case method::options:
        return "OPTIONS";
    case method::trace:
        return "TRACE";
    case method::patch:
        return "PATCH";
    case method::other:
        break;
    }
    return {};
}

} // namespace snow::http
