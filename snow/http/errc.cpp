// snow/http/errc.cpp: messages for snow::http::errc and the status each maps to.
#include "snow/http/errc.hpp"

#include <string_view>

#include "snow/core/error.hpp"

namespace snow::http {
namespace {

std::string_view message_for(errc e) noexcept {
    switch (e) {
    case errc::malformed_request_line:
        return "malformed request line";
    case errc::invalid_method:
        return "invalid method";
    case errc::invalid_target:
        return "invalid request target";
    case errc::uri_too_long:
        return "request target too long";
    case errc::invalid_version:
        return "invalid HTTP version";
    case errc::unsupported_version:
        return "unsupported HTTP major version";
    case errc::bare_carriage_return:
        return "CR not followed by LF";
    case errc::bare_line_feed:
        return "LF without CR";
    case errc::invalid_header_name:
        return "invalid header field name";
    case errc::invalid_header_value:
        return "invalid character in header field value";
    case errc::obs_fold:
        return "obsolete line folding";
    case errc::whitespace_before_colon:
        return "whitespace between header name and colon";
    case errc::header_too_large:
        return "header section too large";
    case errc::too_many_headers:
        return "too many header fields";
    case errc::missing_host:
        return "HTTP/1.1 request without Host";
    case errc::duplicate_host:
        return "more than one Host header";
    case errc::invalid_host:
        return "invalid Host header";
    case errc::invalid_content_length:
        return "invalid Content-Length";
    case errc::conflicting_content_length:
        return "conflicting Content-Length values";
    case errc::content_length_with_transfer_encoding:
        return "both Content-Length and Transfer-Encoding";
    case errc::invalid_transfer_encoding:
        return "invalid Transfer-Encoding";
    case errc::chunked_not_final:
        return "chunked is not the final transfer coding";
    case errc::transfer_encoding_in_http10:
        return "Transfer-Encoding in an HTTP/1.0 message";
    case errc::unsupported_transfer_coding:
        return "unsupported transfer coding";
    case errc::body_too_large:
        return "message body too large";
    case errc::invalid_chunk_size:
        return "invalid chunk size";
    case errc::chunk_size_overflow:
        return "chunk size overflows";
    case errc::malformed_chunk:
        return "malformed chunk";
    case errc::chunk_extension_too_large:
        return "chunk extensions too large";
    case errc::malformed_status_line:
        return "malformed status line";
    case errc::invalid_status_code:
        return "invalid status code";
    case errc::unexpected_eof:
        return "connection closed before the message was complete";
    }
    return "unknown http error";
}

class category final : public enum_category<errc> {
public:
    category() noexcept : enum_category("http", message_for) {}
    std::error_condition default_error_condition(int value) const noexcept override {
        // Lets callers test `ec == std::errc::message_size` without knowing the http enum.
        switch (static_cast<errc>(value)) {
        case errc::uri_too_long:
        case errc::header_too_large:
        case errc::too_many_headers:
        case errc::body_too_large:
        case errc::chunk_extension_too_large:
            return std::errc::message_size;
        default:
            return std::errc::bad_message;
        }
    }
};

} // namespace

const std::error_category& error_category() noexcept {
    static const category instance;
    return instance;
}

int status_for(errc e) noexcept {
    switch (e) {
    case errc::uri_too_long:
        return 414;
    case errc::header_too_large:
    case errc::too_many_headers:
        return 431;
    case errc::body_too_large:
        return 413;
    case errc::unsupported_transfer_coding:
        return 501;
    case errc::unsupported_version:
        return 505;
    case errc::malformed_status_line:
    case errc::invalid_status_code:
        return 502;
    default:
        return 400;
    }
}

} // namespace snow::http
