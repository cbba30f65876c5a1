// snow/http/errc.hpp: why an HTTP message was rejected, as a std::error_code category "http",
// and which status a server answers for each reason (the parser's errors travel as values).
#pragma once

#include <system_error>

#include "snow/core/export.hpp"

namespace snow::http {

/// Protocol errors found while parsing a request or response. Each names the rule of
/// RFC 9112 / RFC 9110 that was broken; status_for() gives the answer a server sends.
enum class errc {
    // Request line (RFC 9112 §3).
    malformed_request_line = 1, ///< not `method SP target SP version CRLF`
    invalid_method,             ///< the method is not a token
    invalid_target,             ///< bad character, bad percent-escape, or wrong form for the method
    uri_too_long,               ///< the request-target exceeds parser_limits::max_target_bytes
    invalid_version,            ///< not `HTTP/DIGIT.DIGIT`
    unsupported_version,        ///< a major version other than 1

    // Lines and fields (RFC 9112 §2.2, §5).
    bare_carriage_return,    ///< a CR not followed by LF
    bare_line_feed,          ///< an LF without CR (accepted only with parser_leniency::bare_lf)
    invalid_header_name,     ///< a field name that is empty or not a token, or a line without ':'
    invalid_header_value,    ///< NUL, DEL or another control character in a field value
    obs_fold,                ///< a field line (or the first one) starting with whitespace
    whitespace_before_colon, ///< whitespace between the field name and ':'
    header_too_large,        ///< the head (or trailer section) exceeds max_header_bytes
    too_many_headers,        ///< more field lines than max_headers

    // Host (RFC 9112 §3.2).
    missing_host,   ///< an HTTP/1.1 request without Host
    duplicate_host, ///< more than one Host field line
    invalid_host,   ///< a Host that is not `uri-host [":" port]`

    // Message body framing (RFC 9112 §6).
    invalid_content_length,                ///< Content-Length that is not digits or overflows
    conflicting_content_length,            ///< Content-Length values that differ
    content_length_with_transfer_encoding, ///< both framings at once: a smuggling attempt
    invalid_transfer_encoding,             ///< an empty or malformed coding list, or chunked twice
    chunked_not_final,                     ///< a request whose last transfer coding is not chunked
    transfer_encoding_in_http10,           ///< Transfer-Encoding in an HTTP/1.0 message
    unsupported_transfer_coding,           ///< a transfer coding other than chunked
    body_too_large,                        ///< the body exceeds max_body_bytes

    // Chunked transfer coding (RFC 9112 §7.1).
    invalid_chunk_size,        ///< a chunk size that is missing or not hexadecimal
    chunk_size_overflow,       ///< a chunk size that does not fit in 64 bits
    malformed_chunk,           ///< a bad chunk extension or no CRLF after the chunk data
    chunk_extension_too_large, ///< chunk extensions exceed max_header_bytes in one body

    // Response side, for the client (RFC 9112 §4).
    malformed_status_line, ///< not `version SP 3DIGIT [SP reason] CRLF`
    invalid_status_code,   ///< a status code outside 100..599

    unexpected_eof, ///< the connection closed before the message was complete
};

/// The "http" error category.
SNOW_API const std::error_category& error_category() noexcept;

/// `e` as a std::error_code in the "http" category.
inline std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), error_category()};
}

/// The status a server answers when a request fails with `e`: 400 for most, 413, 414, 431,
/// 501 or 505 where RFC 9112 names one. Errors only a response can produce map to 502, the
/// answer of a gateway whose upstream sent garbage.
SNOW_API int status_for(errc e) noexcept;

} // namespace snow::http

template <>
struct std::is_error_code_enum<snow::http::errc> : std::true_type {};
