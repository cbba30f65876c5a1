// snow/http/status.hpp: response status codes (RFC 9110 §15, plus RFC 6585's 428/429/431)
// and their reason phrases, for the writer and for mapping parse errors to answers.
#pragma once

#include <string_view>

#include "snow/core/export.hpp"

namespace snow::http {

/// Named status codes; any int in 100..599 is a valid status, named or not.
enum class status : int {
    continue_ = 100,
    switching_protocols = 101,

    ok = 200,
    created = 201,
    accepted = 202,
    non_authoritative_information = 203,
    no_content = 204,
    reset_content = 205,
    partial_content = 206,

    multiple_choices = 300,
    moved_permanently = 301,
    found = 302,
    see_other = 303,
    not_modified = 304,
    use_proxy = 305,
    temporary_redirect = 307,
    permanent_redirect = 308,

    bad_request = 400,
    unauthorized = 401,
    payment_required = 402,
    forbidden = 403,
    not_found = 404,
    method_not_allowed = 405,
    not_acceptable = 406,
    proxy_authentication_required = 407,
    request_timeout = 408,
    conflict = 409,
    gone = 410,
    length_required = 411,
    precondition_failed = 412,
    content_too_large = 413,
    uri_too_long = 414,
    unsupported_media_type = 415,
    range_not_satisfiable = 416,
    expectation_failed = 417,
    misdirected_request = 421,
    unprocessable_content = 422,
    upgrade_required = 426,
    precondition_required = 428,
    too_many_requests = 429,
    request_header_fields_too_large = 431,

    internal_server_error = 500,
    not_implemented = 501,
    bad_gateway = 502,
    service_unavailable = 503,
    gateway_timeout = 504,
    http_version_not_supported = 505,
};

/// The registered reason phrase for `code` ("Not Found"); empty for an unregistered code,
/// which a response may still carry ("HTTP/1.1 599 \r\n" is valid).
SNOW_API std::string_view reason_phrase(int code) noexcept;

/// The registered reason phrase of `code`.
inline std::string_view reason_phrase(status code) noexcept {
    return reason_phrase(static_cast<int>(code));
}

} // namespace snow::http
