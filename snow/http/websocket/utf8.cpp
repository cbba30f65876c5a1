// snow/http/websocket/utf8.cpp: the validator's state machine, with ASCII taken eight bytes at a
// time, since most text is ASCII.
#include "snow/http/websocket/utf8.hpp"

#include <cstring>

namespace snow::http::ws {

bool utf8_validator::feed(std::span<const std::byte> bytes) noexcept {
    if (failed_) return false;
    const auto* at = reinterpret_cast<const unsigned char*>(bytes.data());
    const auto* const end = at + bytes.size();
    while (at != end) {
        if (needed_ == 0) {
            // Between code points: skip whole words of ASCII.
            while (end - at >= 8) {
                std::uint64_t word;
                std::memcpy(&word, at, sizeof word);
                if ((word & 0x8080808080808080ULL) != 0) break;
                at += 8;
            }
            if (at == end) break;
            const unsigned char lead = *at++;
            if (lead < 0x80) continue;
            // The lead byte fixes the length and narrows the first continuation byte's range,
            // which is where overlongs (E0, F0), surrogates (ED) and code points past
            // U+10FFFF (F4) are refused (RFC 3629 §4).
            low_ = 0x80;
            high_ = 0xBF;
            if (lead >= 0xC2 && lead <= 0xDF) {
                needed_ = 1;
            } else if (lead >= 0xE0 && lead <= 0xEF) {
                needed_ = 2;
                if (lead == 0xE0) low_ = 0xA0;
                if (lead == 0xED) high_ = 0x9F;
            } else if (lead >= 0xF0 && lead <= 0xF4) {
                needed_ = 3;
                if (lead == 0xF0) low_ = 0x90;
                if (lead == 0xF4) high_ = 0x8F;
            } else {
                failed_ = true; // 80..C1 (a stray continuation, or an overlong lead), F5..FF
                return false;
            }
            continue;
        }
        const unsigned char next = *at++;
        if (next < low_ || next > high_) {
            failed_ = true;
            return false;
        }
        --needed_;
        low_ = 0x80;
        high_ = 0xBF;
    }
    return true;
}

bool is_valid_utf8(std::string_view text) noexcept {
    utf8_validator v;
    return v.feed(text) && v.complete();
}

} // namespace snow::http::ws
