// snow/http/websocket/frame.cpp: frame headers read and written, and the masking XOR.
#include "snow/http/websocket/frame.hpp"

#include <cstring>

namespace snow::http::ws {

namespace {

header_parse fail(close_code code = close_code::protocol_error) noexcept {
    header_parse out;
    out.state = header_parse::status::failed;
    out.failure = code;
    return out;
}

bool is_reserved(std::uint8_t op) noexcept {
    return (op >= 0x3 && op <= 0x7) || op >= 0xB;
}

} // namespace

header_parse parse_frame_header(std::span<const std::byte> bytes,
                                const frame_rules& rules) noexcept {
    header_parse out;
    if (bytes.size() < 2) return out;
    const auto first = std::to_integer<std::uint8_t>(bytes[0]);
    const auto second = std::to_integer<std::uint8_t>(bytes[1]);
    frame_header& h = out.header;
    h.fin = (first & 0x80) != 0;
    h.rsv1 = (first & 0x40) != 0;
    h.rsv2 = (first & 0x20) != 0;
    h.rsv3 = (first & 0x10) != 0;
    h.op = static_cast<opcode>(first & 0x0F);
    h.masked = (second & 0x80) != 0;

    // The rules that the first two bytes decide are checked before waiting for the rest, so
    // a broken frame is refused as early as possible.
    if (rules.strict) {
        const auto op = static_cast<std::uint8_t>(h.op);
        if (is_reserved(op)) return fail();
        if (h.rsv2 || h.rsv3) return fail();
        if (h.rsv1 && (!rules.rsv1_allowed || is_control(h.op) || h.op == opcode::continuation))
            return fail();
        if (is_control(h.op) && (!h.fin || (second & 0x7F) > max_control_payload)) return fail();
        if (h.masked != (rules.receiver == role::server)) return fail();
    }

    std::size_t at = 2;
    const std::uint8_t length7 = second & 0x7F;
    if (length7 < 126) {
        h.payload_length = length7;
    } else {
        const std::size_t width = length7 == 126 ? 2 : 8;
        if (bytes.size() < at + width) return out;
        std::uint64_t length = 0;
        for (std::size_t i = 0; i < width; ++i)
            length = (length << 8) | std::to_integer<std::uint8_t>(bytes[at + i]);
        // RFC 6455 §5.2: the most significant bit of a 64-bit length must be 0.
        if (width == 8 && (length >> 63) != 0) return fail();
        h.payload_length = length;
        at += width;
    }
    if (h.masked) {
        if (bytes.size() < at + 4) return out;
        std::memcpy(h.mask.data(), bytes.data() + at, 4);
        at += 4;
    }
    out.state = header_parse::status::complete;
    out.size = at;
    return out;
}

void unmask(std::span<std::byte> payload, const masking_key& key, std::uint64_t offset) noexcept {
    auto* p = reinterpret_cast<unsigned char*>(payload.data());
    const std::size_t n = payload.size();
    const std::size_t phase = offset & 3;
    // The key repeated over a word, starting at the payload's phase: eight is a multiple of
    // four, so the same word fits every later position too.
    unsigned char repeated[8];
    for (std::size_t i = 0; i < 8; ++i)
        repeated[i] = std::to_integer<unsigned char>(key[(phase + i) & 3]);
    std::uint64_t word_key;
    std::memcpy(&word_key, repeated, sizeof word_key);
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        std::uint64_t word;
        std::memcpy(&word, p + i, sizeof word);
        word ^= word_key;
        std::memcpy(p + i, &word, sizeof word);
    }
    for (; i < n; ++i) p[i] ^= repeated[i & 7];
}

std::size_t write_frame_header(std::span<std::byte, max_frame_header> out,
                               const frame_header& h) noexcept {
    auto first = static_cast<std::uint8_t>(static_cast<std::uint8_t>(h.op) & 0x0F);
    if (h.fin) first |= 0x80;
    if (h.rsv1) first |= 0x40;
    if (h.rsv2) first |= 0x20;
    if (h.rsv3) first |= 0x10;
    out[0] = std::byte{first};
    const std::uint8_t mask_bit = h.masked ? 0x80 : 0x00;
    std::size_t at = 2;
    if (h.payload_length < 126) {
        out[1] = std::byte{static_cast<std::uint8_t>(mask_bit | h.payload_length)};
    } else if (h.payload_length <= 0xFFFF) {
        out[1] = std::byte{static_cast<std::uint8_t>(mask_bit | 126)};
        out[2] = std::byte{static_cast<std::uint8_t>(h.payload_length >> 8)};
        out[3] = std::byte{static_cast<std::uint8_t>(h.payload_length)};
        at = 4;
    } else {
        out[1] = std::byte{static_cast<std::uint8_t>(mask_bit | 127)};
        for (std::size_t i = 0; i < 8; ++i)
            out[2 + i] = std::byte{static_cast<std::uint8_t>(h.payload_length >> (56 - 8 * i))};
        at = 10;
    }
    if (h.masked) {
        std::memcpy(out.data() + at, h.mask.data(), 4);
        at += 4;
    }
    return at;
}

std::string encode_frame(frame_header h, std::span<const std::byte> payload) {
    h.payload_length = payload.size();
    std::array<std::byte, max_frame_header> header;
    const std::size_t header_size = write_frame_header(header, h);
    std::string out;
    out.resize(header_size + payload.size());
    std::memcpy(out.data(), header.data(), header_size);
    if (!payload.empty()) std::memcpy(out.data() + header_size, payload.data(), payload.size());
    if (h.masked) {
        auto* body = reinterpret_cast<std::byte*>(out.data() + header_size);
        unmask(std::span<std::byte>(body, payload.size()), h.mask);
    }
    return out;
}

} // namespace snow::http::ws
