// snow/http/websocket/utf8.hpp: UTF-8 validation per RFC 3629, incremental, so a text message
// is checked as its fragments arrive and refused at the first byte that cannot belong to it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "snow/core/export.hpp"

namespace snow::http::ws {

/// Checks a byte sequence for well-formed UTF-8 (RFC 3629) across any number of pieces, cut
/// anywhere, even inside a code point. Refused: bytes that never occur (C0, C1, F5..FF),
/// overlong forms, UTF-16 surrogates (U+D800..U+DFFF) and code points above U+10FFFF.
class SNOW_API utf8_validator {
public:
    /// Checks the next piece. False as soon as the bytes seen so far cannot begin valid UTF-8
    /// (the validator stays failed until reset()); a piece that ends inside a code point is
    /// fine: the rest may follow in the next piece.
    bool feed(std::span<const std::byte> bytes) noexcept;
    /// The same for text.
    bool feed(std::string_view text) noexcept {
        return feed(std::as_bytes(std::span<const char>(text.data(), text.size())));
    }
    /// Whether everything fed so far is valid and ends at a code point's end: what a whole
    /// message must satisfy.
    bool complete() const noexcept { return !failed_ && needed_ == 0; }
    /// Whether a byte fed so far was refused.
    bool failed() const noexcept { return failed_; }
    /// Starts over, for the next message.
    void reset() noexcept { *this = utf8_validator{}; }

private:
    std::uint8_t needed_ = 0; // continuation bytes still owed by the current code point
    std::uint8_t low_ = 0x80; // the range the next continuation byte must fall in
    std::uint8_t high_ = 0xBF;
    bool failed_ = false;
};

/// Whether `text` is well-formed UTF-8 as a whole.
SNOW_API bool is_valid_utf8(std::string_view text) noexcept;

} // namespace snow::http::ws
