// snow/http/request_parser.cpp: request heads for the server (RFC 9112 §2-§6): the request line,
// the request-target's four forms, and the framing and persistence the fields decide.
#include "snow/http/parser.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>

#include "snow/http/detail/head_parser.hpp"
#include "snow/http/grammar.hpp"

namespace snow::http {

using namespace detail;

namespace {

// RFC 9112 §2.2 asks servers to skip "at least one" empty line before a request-line (clients
// sometimes send a CRLF after a POST body); a few are tolerated, a stream of them is not.
constexpr unsigned max_empty_lines = 4;

int parse_request_line(const char* buf, const char* end, head_progress& s,
                       const parser_limits& limits, const parser_leniency& leniency) {
    const char* p = buf + s.pos;
    switch (s.stage) {
    case st_begin:
        for (;;) {
            if (p == end) goto more;
            if (*p != '\r' && *p != '\n') break;
            if (int r = skip_line_end(p, end, leniency); r != step_done) {
                if (r == step_more) goto more;
                return r;
            }
            if (++s.empty_lines > max_empty_lines) return step_fail(errc::malformed_request_line);
        }
        s.line0 = offset_of(p, buf);
        s.stage = st_method;
        [[fallthrough]];
    case st_method: {
        while (p < end && is_tchar(*p)) ++p;
        if (p == end) goto more;
        const bool empty = p == buf + s.line0;
        if (*p != ' ' || empty)
            return step_fail(empty || *p == '\r' || *p == '\n' ? errc::malformed_request_line
                                                               : errc::invalid_method);
        s.line1 = offset_of(p, buf);
        ++p;
        s.stage = st_target;
        [[fallthrough]];
    }
    case st_target: {
        const char* const start = buf + s.line1 + 1;
        const char_class fast =
            leniency.any_target_chars ? char_class::relaxed_target : char_class::target;
        for (;;) {
            while (p < end && in_class(*p, fast)) ++p;
            // Checked before looking at why the loop stopped, so the answer for an over-long
            // target does not depend on where the bytes were split.
            if (static_cast<std::size_t>(p - start) > limits.max_target_bytes)
                return step_fail(errc::uri_too_long);
            if (p == end) goto more;
            const char c = *p;
            if (c == ' ') break;
            if (c == '?') {
                if (s.query_at == 0) s.query_at = offset_of(p, buf) + 1;
                ++p;
            } else if (c == '%') {
                if (end - p < 3) goto more;
                if (!is_hex_digit(p[1]) || !is_hex_digit(p[2]))
                    return step_fail(errc::invalid_target);
                p += 3;
            } else if (c == '[' || c == ']') {
                s.target_bracket = true;
                ++p;
            } else if (c == '\r' || c == '\n') {
                return step_fail(errc::malformed_request_line);
            } else {
                return step_fail(errc::invalid_target);
            }
        }
        if (p == start) return step_fail(errc::malformed_request_line);
        s.line2 = offset_of(p, buf);
        ++p;
        s.stage = st_version;
        [[fallthrough]];
    }
    case st_version: {
        const char* const start = buf + s.line2 + 1;
        // Nearly every request says HTTP/1.1 or HTTP/1.0: one 8-byte comparison.
        if (p == start && end - p >= 8 && std::memcmp(p, "HTTP/1.", 7) == 0 &&
            (p[7] == '1' || p[7] == '0'))
            p += 8;
        for (; p < end && p - start < 8; ++p) {
            const auto i = p - start;
            const bool ok = i < 5 ? *p == "HTTP/"[i] : i == 6 ? *p == '.' : is_digit(*p);
            if (!ok) return step_fail(errc::invalid_version);
        }
        if (p - start < 8) goto more;
        s.stage = st_version_end;
        [[fallthrough]];
    }
    case st_version_end: {
        if (p == end) goto more;
        if (*p != '\r' && *p != '\n') return step_fail(errc::invalid_version);
        if (int r = skip_line_end(p, end, leniency); r != step_done) {
            if (r == step_more) goto more;
            return r;
        }
        s.pos = offset_of(p, buf);
        return step_done;
    }
    default:
        break;
    }
    assert(false && "request line stage out of range");
more:
    s.pos = offset_of(p, buf);
    return step_more;
}

// absolute-URI = scheme ":" hier-part [ "?" query ] (RFC 3986 §4.3), splitting out the path.
bool valid_absolute_form(std::string_view target, std::string_view before_query,
                         std::string_view& path) noexcept {
    const auto colon = before_query.find(':');
    if (colon == std::string_view::npos) return false;
    const auto scheme = target.substr(0, colon);
    if (!is_scheme(scheme)) return false;
    auto rest = before_query.substr(colon + 1);
    if (rest.starts_with("//")) {
        rest.remove_prefix(2);
        auto slash = rest.find('/');
        auto authority = rest.substr(0, slash);
        auto at = authority.rfind('@');
        if (at != std::string_view::npos) {
            // RFC 9110 §4.2.4: userinfo in an http(s) URI is deprecated and a recipient
            // should treat it as an error; other schemes may carry it.
            if (iequals(scheme, "http") || iequals(scheme, "https")) return false;
            auto userinfo = authority.substr(0, at);
            if (!std::all_of(userinfo.begin(), userinfo.end(), [](char c) {
                    return in_class(c, char_class::reg_name) || c == ':' || c == '%';
                }))
                return false;
            authority.remove_prefix(at + 1);
        }
        if (!is_host_and_port(authority, port_rule::optional)) return false;
        rest = slash == std::string_view::npos ? rest.substr(rest.size()) : rest.substr(slash);
    }
    path = rest;
    return path.find_first_of("[]") == std::string_view::npos;
}

// Checks the request-target against its form (RFC 9112 §3.2) and records where its path is.
int check_target(head_progress& s, const char* buf, http::method m, bool relaxed) {
    const std::string_view target{buf + s.line1 + 1, s.line2 - s.line1 - 1};
    const auto before_query =
        s.query_at == 0 ? target : target.substr(0, s.query_at - 1 - (s.line1 + 1));
    std::string_view path;
    if (m == method::connect) {
        // authority-form, and only for CONNECT; its path stays empty.
        if (s.query_at != 0 || !is_host_and_port(target, port_rule::required))
            return step_fail(errc::invalid_target);
        path = target.substr(0, 0);
    } else if (target[0] == '/') {
        if (s.target_bracket && !relaxed) return step_fail(errc::invalid_target);
        path = before_query;
    } else if (target == "*") {
        if (m != method::options) return step_fail(errc::invalid_target);
        path = target;
    } else if (!valid_absolute_form(target, before_query, path)) {
        return step_fail(errc::invalid_target);
    }
    s.path_begin = offset_of(path.data(), buf);
    s.path_end = offset_of(path.data() + path.size(), buf);
    return step_done;
}

int finish_request(request_head& head, const head_progress& s, const parser_limits& limits,
                   const parser_leniency& leniency) {
    const bool http11 = head.version_minor == 1;
    if (http11 && s.host_count == 0 && !leniency.missing_host) return step_fail(errc::missing_host);
    head.body = {};
    if (s.has_transfer_encoding) {
        // RFC 9112 §6.1-§6.3: Transfer-Encoding is HTTP/1.1 only; with Content-Length too, the
        // two framings can disagree (smuggling); chunked must come last or the length is
        // unknowable; and any coding before it is one this server cannot undo.
        if (!http11) return step_fail(errc::transfer_encoding_in_http10);
        if (s.has_content_length) return step_fail(errc::content_length_with_transfer_encoding);
        if (s.chunked_twice) return step_fail(errc::invalid_transfer_encoding);
        if (!s.chunked_last || s.chunked_not_last) return step_fail(errc::chunked_not_final);
        if (s.other_coding) return step_fail(errc::unsupported_transfer_coding);
        head.body = {body_kind::chunked, 0};
    } else if (s.has_content_length) {
        if (s.content_length > limits.max_body_bytes) return step_fail(errc::body_too_large);
        head.body = {body_kind::content_length, s.content_length};
    }
    head.keep_alive = !s.connection_close && (http11 || s.connection_keep_alive);
    // RFC 9110 §10.1.1: an HTTP/1.0 client cannot be waiting for 100 Continue.
    head.expect_continue = http11 && s.expect_continue;
    return step_done;
}

} // namespace

parse_result request_parser::parse(std::string_view buffer, request_head& head) {
    auto& s = progress_;
    const char* const end = begin_head_call(s, buffer, head, limits_);
    const char* const buf = buffer.data();

    if (s.stage < st_line_start) {
        int r = parse_request_line(buf, end, s, limits_, leniency_);
        if (r == step_more) return head_incomplete(s, buffer, limits_);
        if (r != step_done) return head_failed(s, r);

        if (buf[s.line2 + 1 + 5] != '1')
            return head_failed(s, step_fail(errc::unsupported_version));
        const auto m = parse_method({buf + s.line0, s.line1 - s.line0});
        s.method = static_cast<std::uint8_t>(m);
        if (int e = check_target(s, buf, m, leniency_.any_target_chars); e != step_done)
            return head_failed(s, e);
        s.stage = st_line_start;
    }

    int r = parse_field_lines(buf, end, s, head.fields, limits_, leniency_, true);
    if (r == step_more) return head_incomplete(s, buffer, limits_);
    if (r != step_done) return head_failed(s, r);

    // The start line's views are made only now: the buffer may have moved since it was read.
    head.method_name = {buf + s.line0, s.line1 - s.line0};
    head.method = static_cast<http::method>(s.method);
    head.target = {buf + s.line1 + 1, s.line2 - s.line1 - 1};
    head.path = {buf + s.path_begin, s.path_end - s.path_begin};
    head.query = s.query_at == 0 ? std::string_view{}
                                 : std::string_view{buf + s.query_at, s.line2 - s.query_at};
    // RFC 9112 §2.3: a higher minor version is answered as the highest one supported.
    head.version_minor = buf[s.line2 + 1 + 7] == '0' ? 0 : 1;
    if (int e = finish_request(head, s, limits_, leniency_); e != step_done)
        return head_failed(s, e);
    s.finished = true;
    return parse_result::done(s.pos);
}

} // namespace snow::http
