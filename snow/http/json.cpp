// snow/http/json.cpp: escaping for JSON string literals.
#include "snow/http/json.hpp"

#include <fmt/format.h>

#include <iterator>

namespace snow::http {
namespace {

/// The length of the valid UTF-8 sequence at the front of `s`, or 0 if it is not one.
std::size_t utf8_sequence(std::string_view s) noexcept {
    const auto b0 = static_cast<unsigned char>(s[0]);
    std::size_t length = 0;
    unsigned min_second = 0x80;
    unsigned max_second = 0xbf;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
        length = 2;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
        length = 3;
        if (b0 == 0xe0) min_second = 0xa0; // overlong
        if (b0 == 0xed) max_second = 0x9f; // surrogates
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
        length = 4;
        if (b0 == 0xf0) min_second = 0x90; // overlong
        if (b0 == 0xf4) max_second = 0x8f; // beyond U+10FFFF
    } else {
        return 0;
    }
    if (s.size() < length) return 0;
    for (std::size_t i = 1; i < length; ++i) {
        const auto b = static_cast<unsigned char>(s[i]);
        const unsigned lo = i == 1 ? min_second : 0x80;
        const unsigned hi = i == 1 ? max_second : 0xbf;
        if (b < lo || b > hi) return 0;
    }
    return length;
}

} // namespace

void append_json_string(std::string& out, std::string_view text, json_bytes non_ascii) {
    out.push_back('"');
    while (!text.empty()) {
        const auto c = static_cast<unsigned char>(text[0]);
        if (c >= 0x80 && non_ascii == json_bytes::utf8) {
            const std::size_t n = utf8_sequence(text);
            out.append(n == 0 ? std::string_view("\\ufffd") : text.substr(0, n));
            text.remove_prefix(n == 0 ? 1 : n);
            continue;
        }
        text.remove_prefix(1);
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if (c < 0x20 || c >= 0x7f)
                fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
            else
                out.push_back(static_cast<char>(c));
        }
    }
    out.push_back('"');
}

} // namespace snow::http
