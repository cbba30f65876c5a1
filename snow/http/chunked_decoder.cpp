// snow/http/chunked_decoder.cpp: the chunked transfer coding (RFC 9112 §7.1), decoded as the bytes
// arrive, for request bodies on the server and response bodies on the client.
#include "snow/http/parser.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <limits>
#include <optional>

#include "snow/http/grammar.hpp"

namespace snow::http {

// The grammar (RFC 9112 §7.1):
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
        case ch_size_start: {
            const int digit = hex_value(c);
            if (digit < 0) return fail_with(errc::invalid_chunk_size);
            chunk_size_ = static_cast<std::uint64_t>(digit);
            stage_ = ch_size;
            break;
        }
        case ch_size:
            if (const int digit = hex_value(c); digit >= 0) {
                if (chunk_size_ > (std::numeric_limits<std::uint64_t>::max() >> 4))
                    return fail_with(errc::chunk_size_overflow);
                chunk_size_ = chunk_size_ << 4 | static_cast<std::uint64_t>(digit);
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
            if (!is_tchar(c)) return fail_with(errc::invalid_header_name);
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
            } else if (!is_tchar(c)) {
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
            if (!is_field_char(c)) return fail_with(errc::invalid_header_value);
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
                if (is_tchar(c))
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
                else if (!is_tchar(c))
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
                if (is_tchar(c))
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
                else if (!is_tchar(c))
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
                if (!is_field_char(c)) return fail_with(errc::malformed_chunk);
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
