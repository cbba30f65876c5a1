// snow/http/websocket/frame.hpp: the WebSocket frame (RFC 6455 §5.2): its header read in place
// from received bytes and checked against the protocol's rules, masking, and headers written
// for either end (a server's frames unmasked, a client's masked).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "snow/core/export.hpp"
#include "snow/http/websocket/close.hpp"

namespace snow::http::ws {

/// A frame's opcode (RFC 6455 §5.2). The values 3..7 and 11..15 are reserved: a frame
/// carrying one breaks the protocol.
enum class opcode : std::uint8_t {
    continuation = 0x0, ///< the next fragment of a text or binary message
    text = 0x1,         ///< the first (or only) frame of a UTF-8 text message
    binary = 0x2,       ///< the first (or only) frame of a binary message
    close = 0x8,        ///< the close handshake
    ping = 0x9,         ///< asks for a pong
    pong = 0xA,         ///< answers a ping, or a heartbeat of its own
};

/// Whether `op` is a control frame's (close, ping, pong): never fragmented, at most 125 bytes.
constexpr bool is_control(opcode op) noexcept {
    return (static_cast<std::uint8_t>(op) & 0x8) != 0;
}

/// The largest payload of a control frame.
inline constexpr std::size_t max_control_payload = 125;
/// The largest frame header: 2 bytes, a 64-bit length and a masking key.
inline constexpr std::size_t max_frame_header = 14;

/// The 4-byte key a client masks its payloads with.
using masking_key = std::array<std::byte, 4>;

/// Which end of the connection this is: it decides which frames must be masked.
enum class role : unsigned char {
    server, ///< receives masked frames, sends unmasked ones
    client, ///< receives unmasked frames, sends masked ones
};

/// A frame's header, as read or to be written.
struct frame_header {
    bool fin = true;                  ///< the last frame of its message
    bool rsv1 = false;                ///< reserved for an extension (permessage-deflate uses it)
    bool rsv2 = false;                ///< reserved for an extension
    bool rsv3 = false;                ///< reserved for an extension
    opcode op = opcode::text;         ///< what the frame carries
    bool masked = false;              ///< whether the payload is masked with `mask`
    masking_key mask{};               ///< the masking key, when masked
    std::uint64_t payload_length = 0; ///< the payload's length in bytes
};

/// What a receiver holds frame headers to.
struct frame_rules {
    /// This end: a server requires its peer's frames masked, a client requires them unmasked.
    role receiver = role::server;
    /// Whether an extension using RSV1 (permessage-deflate) was negotiated: RSV1 may then be
    /// set on the first frame of a data message, never on a control frame or a continuation.
    bool rsv1_allowed = false;
    /// False reads only the header's structure and checks no rule: for skipping what a peer
    /// sends while a close handshake this end began runs its course.
    bool strict = true;
};

/// What parse_frame_header() found.
struct header_parse {
    /// Whether the header was complete, incomplete, or broke a rule.
    enum class status : unsigned char {
        need_more, ///< the bytes end inside the header
        complete,  ///< `header` and `size` are set
        failed,    ///< a rule was broken: close the connection with `failure`
    };
    status state = status::need_more; ///< the outcome
    frame_header header{};            ///< the header, when complete
    std::size_t size = 0;             ///< the header's length on the wire, when complete
    close_code failure = close_code::protocol_error; ///< the close code, when failed

    /// Whether the bytes end inside the header.
    bool need_more() const noexcept { return state == status::need_more; }
    /// Whether the header is complete.
    bool complete() const noexcept { return state == status::complete; }
    /// Whether the header broke a rule.
    bool failed() const noexcept { return state == status::failed; }
};

/// Reads the frame header at the front of `bytes`. Checked against `rules` (RFC 6455 §5.2,
/// §5.5): RSV bits clear unless an extension allows RSV1, no reserved opcode, control
/// frames final and at most 125 bytes, masking as the receiver's role requires. Always: a
/// 64-bit length must have its most significant bit clear. A length in more bytes than it
/// needs is accepted, as the RFC asks of a receiver. Failures are protocol_error.
SNOW_API header_parse parse_frame_header(std::span<const std::byte> bytes,
                                         const frame_rules& rules) noexcept;

/// XORs `payload` with `key`, in place: masks and unmasks alike. `offset` is where `payload`
/// starts within the frame's payload, so a payload received in pieces is unmasked piece by
/// piece. Eight bytes at a time.
SNOW_API void unmask(std::span<std::byte> payload, const masking_key& key,
                     std::uint64_t offset = 0) noexcept;

/// Writes `h` into `out` in its shortest form, the masking key last when `h.masked`; returns
/// the header's length (2 to 14).
SNOW_API std::size_t write_frame_header(std::span<std::byte, max_frame_header> out,
                                        const frame_header& h) noexcept;

/// A whole frame, header and payload, ready to send: unmasked when `h.masked` is false (a
/// server's), otherwise with the payload masked by `h.mask` (a client's). `h.payload_length`
/// is taken from `payload`.
SNOW_API std::string encode_frame(frame_header h, std::span<const std::byte> payload);

} // namespace snow::http::ws
