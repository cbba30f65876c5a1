// snow/http/parser.cpp: request and response head parsing and chunked decoding. Each is a state
// machine that resumes where the previous call stopped; hot loops are table-driven (and SSE2 for
// field values) so a head costs one pass over its bytes.
#include "snow/http/parser.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <cstring>
#include <limits>
#include <optional>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace snow::http {
namespace {

using detail::head_progress;

// ---------------------------------------------------------------------------------------------
// Character classes (RFC 9110 §5.6.2, RFC 3986 §2-§3), one table lookup per byte.

constexpr std::uint8_t k_tchar = 1;    // token
constexpr std::uint8_t k_target = 2;   // pchar + '/' minus '%': the request-target fast path
constexpr std::uint8_t k_hex = 4;      // HEXDIG
constexpr std::uint8_t k_field = 8;    // SP, VCHAR, obs-text: a field value byte other than HTAB
constexpr std::uint8_t k_regname = 16; // unreserved + sub-delims: reg-name minus pct-encoded
constexpr std::uint8_t k_scheme = 32;  // ALPHA DIGIT "+" "-" "."
// Any VCHAR or obs-text but '?' (which still splits off the query): the target with
// parser_leniency::any_target_chars.
constexpr std::uint8_t k_relaxed = 64;
constexpr std::uint8_t k_digit = 128;

constexpr std::array<std::uint8_t, 256> make_classes() {
    std::array<std::uint8_t, 256> t{};
    auto add = [&t](std::string_view chars, std::uint8_t bits) {
        for (char c : chars) t[static_cast<unsigned char>(c)] |= bits;
    };
    constexpr std::string_view alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    constexpr std::string_view digit = "0123456789";
    constexpr std::string_view unreserved_marks = "-._~";
    constexpr std::string_view sub_delims = "!$&'()*+,;=";

    add(alpha, k_tchar | k_target | k_regname | k_scheme);
    add(digit, k_tchar | k_target | k_regname | k_scheme | k_hex | k_digit);
    add("ABCDEFabcdef", k_hex);
    add("!#$%&'*+-.^_`|~", k_tchar);
    add(unreserved_marks, k_target | k_regname);
    add(sub_delims, k_target | k_regname);
    add(":@/", k_target);
    add("+-.", k_scheme);
    for (int c = 0x20; c < 0x7f; ++c) t[static_cast<std::size_t>(c)] |= k_field;
    for (int c = 0x21; c < 0x7f; ++c) t[static_cast<std::size_t>(c)] |= k_relaxed;
    for (int c = 0x80; c < 0x100; ++c) t[static_cast<std::size_t>(c)] |= k_field | k_relaxed;
    t[static_cast<unsigned char>('?')] &= static_cast<std::uint8_t>(~k_relaxed);
    return t;
}

constexpr auto k_classes = make_classes();

constexpr bool is(char c, std::uint8_t bits) noexcept {
    return (k_classes[static_cast<unsigned char>(c)] & bits) != 0;
}

constexpr int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    return (c | 0x20) - 'a' + 10;
}

constexpr bool is_ows(char c) noexcept {
    return c == ' ' || c == '\t';
}

// Where p sits in the message; heads are bounded by head_limit(), so this fits.
inline std::uint32_t offset_of(const char* p, const char* buf) noexcept {
    return static_cast<std::uint32_t>(p - buf);
}

// max_header_bytes, capped so that every offset into a head fits head_progress's fields.
inline std::size_t head_limit(const parser_limits& limits) noexcept {
    return std::min<std::size_t>(limits.max_header_bytes, 0xffff'fff0u);
}

// Internal step outcomes: done, need more bytes, or a positive errc value.
constexpr int k_done = 0;
constexpr int k_more = -1;
constexpr int fail(errc e) noexcept {
    return static_cast<int>(e);
}

// RFC 9112 §2.2 asks servers to skip "at least one" empty line before a request-line (clients
// sometimes send a CRLF after a POST body); a few are tolerated, a stream of them is not.
constexpr unsigned k_max_empty_lines = 4;

// Head stages; the values of head_progress::stage.
enum : std::uint8_t {
    st_begin = 0,
    st_method,
    st_target,
    st_version,
    st_version_end,
    st_status_line,
    st_status_end,
    st_reason,
    st_line_start,
    st_name,
    st_value_ows,
    st_value,
};

// The first byte in [p, end) that is a control character or DEL (HTAB included), or end.
// Field values and reason phrases are long runs of legal bytes, so this checks 16 at a time.
inline const char* find_control(const char* p, const char* end) noexcept {
#if defined(__SSE2__)
    const __m128i max_control = _mm_set1_epi8(0x1f);
    const __m128i del = _mm_set1_epi8(0x7f);
    while (end - p >= 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i_u*>(p));
        // Unsigned v <= 0x1f exactly when min(v, 0x1f) == v.
        const __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(v, max_control), v);
        const __m128i hits = _mm_or_si128(control, _mm_cmpeq_epi8(v, del));
        const auto mask = static_cast<unsigned>(_mm_movemask_epi8(hits));
        if (mask != 0) return p + __builtin_ctz(mask);
        p += 16;
    }
