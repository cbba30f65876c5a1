// tests/http/websocket/frames.hpp: building the frames a client sends (masked, with a fixed
// key so failures are reproducible) and small byte helpers, for the codec and server tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "snow/http/websocket/frame.hpp"

namespace snow::testing {

inline std::span<const std::byte> bytes_of(std::string_view text) noexcept {
    return std::as_bytes(std::span<const char>(text.data(), text.size()));
}

inline constexpr http::ws::masking_key test_key{std::byte{0x37}, std::byte{0xfa}, std::byte{0x21},
                                                std::byte{0x3d}};

/// One frame as a client sends it: masked with test_key unless `masked` is false.
inline std::string client_frame(http::ws::opcode op, std::string_view payload, bool fin = true,
                                bool masked = true) {
    http::ws::frame_header h;
    h.op = op;
    h.fin = fin;
    h.masked = masked;
    h.mask = test_key;
    return http::ws::encode_frame(h, bytes_of(payload));
}

/// A close frame's payload: the code in network order, then the reason.
inline std::string close_body(std::uint16_t code, std::string_view reason = "") {
    std::string out;
    out.push_back(static_cast<char>(code >> 8));
    out.push_back(static_cast<char>(code & 0xff));
    out.append(reason);
    return out;
}

/// A server's unmasked frame, as the server under test should send it.
inline std::string server_frame(http::ws::opcode op, std::string_view payload) {
    http::ws::frame_header h;
    h.op = op;
    return http::ws::encode_frame(h, bytes_of(payload));
}

} // namespace snow::testing
