// snow/net/framing.hpp: length-prefixed messages: a 4-byte big-endian length, then that many
// bytes. The fix for "sticky packets": a reader gets whole messages however TCP splits them.
#pragma once

#include <cstddef>
#include <span>

#include "snow/core/export.hpp"
#include "snow/net/buffered_reader.hpp"
#include "snow/net/tcp_stream.hpp"

namespace snow::net {

/// The largest frame payload read_frame() accepts unless told otherwise: 1 MiB.
inline constexpr std::size_t default_max_frame = 1 << 20;

/// The next frame's payload, valid until the next read on `reader`. Errors: errc::eof
/// (clean end between frames or a cut frame), errc::message_too_long for a length over
/// `max_bytes`: the caller should close the connection, since the stream is now unframed.
SNOW_API task<result<std::span<const std::byte>>>
read_frame(buffered_reader& reader, std::size_t max_bytes = default_max_frame);

/// Sends one frame: header and payload in one gathering write.
SNOW_API task<result<void>> write_frame(tcp_stream& stream, std::span<const std::byte> payload);

} // namespace snow::net