#endif
    while (p < end && is(*p, k_field)) ++p;
    return p;
}

// ---------------------------------------------------------------------------------------------
// Field value grammar: lists, hosts, lengths.

// Calls f on each non-empty element of a comma-separated list (RFC 9110 §5.6.1), OWS trimmed;
// stops early when f returns false. Returns how many elements were visited.
template <typename F>
std::size_t for_each_element(std::string_view list, F&& f) {
    std::size_t count = 0;
    while (!list.empty()) {
        auto comma = list.find(',');
        auto element = list.substr(0, comma);
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        while (!element.empty() && is_ows(element.front())) element.remove_prefix(1);
        while (!element.empty() && is_ows(element.back())) element.remove_suffix(1);
        if (element.empty()) continue;
        ++count;
        if (!f(element)) break;
    }
    return count;
}

bool all_of_class(std::string_view s, std::uint8_t bits) noexcept {
    return std::all_of(s.begin(), s.end(), [bits](char c) { return is(c, bits); });
}

// dec-octet "." dec-octet "." dec-octet "." dec-octet, without leading zeros.
bool valid_ipv4(std::string_view s) noexcept {
    for (int octet = 0; octet < 4; ++octet) {
        if (octet > 0) {
            if (s.empty() || s.front() != '.') return false;
            s.remove_prefix(1);
        }
        std::size_t n = 0;
        int value = 0;
        while (n < s.size() && n < 4 && is(s[n], k_digit)) value = value * 10 + (s[n++] - '0');
        if (n == 0 || n > 3 || value > 255 || (n > 1 && s[0] == '0')) return false;
        s.remove_prefix(n);
    }
    return s.empty();
}

// RFC 3986 IPv6address: up to eight h16 groups, at most one "::", optionally ending in IPv4.
bool valid_ipv6(std::string_view s) noexcept {
    int groups = 0;
    bool compressed = false;
    std::size_t i = 0;
    if (s.starts_with("::")) {
        compressed = true;
        i = 2;
    } else if (s.starts_with(":")) {
        return false;
    }
    while (i < s.size()) {
        auto stop = s.find(':', i);
        auto group =
            s.substr(i, stop == std::string_view::npos ? std::string_view::npos : stop - i);
        if (stop == std::string_view::npos && group.find('.') != std::string_view::npos) {
            if (!valid_ipv4(group)) return false;
            groups += 2;
            break;
        }
        if (group.empty() || group.size() > 4 || !all_of_class(group, k_hex)) return false;
        ++groups;
        if (stop == std::string_view::npos) break;
        i = stop + 1;
        if (i < s.size() && s[i] == ':') {
            if (compressed) return false;
            compressed = true;
            ++i;
        } else if (i == s.size()) {
            return false; // a single trailing ':'
        }
    }
    return compressed ? groups <= 7 : groups == 8;
}

// IP-literal without its brackets: IPv6address or IPvFuture.
bool valid_ip_literal(std::string_view s) noexcept {
    if (!s.empty() && (s[0] == 'v' || s[0] == 'V')) {
        auto dot = s.find('.');
        if (dot == std::string_view::npos || dot < 2 || dot + 1 == s.size()) return false;
        if (!all_of_class(s.substr(1, dot - 1), k_hex)) return false;
        return std::all_of(s.begin() + static_cast<std::ptrdiff_t>(dot) + 1, s.end(),
                           [](char c) { return is(c, k_regname) || c == ':'; });
    }
    return valid_ipv6(s);
}

// uri-host [ ":" port ] (RFC 9112 §3.2, RFC 3986 §3.2.2). IPv4address is a subset of reg-name,
// so it needs no separate check. A port is required in CONNECT's authority-form.
bool valid_host(std::string_view s, bool port_required) noexcept {
    std::size_t i = 0;
    if (!s.empty() && s[0] == '[') {
        auto close = s.find(']');
        if (close == std::string_view::npos || !valid_ip_literal(s.substr(1, close - 1)))
            return false;
        i = close + 1;
    } else {
        while (i < s.size()) {
            if (is(s[i], k_regname)) {
                ++i;
            } else if (s[i] == '%') {
                if (i + 2 >= s.size() || !is(s[i + 1], k_hex) || !is(s[i + 2], k_hex)) return false;
                i += 3;
            } else {
                break;
            }
        }
    }
    if (i == s.size()) return !port_required;
    if (s[i] != ':') return false;
    auto port = s.substr(i + 1);
    if (port_required && port.empty()) return false;
    return all_of_class(port, k_digit);
}

// absolute-URI = scheme ":" hier-part [ "?" query ] (RFC 3986 §4.3), splitting out the path.
bool valid_absolute_form(std::string_view target, std::string_view before_query,
                         std::string_view& path) noexcept {
    auto colon = before_query.find(':');
    const char first = static_cast<char>(target[0] | 0x20);
    if (colon == std::string_view::npos || colon == 0 || first < 'a' || first > 'z' ||
        !all_of_class(target.substr(0, colon), k_scheme))
        return false;
    auto scheme = target.substr(0, colon);
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
            if (!std::all_of(userinfo.begin(), userinfo.end(),
                             [](char c) { return is(c, k_regname) || c == ':' || c == '%'; }))
                return false;
            authority.remove_prefix(at + 1);
        }
        if (!valid_host(authority, false)) return false;
        rest = slash == std::string_view::npos ? rest.substr(rest.size()) : rest.substr(slash);
    }
    path = rest;
    return path.find_first_of("[]") == std::string_view::npos;
}

