// snow/http/response_parser.cpp: response heads for the client (RFC 9112 §4, §6.3): the status
// line, and how the request method and status decide where the body ends.
#include "snow/http/parser.hpp"

#include "snow/http/detail/head_parser.hpp"
#include "snow/http/grammar.hpp"

namespace snow::http {

using namespace detail;

namespace {

int parse_status_line(const char* buf, const char* end, head_progress& s,
                      const parser_leniency& leniency) {
    const char* p = buf + s.pos;
    switch (s.stage) {
    case st_begin:
        s.stage = st_status_line;
        [[fallthrough]];
    case st_status_line:
        // "HTTP/d.d SP ddd": fixed width, so each byte is checked against its column.
        for (; p < end && p - buf < 12; ++p) {
            const auto i = p - buf;
            if (i < 8) {
                const bool ok = i < 5 ? *p == "HTTP/"[i] : i == 6 ? *p == '.' : is_digit(*p);
                if (!ok) return step_fail(errc::invalid_version);
            } else if (i == 8) {
                if (*p != ' ') return step_fail(errc::malformed_status_line);
            } else if (!is_digit(*p)) {
                return step_fail(errc::invalid_status_code);
            }
        }
        if (p - buf < 12) goto more;
        s.stage = st_status_end;
        [[fallthrough]];
    case st_status_end:
        if (p == end) goto more;
        if (*p == ' ') {
            ++p;
            s.line0 = offset_of(p, buf);
            s.stage = st_reason;
        } else if (*p == '\r' || *p == '\n') {
            // No reason phrase and no SP before it: not the RFC 9112 grammar, but sent by
            // enough servers that every client accepts it.
            s.line0 = s.line1 = offset_of(p, buf);
            if (int r = skip_line_end(p, end, leniency); r != step_done) {
                if (r == step_more) goto more;
                return r;
            }
            s.pos = offset_of(p, buf);
            return step_done;
        } else {
            return step_fail(is_digit(*p) ? errc::invalid_status_code
                                          : errc::malformed_status_line);
        }
        [[fallthrough]];
    case st_reason: {
        p = skip_field_text(p, end);
        if (p == end) goto more;
        const char* const reason_end = p;
        if (*p != '\r' && *p != '\n') return step_fail(errc::malformed_status_line);
        if (int r = skip_line_end(p, end, leniency); r != step_done) {
            if (r == step_more) goto more;
            return r;
        }
        s.line1 = offset_of(reason_end, buf);
        s.pos = offset_of(p, buf);
        return step_done;
    }
    default:
        break;
    }
    assert(false && "status line stage out of range");
more:
    s.pos = offset_of(p, buf);
    return step_more;
}

int finish_response(response_head& head, const head_progress& s, http::method request_method,
                    const parser_limits& limits) {
    const bool http11 = head.version_minor == 1;
    const int code = head.status;
    head.keep_alive = !s.connection_close && (http11 || s.connection_keep_alive);
    head.body = {};
    // RFC 9112 §6.3 rules 1-2: these responses end at their head whatever the fields say.
    if (request_method == method::head || code < 200 || code == 204 || code == 304 ||
        (request_method == method::connect && code < 300))
        return step_done;
    if (s.has_transfer_encoding) {
        if (!http11) return step_fail(errc::transfer_encoding_in_http10);
        if (s.has_content_length) return step_fail(errc::content_length_with_transfer_encoding);
        if (s.chunked_twice) return step_fail(errc::invalid_transfer_encoding);
        if (s.chunked_last && !s.chunked_not_last) {
            // Codings before chunked (gzip) are left for the caller, as Content-Encoding is.
            head.body = {body_kind::chunked, 0};
        } else {
            head.body = {body_kind::until_close, 0};
            head.keep_alive = false;
        }
    } else if (s.has_content_length) {
        if (s.content_length > limits.max_body_bytes) return step_fail(errc::body_too_large);
        head.body = {body_kind::content_length, s.content_length};
    } else {
        head.body = {body_kind::until_close, 0};
        head.keep_alive = false;
    }
    return step_done;
}

} // namespace

parse_result response_parser::parse(std::string_view buffer, response_head& head,
                                    http::method request_method) {
    auto& s = progress_;
    const char* const end = begin_head_call(s, buffer, head, limits_);
    const char* const buf = buffer.data();

    if (s.stage < st_line_start) {
        int r = parse_status_line(buf, end, s, leniency_);
        if (r == step_more) return head_incomplete(s, buffer, limits_);
        if (r != step_done) return head_failed(s, r);
        if (buf[5] != '1') return head_failed(s, step_fail(errc::unsupported_version));
        const int code = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
        if (code < 100 || code > 599) return head_failed(s, step_fail(errc::invalid_status_code));
        s.status = static_cast<std::uint16_t>(code);
        s.stage = st_line_start;
    }

    int r = parse_field_lines(buf, end, s, head.fields, limits_, leniency_, false);
    if (r == step_more) return head_incomplete(s, buffer, limits_);
    if (r != step_done) return head_failed(s, r);

    head.version_minor = buf[7] == '0' ? 0 : 1;
    head.status = s.status;
    head.reason = {buf + s.line0, s.line1 - s.line0};
    if (int e = finish_response(head, s, request_method, limits_); e != step_done)
        return head_failed(s, e);
    s.finished = true;
    return parse_result::done(s.pos);
}

} // namespace snow::http
