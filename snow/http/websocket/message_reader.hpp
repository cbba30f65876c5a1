// snow/http/websocket/message_reader.hpp: the receiving side of the protocol without a socket:
// frames read from the caller's bytes, unmasked in place, fragments joined into messages with
// control frames between them, the size limit applied from the headers alone, and text
// checked for UTF-8 as it arrives.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "snow/core/export.hpp"
#include "snow/http/websocket/close.hpp"
#include "snow/http/websocket/deflate.hpp"
#include "snow/http/websocket/frame.hpp"
#include "snow/http/websocket/message.hpp"
#include "snow/http/websocket/utf8.hpp"

namespace snow::http::ws {

/// What a message_reader holds its peer to.
struct reader_options {
    /// This end's role: a server requires masked frames.
    role receiver = role::server;
    /// The largest message, fragments together, in bytes. A message is refused with
    /// message_too_big as soon as its frames' declared lengths pass it, before their
    /// payload is read.
    std::size_t max_message_size = std::size_t{1} << 20;
    /// Whether an extension using RSV1 was negotiated (see frame_rules).
    bool rsv1_allowed = false;
    /// How the peer compresses, when permessage-deflate was agreed: a message whose first
    /// frame has RSV1 set is inflated as it arrives, and max_message_size bounds its
    /// inflated size (its frames' declared lengths are held to it too).
    std::optional<deflate_direction> deflate{};
};

/// What message_reader::read() found.
struct read_step {
    /// The kinds of finding.
    enum class kind : unsigned char {
        need_more, ///< every byte given was used; give more once they arrive
        message,   ///< a message is complete: take_message()
        control,   ///< a ping, pong or close frame: `control` and control_payload()
        failed,    ///< the peer broke the protocol: close with `failure`
    };
    kind what = kind::need_more; ///< the finding
    /// Bytes used from the front of the input, to drop before the next call (whatever the
    /// finding, failures included).
    std::size_t consumed = 0;
    opcode control = opcode::ping; ///< the control frame's opcode, for kind::control
    close_code failure = close_code::protocol_error; ///< the close code, for kind::failed
};

/// Reads frames from received bytes and hands over messages and control frames one at a time:
/// call read() with the bytes not yet consumed, drop `consumed` bytes from their front, act
/// on the finding, and call it again. It keeps a partial frame's header unconsumed until the
/// header is whole, and takes a data frame's payload as it comes, so the caller's buffer never
/// needs to hold more than what one receive brought.
///
/// Rules (RFC 6455 §5): those of parse_frame_header(); a continuation only inside a message
/// and a new text or binary frame only outside one (protocol_error); a message larger than
/// the limit (message_too_big); text that is not UTF-8, refused at the first bad byte even in
/// an unfinished fragment (invalid_payload); a compressed message that inflates past the
/// limit (message_too_big) or is not deflate data (invalid_payload). After a failure the reader
/// must not be used again, except after ignore_data().
class SNOW_API message_reader {
public:
    /// A reader holding its peer to `options`.
    explicit message_reader(const reader_options& options) noexcept
        : options_(options)
        , inflater_(options.deflate.value_or(deflate_direction{})) {}

    /// Reads from the front of `input`, unmasking (and inflating) what it takes. Stops at the first
    /// message, control frame or failure; need_more when every byte was used (a partial
    /// header is left unconsumed). Throws std::bad_alloc only if a message's storage cannot
    /// grow.
    read_step read(std::span<std::byte> input);

    /// The message a kind::message step completed; the reader starts the next one.
    message take_message() noexcept;
    /// The payload of the control frame a kind::control step found, unmasked (at most 125
    /// bytes); valid until the next read().
    std::span<const std::byte> control_payload() const noexcept {
        return std::span<const std::byte>(control_).first(control_size_);
    }

    /// From now on, checks nothing and keeps no data: data frames are skipped and only close
    /// frames are reported. For the end of a close handshake this end began, when what the
    /// peer still sends matters only for its close frame.
    void ignore_data() noexcept;
    /// Whether a fragmented message has begun and not ended.
    bool in_message() const noexcept { return in_message_; }
    /// Payload bytes of the current data frame still to come (0 between frames): how much a
    /// receive may usefully ask for.
    std::uint64_t payload_remaining() const noexcept { return frame_remaining_; }

private:
    read_step fail(std::size_t consumed, close_code why) noexcept;
    read_step take_payload(std::span<std::byte> input, std::size_t at);
    /// Keeps `piece` of the message, inflated if it is compressed; false after fail().
    bool keep(std::span<const std::byte> piece, close_code& why);

    reader_options options_;
    bool ignoring_ = false;
    // The message being assembled.
    bool in_message_ = false;
    bool compressed_ = false; // its first frame had RSV1 set
    message_kind kind_ = message_kind::text;
    std::string payload_;
    std::size_t declared_ = 0; // its frames' declared lengths so far
    utf8_validator utf8_;
    // The data frame whose payload is arriving.
    bool in_frame_ = false;
    bool frame_fin_ = false;
    bool frame_masked_ = false;
    masking_key frame_mask_{};
    std::uint64_t frame_offset_ = 0;
    std::uint64_t frame_remaining_ = 0;
    // The last control frame's payload.
    std::array<std::byte, max_control_payload> control_{};
    std::size_t control_size_ = 0;
    // The peer's compression: its zlib stream comes with the first compressed message.
    inflater inflater_;
};

} // namespace snow::http::ws