// ---------------------------------------------------------------------------------------------
// Field semantics, applied once per field line as it completes.

int on_content_length(head_progress& s, std::string_view value) {
    int error = k_done;
    auto count = for_each_element(value, [&](std::string_view element) {
        std::uint64_t n = 0;
        for (char c : element) {
            auto digit = static_cast<unsigned>(c - '0');
            if (!is(c, k_digit) || n > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
                error = fail(errc::invalid_content_length);
                return false;
            }
            n = n * 10 + digit;
        }
        // RFC 9112 §6.3: a list of identical values (from a proxy merging fields) is one
        // length; differing values mean the framing cannot be trusted.
        if (s.has_content_length && n != s.content_length) {
            error = fail(errc::conflicting_content_length);
            return false;
        }
        s.has_content_length = true;
        s.content_length = n;
        return true;
    });
    if (error == k_done && count == 0) error = fail(errc::invalid_content_length);
    return error;
}

int on_transfer_encoding(head_progress& s, std::string_view value) {
    int error = k_done;
    auto count = for_each_element(value, [&](std::string_view element) {
        auto semicolon = element.find(';');
        auto name = element.substr(0, semicolon);
        while (!name.empty() && is_ows(name.back())) name.remove_suffix(1);
        const bool chunked = iequals(name, "chunked");
        if (!is_token(name) || (chunked && semicolon != std::string_view::npos)) {
            error = fail(errc::invalid_transfer_encoding);
            return false;
        }
        const bool chunked_seen = s.chunked_last || s.chunked_not_last;
        if (chunked && chunked_seen) s.chunked_twice = true;
        if (!chunked && chunked_seen) s.chunked_not_last = true;
        if (!chunked) s.other_coding = true;
        s.chunked_last = chunked;
        return true;
    });
    if (error == k_done && count == 0) error = fail(errc::invalid_transfer_encoding);
    s.has_transfer_encoding = true;
    return error;
}

// Case-insensitive match of a token against a lowercase literal of letters, digits and '-'.
// OR-ing 0x20 folds case; no other token character folds onto those.
template <std::size_t N>
bool is_name(std::string_view token, const char (&lower)[N]) noexcept {
    if (token.size() != N - 1) return false;
    for (std::size_t i = 0; i < N - 1; ++i)
        if ((token[i] | 0x20) != lower[i]) return false;
    return true;
}

int on_field(head_progress& s, header_field f, bool request) {
    auto name = f.name;
    // Dispatch on length so most fields cost one switch and no comparison.
    switch (name.size()) {
    case 4:
        if (request && is_name(name, "host")) {
            if (++s.host_count > 1) return fail(errc::duplicate_host);
            if (!valid_host(f.value, false)) return fail(errc::invalid_host);
        }
        break;
    case 6:
        if (request && is_name(name, "expect")) {
            for_each_element(f.value, [&](std::string_view e) {
                if (iequals(e, "100-continue")) s.expect_continue = true;
                return true;
            });
        }
        break;
    case 10:
        if (is_name(name, "connection")) {
            for_each_element(f.value, [&](std::string_view e) {
                if (iequals(e, "close")) s.connection_close = true;
                if (iequals(e, "keep-alive")) s.connection_keep_alive = true;
                return true;
            });
        }
        break;
    case 14:
        if (is_name(name, "content-length")) return on_content_length(s, f.value);
        break;
    case 17:
        if (is_name(name, "transfer-encoding")) return on_transfer_encoding(s, f.value);
        break;
    default:
        break;
    }
    return k_done;
}

// ---------------------------------------------------------------------------------------------
// The head state machines. Each returns k_done, k_more (with s.pos at the resume point) or an
// errc; `end` is the end of the bytes received, cut at max_header_bytes.

// Skips one line terminator at p: CRLF, or LF with the leniency.
int line_end(const char*& p, const char* end, const parser_leniency& leniency) {
    if (*p == '\r') {
        if (end - p < 2) return k_more;
        if (p[1] != '\n') return fail(errc::bare_carriage_return);
        p += 2;
        return k_done;
    }
    if (*p == '\n') {
        if (!leniency.bare_lf) return fail(errc::bare_line_feed);
        ++p;
        return k_done;
    }
    return fail(errc::malformed_request_line);
}

