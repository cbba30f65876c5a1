// snow/http/websocket/deflate.hpp: permessage-deflate (RFC 7692): the negotiation of its
// parameters in the opening handshake, and zlib's raw deflate per message in each direction.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "snow/core/export.hpp"
#include "snow/core/result.hpp"
#include "snow/http/websocket/frame.hpp"

struct z_stream_s; // zlib's stream, kept out of snow's headers

namespace snow::http::ws {

/// What one end asks for, or accepts, of permessage-deflate.
struct deflate_options {
    /// Whether compression is offered (client) or accepted (server).
    bool enabled = true;
    /// The server compresses each message on its own. A server asks it of itself (and then
    /// a hub compresses a broadcast once per loop for all such connections); a client asks it
    /// of the server.
    bool server_no_context_takeover = false;
    /// The client compresses each message on its own: a server asks it of the client, a client
    /// announces it.
    bool client_no_context_takeover = false;
    /// The server's LZ77 window, 8..15 bits: a server's bound on its own, a client's request
    /// when below 15.
    int server_max_window_bits = 15;
    /// The client's LZ77 window, 8..15 bits: a client's bound on its own, a server's request
    /// when below 15 (made only when the client offers client_max_window_bits).
    int client_max_window_bits = 15;
    /// Messages shorter than this are sent uncompressed (RSV1 clear), where deflate's few
    /// bytes of framing outweigh what it saves.
    std::size_t min_size = 32;
    /// zlib's compression level, 1 (fastest) to 9 (smallest).
    int level = 6;
};

/// What the handshake agreed on.
struct deflate_params {
    bool server_no_context_takeover = false; ///< the server resets its compressor per message
    bool client_no_context_takeover = false; ///< the client resets its compressor per message
    int server_max_window_bits = 15;         ///< the server's window bound, 8..15
    int client_max_window_bits = 15;         ///< the client's window bound, 8..15
};

/// A server's acceptance of an offer.
struct deflate_agreement {
    deflate_params params{}; ///< what both ends now follow
    std::string response{};  ///< the Sec-WebSocket-Extensions value to answer with
};

/// For a server: the first offer of permessage-deflate in `fields` (the values of every
/// Sec-WebSocket-Extensions field) that it can accept under `mine`, with its answer
/// (RFC 7692 §7.1). Offers with an unknown or repeated parameter or an invalid value are
/// skipped, as are other extensions; none acceptable (or `mine.enabled` false): nullopt.
SNOW_API std::optional<deflate_agreement>
negotiate_deflate(std::span<const std::string_view> fields, const deflate_options& mine);

/// For a client: its Sec-WebSocket-Extensions offer under `mine`.
SNOW_API std::string deflate_offer(const deflate_options& mine);

/// For a client that sent deflate_offer(`mine`): what the server's answer `fields` agreed on;
/// nullopt when it answered with no extension. Errors: std::errc::protocol_error for an
/// answer the offer does not allow (another extension, more than one, an unknown, repeated
/// or out-of-range parameter, a bound looser than asked, client_max_window_bits not offered).
SNOW_API result<std::optional<deflate_params>>
accept_deflate_answer(std::span<const std::string_view> fields, const deflate_options& mine);

/// One direction's compressor, from the sender's view of the agreement.
struct deflate_direction {
    int window_bits = 15;             ///< the LZ77 window the sender may use
    bool no_context_takeover = false; ///< a fresh window for each message
};

/// The direction that `sender` compresses in, under `p`.
SNOW_API deflate_direction direction_of(const deflate_params& p, role sender) noexcept;

/// Compresses whole messages for one direction. Its zlib stream (about 256 KiB at 15 bits)
/// is allocated at the first message, and, without context takeover, freed after each one,
/// so a connection that sends nothing compressed holds none.
class SNOW_API deflater {
public:
    /// A compressor for `direction` at zlib `level`.
    deflater(deflate_direction direction, int level) noexcept;
    deflater(const deflater&) = delete;
    deflater& operator=(const deflater&) = delete;
    ~deflater();

    /// Whether it can compress at all: zlib refuses a raw deflate window of 8 bits (and one of
    /// 9 could reach 512 bytes back, past a peer's 256), so with 8 agreed every message goes
    /// uncompressed, which RFC 7692 always allows.
    bool usable() const noexcept { return direction_.window_bits >= 9; }
    /// Appends `in`, compressed as one message, to `out`, without the final 00 00 ff ff
    /// (RFC 7692 §7.2.1). Errors: std::errc::not_enough_memory.
    result<void> compress(std::span<const std::byte> in, std::string& out);
    /// Frees the zlib stream (and the window with it).
    void release() noexcept;

private:
    deflate_direction direction_;
    int level_;
    std::unique_ptr<z_stream_s> stream_;
};

/// What inflater::feed() and finish() found.
enum class inflate_status : unsigned char {
    ok,        ///< inflated; go on
    too_big,   ///< the message passes the limit: close with message_too_big
    bad_data,  ///< not deflate data: close with invalid_payload
    no_memory, ///< zlib's allocation failed: close with internal_error
};

/// Decompresses received messages for one direction, into the message's storage, in chunks
/// of at most 16 KiB and never past a limit: a small message that inflates without end (a
/// deflate bomb) stops at limit + 1 bytes. Its zlib stream (about 40 KiB at 15 bits) is
/// allocated at the first compressed message, and without context takeover freed after each.
class SNOW_API inflater {
public:
    /// A decompressor for what a peer compresses under `direction`.
    explicit inflater(deflate_direction direction) noexcept;
    inflater(const inflater&) = delete;
    inflater& operator=(const inflater&) = delete;
    /// Takes over `other`'s stream and window.
    inflater(inflater&& other) noexcept;
    /// Frees this one's stream, then takes over `other`'s.
    inflater& operator=(inflater&& other) noexcept;
    ~inflater();

    /// Inflates `in`, the next compressed bytes of a message, appending to `out`, which must
    /// not grow past `limit` bytes.
    inflate_status feed(std::span<const std::byte> in, std::string& out, std::size_t limit);
    /// Ends the message: inflates the 00 00 ff ff the sender left out, then forgets the
    /// window without context takeover.
    inflate_status finish(std::string& out, std::size_t limit);
    /// Frees the zlib stream.
    void release() noexcept;

private:
    deflate_direction direction_;
    std::unique_ptr<z_stream_s> stream_;
};

} // namespace snow::http::ws
