// snow/http/detail/head_parser.cpp: the field lines of a request or response head, and what the
// fields that decide framing and persistence mean (RFC 9112 §5-§6, §9.3).
#include "snow/http/detail/head_parser.hpp"

#include <limits>

namespace snow::http::detail {
namespace {

// ---------------------------------------------------------------------------------------------
// Field semantics, applied once per field line as it completes.

int on_content_length(head_progress& s, std::string_view value) {
    int error = step_done;
    auto count = for_each_list_element(value, [&](std::string_view element) {
        std::uint64_t n = 0;
        for (char c : element) {
            auto digit = static_cast<unsigned>(c - '0');
            if (!is_digit(c) || n > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
                error = step_fail(errc::invalid_content_length);
                return false;
            }
            n = n * 10 + digit;
        }
        // RFC 9112 §6.3: a list of identical values (from a proxy merging fields) is one
        // length; differing values mean the framing cannot be trusted.
        if (s.has_content_length && n != s.content_length) {
            error = step_fail(errc::conflicting_content_length);
            return false;
        }
        s.has_content_length = true;
        s.content_length = n;
        return true;
    });
    if (error == step_done && count == 0) error = step_fail(errc::invalid_content_length);
    return error;
}

int on_transfer_encoding(head_progress& s, std::string_view value) {
    int error = step_done;
    auto count = for_each_list_element(value, [&](std::string_view element) {
        auto semicolon = element.find(';');
        auto name = element.substr(0, semicolon);
        while (!name.empty() && is_ows(name.back())) name.remove_suffix(1);
        const bool chunked = iequals(name, "chunked");
        if (!is_token(name) || (chunked && semicolon != std::string_view::npos)) {
            error = step_fail(errc::invalid_transfer_encoding);
            return false;
        }
        const bool chunked_seen = s.chunked_last || s.chunked_not_last;
        if (chunked && chunked_seen) s.chunked_twice = true;
        if (!chunked && chunked_seen) s.chunked_not_last = true;
        if (!chunked) s.other_coding = true;
        s.chunked_last = chunked;
        return true;
    });
    if (error == step_done && count == 0) error = step_fail(errc::invalid_transfer_encoding);
    s.has_transfer_encoding = true;
    return error;
}

int on_field(head_progress& s, header_field f, bool request) {
    auto name = f.name;
    // Dispatch on length so most fields cost one switch and no comparison.
    switch (name.size()) {
    case 4:
        if (request && token_is(name, "host")) {
            if (++s.host_count > 1) return step_fail(errc::duplicate_host);
            if (!is_host_and_port(f.value, port_rule::optional))
                return step_fail(errc::invalid_host);
        }
        break;
    case 6:
        if (request && token_is(name, "expect")) {
            if (list_contains(f.value, "100-continue")) s.expect_continue = true;
        }
        break;
    case 10:
        if (token_is(name, "connection")) {
            // One pass for both options, as has_close_option() and list_contains() would take
            // two: nearly every browser request carries this field.
            for_each_list_element(f.value, [&s](std::string_view option) {
                if (iequals(option, "close")) s.connection_close = true;
                if (iequals(option, "keep-alive")) s.connection_keep_alive = true;
                return true;
            });
        }
        break;
    case 14:
        if (token_is(name, "content-length")) return on_content_length(s, f.value);
        break;
    case 17:
        if (token_is(name, "transfer-encoding")) return on_transfer_encoding(s, f.value);
        break;
    default:
        break;
    }
    return step_done;
}

} // namespace

int parse_field_lines(const char* buf, const char* end, head_progress& s,
                      std::vector<header_field>& fields, const parser_limits& limits,
                      const parser_leniency& leniency, bool request) {
    const char* p = buf + s.pos;
    for (;;) {
        switch (s.stage) {
        case st_line_start: {
            if (p == end) goto more;
            const char c = *p;
            if (c == '\r' || c == '\n') {
                if (int r = skip_line_end(p, end, leniency); r != step_done) {
                    if (r == step_more) goto more;
                    return r;
                }
                s.pos = offset_of(p, buf);
                return step_done;
            }
            // A line starting with whitespace continues the previous one (obs-fold) or, right
            // after the start line, hides a field from some parsers: RFC 9112 §5.2 and §2.2
            // allow rejecting both.
            if (is_ows(c)) return step_fail(errc::obs_fold);
            if (fields.size() >= limits.max_headers) return step_fail(errc::too_many_headers);
            s.name_begin = offset_of(p, buf);
            s.stage = st_name;
            [[fallthrough]];
        }
        case st_name: {
            while (p < end && is_tchar(*p)) ++p;
            if (p == end) goto more;
            if (*p != ':' || p == buf + s.name_begin)
                return step_fail(is_ows(*p) ? errc::whitespace_before_colon
                                            : errc::invalid_header_name);
            s.name_end = offset_of(p, buf);
            ++p;
            s.stage = st_value_ows;
            [[fallthrough]];
        }
        case st_value_ows:
            while (p < end && is_ows(*p)) ++p;
            if (p == end) goto more;
            s.value_begin = offset_of(p, buf);
            s.stage = st_value;
            [[fallthrough]];
        case st_value: {
            p = skip_field_text(p, end);
            if (p == end) goto more;
            if (*p != '\r' && *p != '\n') return step_fail(errc::invalid_header_value);
            const char* value_end = p;
            if (int r = skip_line_end(p, end, leniency); r != step_done) {
                if (r == step_more) goto more;
                return r;
            }
            const char* const value_begin = buf + s.value_begin;
            while (value_end > value_begin && is_ows(value_end[-1])) --value_end;
            const header_field field{
                {buf + s.name_begin, s.name_end - s.name_begin},
                {value_begin, static_cast<std::size_t>(value_end - value_begin)}};
            fields.push_back(field);
            if (int r = on_field(s, field, request); r != step_done) return r;
            s.stage = st_line_start;
            break;
        }
        default:
            assert(false && "field stage out of range");
            return step_fail(errc::malformed_request_line);
        }
    }
more:
    s.pos = offset_of(p, buf);
    return step_more;
}

void rebase_fields(std::vector<header_field>& fields, const char* old_base, const char* new_base) {
    // Integer arithmetic, because the old buffer may already be freed and its pointers must not
    // be compared.
    const auto delta =
        reinterpret_cast<std::uintptr_t>(new_base) - reinterpret_cast<std::uintptr_t>(old_base);
    auto move = [delta](std::string_view v) {
        return std::string_view(
            reinterpret_cast<const char*>(reinterpret_cast<std::uintptr_t>(v.data()) + delta),
            v.size());
    };
    for (auto& f : fields) {
        f.name = move(f.name);
        f.value = move(f.value);
    }
}

void start_message(head_progress& s) noexcept {
    // Member by member, not `s = {}`: a block of wide zeroing stores followed at once by narrow
    // loads of the same bytes stalls store forwarding, and this runs once per request.
    s.pos = 0;
    s.query_at = 0;
    s.content_length = 0;
    s.stage = st_begin;
    s.empty_lines = 0;
    s.host_count = 0;
    s.has_content_length = s.has_transfer_encoding = false;
    s.chunked_last = s.chunked_not_last = s.chunked_twice = s.other_coding = false;
    s.connection_close = s.connection_keep_alive = s.expect_continue = false;
    s.target_bracket = false;
    s.finished = false;
}

} // namespace snow::http::detail