int parse_request_line(const char* buf, const char* end, head_progress& s,
                       const parser_limits& limits, const parser_leniency& leniency) {
    const char* p = buf + s.pos;
    switch (s.stage) {
    case st_begin:
        for (;;) {
            if (p == end) goto more;
            if (*p != '\r' && *p != '\n') break;
            if (int r = line_end(p, end, leniency); r != k_done) {
                if (r == k_more) goto more;
                return r;
            }
            if (++s.empty_lines > k_max_empty_lines) return fail(errc::malformed_request_line);
        }
        s.line0 = offset_of(p, buf);
        s.stage = st_method;
        [[fallthrough]];
    case st_method: {
        while (p < end && is(*p, k_tchar)) ++p;
        if (p == end) goto more;
        const bool empty = p == buf + s.line0;
        if (*p != ' ' || empty)
            return fail(empty || *p == '\r' || *p == '\n' ? errc::malformed_request_line
                                                          : errc::invalid_method);
        s.line1 = offset_of(p, buf);
        ++p;
        s.stage = st_target;
        [[fallthrough]];
    }
    case st_target: {
        const char* const start = buf + s.line1 + 1;
        const std::uint8_t fast = leniency.any_target_chars ? k_relaxed : k_target;
        for (;;) {
            while (p < end && is(*p, fast)) ++p;
            // Checked before looking at why the loop stopped, so the answer for an over-long
            // target does not depend on where the bytes were split.
            if (static_cast<std::size_t>(p - start) > limits.max_target_bytes)
                return fail(errc::uri_too_long);
            if (p == end) goto more;
            const char c = *p;
            if (c == ' ') break;
            if (c == '?') {
                if (s.query_at == 0) s.query_at = offset_of(p, buf) + 1;
                ++p;
            } else if (c == '%') {
                if (end - p < 3) goto more;
                if (!is(p[1], k_hex) || !is(p[2], k_hex)) return fail(errc::invalid_target);
                p += 3;
            } else if (c == '[' || c == ']') {
                s.target_bracket = true;
                ++p;
            } else if (c == '\r' || c == '\n') {
                return fail(errc::malformed_request_line);
            } else {
                return fail(errc::invalid_target);
            }
        }
        if (p == start) return fail(errc::malformed_request_line);
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
            const bool ok = i < 5 ? *p == "HTTP/"[i] : i == 6 ? *p == '.' : is(*p, k_digit);
            if (!ok) return fail(errc::invalid_version);
        }
        if (p - start < 8) goto more;
        s.stage = st_version_end;
        [[fallthrough]];
    }
    case st_version_end: {
        if (p == end) goto more;
        if (*p != '\r' && *p != '\n') return fail(errc::invalid_version);
        if (int r = line_end(p, end, leniency); r != k_done) {
            if (r == k_more) goto more;
            return r;
        }
        s.pos = offset_of(p, buf);
        return k_done;
    }
    default:
        break;
    }
    assert(false && "request line stage out of range");
more:
    s.pos = offset_of(p, buf);
    return k_more;
}

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
                const bool ok = i < 5 ? *p == "HTTP/"[i] : i == 6 ? *p == '.' : is(*p, k_digit);
                if (!ok) return fail(errc::invalid_version);
            } else if (i == 8) {
                if (*p != ' ') return fail(errc::malformed_status_line);
            } else if (!is(*p, k_digit)) {
                return fail(errc::invalid_status_code);
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
            if (int r = line_end(p, end, leniency); r != k_done) {
                if (r == k_more) goto more;
                return r;
            }
            s.pos = offset_of(p, buf);
            return k_done;
        } else {
            return fail(is(*p, k_digit) ? errc::invalid_status_code : errc::malformed_status_line);
        }
        [[fallthrough]];
    case st_reason:
        for (;;) {
            p = find_control(p, end);
            if (p == end) goto more;
            if (*p == '\t') {
                ++p;
                continue;
            }
            const char* const reason_end = p;
            if (*p != '\r' && *p != '\n') return fail(errc::malformed_status_line);
            if (int r = line_end(p, end, leniency); r != k_done) {
                if (r == k_more) goto more;
                return r;
            }
            s.line1 = offset_of(reason_end, buf);
            s.pos = offset_of(p, buf);
            return k_done;
        }
    default:
        break;
    }
    assert(false && "status line stage out of range");
more:
    s.pos = offset_of(p, buf);
    return k_more;
}

int parse_fields(const char* buf, const char* end, head_progress& s,
                 std::vector<header_field>& fields, const parser_limits& limits,
                 const parser_leniency& leniency, bool request) {
    const char* p = buf + s.pos;
    for (;;) {
        switch (s.stage) {
        case st_line_start: {
            if (p == end) goto more;
            const char c = *p;
            if (c == '\r' || c == '\n') {
                if (int r = line_end(p, end, leniency); r != k_done) {
                    if (r == k_more) goto more;
                    return r;
                }
                s.pos = offset_of(p, buf);
                return k_done;
            }
            // A line starting with whitespace continues the previous one (obs-fold) or, right
            // after the start line, hides a field from some parsers: RFC 9112 §5.2 and §2.2
            // allow rejecting both.
            if (is_ows(c)) return fail(errc::obs_fold);
            if (fields.size() >= limits.max_headers) return fail(errc::too_many_headers);
            s.name_begin = offset_of(p, buf);
            s.stage = st_name;
            [[fallthrough]];
        }
        case st_name: {
            while (p < end && is(*p, k_tchar)) ++p;
            if (p == end) goto more;
            if (*p != ':' || p == buf + s.name_begin)
                return fail(is_ows(*p) ? errc::whitespace_before_colon : errc::invalid_header_name);
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
            const char* value_end = nullptr;
            for (;;) {
                p = find_control(p, end);
                if (p == end) goto more;
                if (*p == '\t') {
                    ++p;
                    continue;
                }
                if (*p != '\r' && *p != '\n') return fail(errc::invalid_header_value);
                value_end = p;
                if (int r = line_end(p, end, leniency); r != k_done) {
                    if (r == k_more) goto more;
                    return r;
                }
                break;
            }
            const char* const value_begin = buf + s.value_begin;
            while (value_end > value_begin && is_ows(value_end[-1])) --value_end;
            const header_field field{
                {buf + s.name_begin, s.name_end - s.name_begin},
                {value_begin, static_cast<std::size_t>(value_end - value_begin)}};
            fields.push_back(field);
            if (int r = on_field(s, field, request); r != k_done) return r;
            s.stage = st_line_start;
            break;
        }
        default:
            assert(false && "field stage out of range");
            return fail(errc::malformed_request_line);
        }
    }
more:
    s.pos = offset_of(p, buf);
    return k_more;
}

