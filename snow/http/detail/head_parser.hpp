// snow/http/detail/head_parser.hpp: what the request and response head parsers share: the resumable
// stages, line ends, the field-line state machine and the incremental call protocol.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "snow/http/grammar.hpp"
#include "snow/http/parser.hpp"

namespace snow::http::detail {

// Step outcomes inside a head: done, need more bytes, or a positive errc value.
constexpr int step_done = 0;
constexpr int step_more = -1;
constexpr int step_fail(errc e) noexcept {
    return static_cast<int>(e);
}

// Head stages; the values of head_progress::stage. The start-line stages come first, so
// `stage < st_line_start` means the start line is still being read.
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

// Where p sits in the message; heads are bounded by head_limit(), so this fits.
inline std::uint32_t offset_of(const char* p, const char* buf) noexcept {
    return static_cast<std::uint32_t>(p - buf);
}

// max_header_bytes, capped so that every offset into a head fits head_progress's fields.
inline std::size_t head_limit(const parser_limits& limits) noexcept {
    return std::min<std::size_t>(limits.max_header_bytes, 0xffff'fff0u);
}

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
    while (p < end && in_class(*p, char_class::field)) ++p;
    return p;
}

// The first byte in [p, end) that a field value or reason phrase may not hold (a control
// character other than HTAB, or DEL): where a well-formed line ends. `end` if there is none yet.
inline const char* skip_field_text(const char* p, const char* end) noexcept {
    for (;;) {
        p = find_control(p, end);
        if (p == end || *p != '\t') return p;
        ++p;
    }
}

// Skips one line terminator at p: CRLF, or LF with the leniency.
inline int skip_line_end(const char*& p, const char* end, const parser_leniency& leniency) {
    if (*p == '\r') {
        if (end - p < 2) return step_more;
        if (p[1] != '\n') return step_fail(errc::bare_carriage_return);
        p += 2;
        return step_done;
    }
    if (*p == '\n') {
        if (!leniency.bare_lf) return step_fail(errc::bare_line_feed);
        ++p;
        return step_done;
    }
    return step_fail(errc::malformed_request_line);
}

/// The field lines after the start line, up to and including the empty line that ends the head;
/// each completed field is appended to `fields` and its meaning (framing, Host, Connection,
/// Expect) recorded in `s`. Returns step_done, step_more (s.pos at the resume point) or an errc.
/// `request` selects the request-only fields (Host, Expect).
int parse_field_lines(const char* buf, const char* end, head_progress& s,
                      std::vector<header_field>& fields, const parser_limits& limits,
                      const parser_leniency& leniency, bool request);

/// Points the views in `fields` at the same offsets of a buffer that moved.
void rebase_fields(std::vector<header_field>& fields, const char* old_base, const char* new_base);

/// Forgets the previous message.
void start_message(head_progress& s) noexcept;

/// Sets up a fresh message on the first call and rebases on later ones; returns the end of the
/// bytes the head may occupy.
template <typename Head>
const char* begin_head_call(head_progress& s, std::string_view buffer, Head& head,
                            const parser_limits& limits) {
    if (s.finished) start_message(s);
    if (s.stage == st_begin && s.pos == 0) {
        // Only the fields need clearing: every other member is assigned on completion.
        head.fields.clear();
    } else if (buffer.data() != s.base && !head.fields.empty()) {
        rebase_fields(head.fields, s.base, buffer.data());
    }
    assert(buffer.size() >= s.pos && "the buffer must only grow between calls");
    s.base = buffer.data();
    return buffer.data() + std::min(buffer.size(), head_limit(limits));
}

inline parse_result head_failed(head_progress& s, int error) {
    s.finished = true;
    return static_cast<errc>(error);
}

inline parse_result head_incomplete(head_progress& s, std::string_view buffer,
                                    const parser_limits& limits) {
    // Once max_header_bytes have arrived without the end of the head, it cannot fit.
    if (buffer.size() >= head_limit(limits))
        return head_failed(s, step_fail(errc::header_too_large));
    return parse_result::need_more();
}

} // namespace snow::http::detail