// Points the views in `fields` at the same offsets of a buffer that moved. Integer arithmetic,
// because the old buffer may already be freed and its pointers must not be compared.
void rebase(std::vector<header_field>& fields, const char* old_base, const char* new_base) {
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

// Forgets the previous message. Member by member, not `s = {}`: a block of wide zeroing
// stores followed at once by narrow loads of the same bytes stalls store forwarding, and
// this runs once per request.
void start_message(head_progress& s) noexcept {
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

// Sets up a fresh message on the first call and rebases on later ones; returns the end of the
// bytes the head may occupy.
template <typename Head>
const char* begin_call(head_progress& s, std::string_view buffer, Head& head,
                       const parser_limits& limits) {
    if (s.finished) start_message(s);
    if (s.stage == st_begin && s.pos == 0) {
        // Only the fields need clearing: every other member is assigned on completion.
        head.fields.clear();
    } else if (buffer.data() != s.base && !head.fields.empty()) {
        rebase(head.fields, s.base, buffer.data());
    }
    assert(buffer.size() >= s.pos && "the buffer must only grow between calls");
    s.base = buffer.data();
    return buffer.data() + std::min(buffer.size(), head_limit(limits));
}

parse_result failed(head_progress& s, int error) {
    s.finished = true;
    return static_cast<errc>(error);
}

parse_result incomplete(head_progress& s, std::string_view buffer, const parser_limits& limits) {
    // Once max_header_bytes have arrived without the end of the head, it cannot fit.
    if (buffer.size() >= head_limit(limits)) return failed(s, fail(errc::header_too_large));
    return parse_result::need_more();
}

// Checks the request-target against its form (RFC 9112 §3.2) and records where its path is.
int check_target(head_progress& s, const char* buf, http::method m, bool relaxed) {
    const std::string_view target{buf + s.line1 + 1, s.line2 - s.line1 - 1};
    const auto before_query =
        s.query_at == 0 ? target : target.substr(0, s.query_at - 1 - (s.line1 + 1));
    std::string_view path;
    if (m == method::connect) {
        // authority-form, and only for CONNECT; its path stays empty.
        if (s.query_at != 0 || !valid_host(target, true)) return fail(errc::invalid_target);
        path = target.substr(0, 0);
    } else if (target[0] == '/') {
        if (s.target_bracket && !relaxed) return fail(errc::invalid_target);
        path = before_query;
    } else if (target == "*") {
        if (m != method::options) return fail(errc::invalid_target);
        path = target;
    } else if (!valid_absolute_form(target, before_query, path)) {
        return fail(errc::invalid_target);
    }
    s.path_begin = offset_of(path.data(), buf);
    s.path_end = offset_of(path.data() + path.size(), buf);
    return k_done;
}

int finish_request(request_head& head, const head_progress& s, const parser_limits& limits,
                   const parser_leniency& leniency) {
    const bool http11 = head.version_minor == 1;
    if (http11 && s.host_count == 0 && !leniency.missing_host) return fail(errc::missing_host);
    head.body = {};
    if (s.has_transfer_encoding) {
        // RFC 9112 §6.1-§6.3: Transfer-Encoding is HTTP/1.1 only; with Content-Length too, the
        // two framings can disagree (smuggling); chunked must come last or the length is
        // unknowable; and any coding before it is one this server cannot undo.
        if (!http11) return fail(errc::transfer_encoding_in_http10);
        if (s.has_content_length) return fail(errc::content_length_with_transfer_encoding);
        if (s.chunked_twice) return fail(errc::invalid_transfer_encoding);
        if (!s.chunked_last || s.chunked_not_last) return fail(errc::chunked_not_final);
        if (s.other_coding) return fail(errc::unsupported_transfer_coding);
        head.body = {body_kind::chunked, 0};
    } else if (s.has_content_length) {
        if (s.content_length > limits.max_body_bytes) return fail(errc::body_too_large);
        head.body = {body_kind::content_length, s.content_length};
    }
    head.keep_alive = !s.connection_close && (http11 || s.connection_keep_alive);
    // RFC 9110 §10.1.1: an HTTP/1.0 client cannot be waiting for 100 Continue.
    head.expect_continue = http11 && s.expect_continue;
    return k_done;
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
        return k_done;
    if (s.has_transfer_encoding) {
        if (!http11) return fail(errc::transfer_encoding_in_http10);
        if (s.has_content_length) return fail(errc::content_length_with_transfer_encoding);
        if (s.chunked_twice) return fail(errc::invalid_transfer_encoding);
        if (s.chunked_last && !s.chunked_not_last) {
            // Codings before chunked (gzip) are left for the caller, as Content-Encoding is.
            head.body = {body_kind::chunked, 0};
        } else {
            head.body = {body_kind::until_close, 0};
            head.keep_alive = false;
        }
    } else if (s.has_content_length) {
        if (s.content_length > limits.max_body_bytes) return fail(errc::body_too_large);
        head.body = {body_kind::content_length, s.content_length};
    } else {
        head.body = {body_kind::until_close, 0};
        head.keep_alive = false;
    }
    return k_done;
}

} // namespace

// ---------------------------------------------------------------------------------------------

parse_result request_parser::parse(std::string_view buffer, request_head& head) {
    auto& s = progress_;
    const char* const end = begin_call(s, buffer, head, limits_);
    const char* const buf = buffer.data();

    if (s.stage < st_line_start) {
        int r = parse_request_line(buf, end, s, limits_, leniency_);
        if (r == k_more) return incomplete(s, buffer, limits_);
        if (r != k_done) return failed(s, r);

        if (buf[s.line2 + 1 + 5] != '1') return failed(s, fail(errc::unsupported_version));
        const auto m = parse_method({buf + s.line0, s.line1 - s.line0});
        s.method = static_cast<std::uint8_t>(m);
        if (int e = check_target(s, buf, m, leniency_.any_target_chars); e != k_done)
            return failed(s, e);
        s.stage = st_line_start;
    }

    int r = parse_fields(buf, end, s, head.fields, limits_, leniency_, true);
    if (r == k_more) return incomplete(s, buffer, limits_);
    if (r != k_done) return failed(s, r);

    // The start line's views are made only now: the buffer may have moved since it was read.
    head.method_name = {buf + s.line0, s.line1 - s.line0};
    head.method = static_cast<http::method>(s.method);
    head.target = {buf + s.line1 + 1, s.line2 - s.line1 - 1};
    head.path = {buf + s.path_begin, s.path_end - s.path_begin};
    head.query = s.query_at == 0 ? std::string_view{}
                                 : std::string_view{buf + s.query_at, s.line2 - s.query_at};
    // RFC 9112 §2.3: a higher minor version is answered as the highest one supported.
    head.version_minor = buf[s.line2 + 1 + 7] == '0' ? 0 : 1;
    if (int e = finish_request(head, s, limits_, leniency_); e != k_done) return failed(s, e);
    s.finished = true;
    return parse_result::done(s.pos);
}

parse_result response_parser::parse(std::string_view buffer, response_head& head,
                                    http::method request_method) {
    auto& s = progress_;
    const char* const end = begin_call(s, buffer, head, limits_);
    const char* const buf = buffer.data();

    if (s.stage < st_line_start) {
        int r = parse_status_line(buf, end, s, leniency_);
        if (r == k_more) return incomplete(s, buffer, limits_);
        if (r != k_done) return failed(s, r);
        if (buf[5] != '1') return failed(s, fail(errc::unsupported_version));
        const int code = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
        if (code < 100 || code > 599) return failed(s, fail(errc::invalid_status_code));
        s.status = static_cast<std::uint16_t>(code);
        s.stage = st_line_start;
    }

    int r = parse_fields(buf, end, s, head.fields, limits_, leniency_, false);
    if (r == k_more) return incomplete(s, buffer, limits_);
    if (r != k_done) return failed(s, r);

    head.version_minor = buf[7] == '0' ? 0 : 1;
    head.status = s.status;
    head.reason = {buf + s.line0, s.line1 - s.line0};
    if (int e = finish_response(head, s, request_method, limits_); e != k_done) return failed(s, e);
    s.finished = true;
    return parse_result::done(s.pos);
}

// ---------------------------------------------------------------------------------------------
// Chunked decoding (RFC 9112 §7.1):
//   chunked-body = *chunk last-chunk trailer-section CRLF
//   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//   chunk-ext    = *( BWS ";" BWS ext-name [ BWS "=" BWS ( token / quoted-string ) ] )

namespace {

enum : std::uint8_t {
    ch_size_start = 0,
    ch_size,
    ch_ext_bws,        // whitespace that must lead to ';'
    ch_ext_name_start, // after ';'
    ch_ext_name,
    ch_ext_after_name,  // whitespace after a name: '=' or ';' follows
    ch_ext_value_start, // after '='
    ch_ext_value,       // token value
    ch_ext_quoted,
    ch_ext_quoted_pair,
    ch_ext_after_value, // after the closing quote
    ch_size_lf,
    ch_data,
    ch_data_cr,
    ch_data_lf,
    ch_trailer_start,
    ch_trailer_name,
    ch_trailer_value,
    ch_trailer_lf,
    ch_final_lf,
    ch_failed = 254,
};

// qdtext and the second byte of a quoted-pair (RFC 9110 §5.6.4).
constexpr bool is_qdtext(char c) noexcept {
    return c == '\t' || (is(c, k_field) && c != '"' && c != '\\');
}

} // namespace

void chunked_decoder::reset() noexcept {
    chunk_size_ = remaining_ = total_ = 0;
    extension_bytes_ = 0;
    stage_ = ch_size_start;
    error_ = {};
    trailer_text_.clear();
    trailer_fields_.clear();
}

errc chunked_decoder::finish_trailers() {
    // trailer_text_ holds validated "name:value\r\n" lines; split them now that the string
    // will no longer grow and move. The placeholders that counted the lines go.
    trailer_fields_.clear();
    std::string_view text = trailer_text_;
    while (!text.empty()) {
        auto eol = text.find('\n');
        auto line = text.substr(0, eol);
        text.remove_prefix(eol + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        auto colon = line.find(':');
        auto value = line.substr(colon + 1);
        while (!value.empty() && is_ows(value.front())) value.remove_prefix(1);
        while (!value.empty() && is_ows(value.back())) value.remove_suffix(1);
        trailer_fields_.push_back({line.substr(0, colon), value});
    }
    return errc{};
}

decode_result chunked_decoder::decode(std::string_view input) {
    const char* const begin = input.data();
    const char* const end = begin + input.size();
    const char* p = begin;
    auto consumed = [&] { return static_cast<std::size_t>(p - begin); };
    auto fail_with = [&](errc e) {
        stage_ = ch_failed;
        error_ = e;
        return decode_result(e, consumed());
    };
    if (stage_ == stage_done) return decode_result(parse_state::complete, 0, {});
    if (stage_ == ch_failed) return decode_result(error_, 0);

    // The end of a size line: data follows, or the trailer section after the last chunk.
    auto size_line_done = [&] {
        if (chunk_size_ == 0) {
            stage_ = ch_trailer_start;
        } else {
            remaining_ = chunk_size_;
            stage_ = ch_data;
        }
    };
    // A CR or LF where a size line may end: CR waits for its LF; a bare LF ends the line only
    // with the leniency.
    auto end_size_line = [&](char c) -> std::optional<errc> {
        if (c == '\r') {
            stage_ = ch_size_lf;
        } else if (leniency_.bare_lf) {
            size_line_done();
        } else {
            return errc::bare_line_feed;
        }
        return std::nullopt;
    };
    while (p < end) {
        const char c = *p;
        switch (stage_) {
        case ch_size_start:
            if (!is(c, k_hex)) return fail_with(errc::invalid_chunk_size);
            chunk_size_ = static_cast<std::uint64_t>(hex_value(c));
            stage_ = ch_size;
            break;
        case ch_size:
            if (is(c, k_hex)) {
                if (chunk_size_ > (std::numeric_limits<std::uint64_t>::max() >> 4))
                    return fail_with(errc::chunk_size_overflow);
                chunk_size_ = chunk_size_ << 4 | static_cast<std::uint64_t>(hex_value(c));
                break;
            }
            if (chunk_size_ > limits_.max_body_bytes - std::min(total_, limits_.max_body_bytes))
                return fail_with(errc::body_too_large);
            if (c == ';') {
                stage_ = ch_ext_name_start;
            } else if (is_ows(c)) {
                stage_ = ch_ext_bws;
            } else if (c == '\r' || c == '\n') {
                if (auto e = end_size_line(c)) return fail_with(*e);
            } else {
                return fail_with(errc::invalid_chunk_size);
            }
            break;
        case ch_size_lf:
            if (c != '\n') return fail_with(errc::bare_carriage_return);
            size_line_done();
            break;
        case ch_data: {
            const auto n = static_cast<std::size_t>(
                std::min<std::uint64_t>(remaining_, static_cast<std::uint64_t>(end - p)));
            const std::string_view data(p, n);
            p += n;
            remaining_ -= n;
            total_ += n;
            if (remaining_ == 0) stage_ = ch_data_cr;
            return decode_result(parse_state::incomplete, consumed(), data);
        }
        case ch_data_cr:
            if (c == '\r') {
                stage_ = ch_data_lf;
            } else if (c == '\n' && leniency_.bare_lf) {
                stage_ = ch_size_start;
            } else {
                return fail_with(errc::malformed_chunk);
            }
            break;
        case ch_data_lf:
            if (c != '\n') return fail_with(errc::malformed_chunk);
            stage_ = ch_size_start;
            break;
        case ch_trailer_start:
            if (c == '\r') {
                stage_ = ch_final_lf;
                break;
            }
            if (c == '\n') {
                if (!leniency_.bare_lf) return fail_with(errc::bare_line_feed);
                ++p;
                finish_trailers();
                stage_ = stage_done;
                return decode_result(parse_state::complete, consumed(), {});
            }
            if (is_ows(c)) return fail_with(errc::obs_fold);
            if (!is(c, k_tchar)) return fail_with(errc::invalid_header_name);
            if (trailer_fields_.size() >= limits_.max_headers)
                return fail_with(errc::too_many_headers);
            // Counted here, turned into fields once the section is complete.
            trailer_fields_.push_back({});
            trailer_text_.push_back(c);
            stage_ = ch_trailer_name;
            break;
        case ch_trailer_name:
            if (c == ':') {
                stage_ = ch_trailer_value;
            } else if (!is(c, k_tchar)) {
                return fail_with(is_ows(c) ? errc::whitespace_before_colon
                                           : errc::invalid_header_name);
            }
            trailer_text_.push_back(c);
            break;
        case ch_trailer_value:
            if (c == '\r') {
                stage_ = ch_trailer_lf;
                break;
            }
            if (c == '\n') {
                if (!leniency_.bare_lf) return fail_with(errc::bare_line_feed);
                trailer_text_.append("\r\n");
                stage_ = ch_trailer_start;
                break;
            }
            if (c != '\t' && !is(c, k_field)) return fail_with(errc::invalid_header_value);
            trailer_text_.push_back(c);
            break;
        case ch_trailer_lf:
            if (c != '\n') return fail_with(errc::bare_carriage_return);
            trailer_text_.append("\r\n");
            stage_ = ch_trailer_start;
            break;
        case ch_final_lf:
            if (c != '\n') return fail_with(errc::bare_carriage_return);
            ++p;
            finish_trailers();
            stage_ = stage_done;
            return decode_result(parse_state::complete, consumed(), {});
        default: {
            // Chunk extensions: validated against the grammar above and dropped.
            if (++extension_bytes_ > limits_.max_header_bytes)
                return fail_with(errc::chunk_extension_too_large);
            if (c == '\r' || c == '\n') {
                // The line may end after a complete name or value, not inside one's syntax.
                if (stage_ != ch_ext_name && stage_ != ch_ext_value && stage_ != ch_ext_after_value)
                    return fail_with(errc::malformed_chunk);
                if (auto e = end_size_line(c)) return fail_with(*e);
                break;
            }
            switch (stage_) {
            case ch_ext_bws:
                if (c == ';')
                    stage_ = ch_ext_name_start;
                else if (!is_ows(c))
                    return fail_with(errc::malformed_chunk);
                break;
            case ch_ext_name_start:
                if (is(c, k_tchar))
                    stage_ = ch_ext_name;
                else if (!is_ows(c))
                    return fail_with(errc::malformed_chunk);
                break;
            case ch_ext_name:
                if (c == '=')
                    stage_ = ch_ext_value_start;
                else if (c == ';')
                    stage_ = ch_ext_name_start;
                else if (is_ows(c))
                    stage_ = ch_ext_after_name;
                else if (!is(c, k_tchar))
                    return fail_with(errc::malformed_chunk);
                break;
            case ch_ext_after_name:
                if (c == '=')
                    stage_ = ch_ext_value_start;
                else if (c == ';')
                    stage_ = ch_ext_name_start;
                else if (!is_ows(c))
                    return fail_with(errc::malformed_chunk);
                break;
            case ch_ext_value_start:
                if (is(c, k_tchar))
                    stage_ = ch_ext_value;
                else if (c == '"')
                    stage_ = ch_ext_quoted;
                else if (!is_ows(c))
                    return fail_with(errc::malformed_chunk);
                break;
            case ch_ext_value:
                if (c == ';')
                    stage_ = ch_ext_name_start;
                else if (is_ows(c))
                    stage_ = ch_ext_bws;
                else if (!is(c, k_tchar))
                    return fail_with(errc::malformed_chunk);
                break;
            case ch_ext_quoted:
                if (c == '"')
                    stage_ = ch_ext_after_value;
                else if (c == '\\')
                    stage_ = ch_ext_quoted_pair;
                else if (!is_qdtext(c))
                    return fail_with(errc::malformed_chunk);
                break;
            case ch_ext_quoted_pair:
                if (c != '\t' && !is(c, k_field)) return fail_with(errc::malformed_chunk);
                stage_ = ch_ext_quoted;
                break;
            case ch_ext_after_value:
                if (c == ';')
                    stage_ = ch_ext_name_start;
                else if (is_ows(c))
                    stage_ = ch_ext_bws;
                else
                    return fail_with(errc::malformed_chunk);
                break;
            default:
                assert(false && "chunk stage out of range");
                return fail_with(errc::malformed_chunk);
            }
            break;
        }
        }
        ++p;
        if (stage_ == ch_trailer_name || stage_ == ch_trailer_value) {
            if (trailer_text_.size() > limits_.max_header_bytes)
                return fail_with(errc::header_too_large);
        }
    }
    return decode_result(parse_state::incomplete, consumed(), {});
}

decode_result chunked_decoder::decode_in_place(std::span<char> buffer) {
    std::size_t read = 0;
    std::size_t write = 0;
    for (;;) {
        auto r = decode(std::string_view(buffer.data() + read, buffer.size() - read));
        if (!r.data().empty()) {
            // The decoded bytes always sit at or after `write`, so memmove is enough.
            std::memmove(buffer.data() + write, r.data().data(), r.data().size());
            write += r.data().size();
        }
        read += r.consumed();
        if (r.failed()) return decode_result(r.error(), read);
        if (r.complete() || read == buffer.size())
            return decode_result(r.state(), read, std::string_view(buffer.data(), write));
    }
}

} // namespace snow::http
