// snow/net/buffered_reader.hpp: buffered reads over a tcp_stream for line and length-prefixed
// protocols: read_exact, read_line, read_until, each bounded by a caller's maximum so a peer
// cannot make the buffer grow without limit.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include "snow/core/export.hpp"
#include "snow/core/result.hpp"
#include "snow/core/task.hpp"
#include "snow/net/receive_buffer.hpp"
#include "snow/net/tcp_stream.hpp"

namespace snow::net {

/// Reads exact sizes, lines or delimited records from a tcp_stream, keeping what it received
/// beyond them for the next read. Not cancel-safe on its own: a cancelled read may have
/// received part of a record, which stays buffered for the next read.
class SNOW_API buffered_reader {
public:
    /// A reader of `stream`, which must outlive it.
    explicit buffered_reader(tcp_stream& stream, std::size_t initial_capacity = 4096);

    /// Exactly `n` bytes. The view stays valid until the next read.
    /// Errors: errc::eof if the stream ends first; the stream's errors.
    task<result<std::span<const std::byte>>> read_exact(std::size_t n);

    /// The next line without its "\n" (and without a "\r" before it). Errors: errc::eof,
    /// errc::message_too_long when no newline comes within `max_bytes`.
    task<result<std::string_view>> read_line(std::size_t max_bytes);

    /// Everything before the next `delimiter` (which is consumed too), within `max_bytes`.
    task<result<std::string_view>> read_until(std::string_view delimiter, std::size_t max_bytes);

    /// Bytes received but not yet returned by a read.
    std::span<const std::byte> buffered() const noexcept { return buffer_.bytes(); }

    /// The stream read from (to write replies on it).
    tcp_stream& stream() noexcept { return stream_; }

private:
    /// Receives more, after making room for at least `wanted` bytes in total.
    task<result<void>> fill(std::size_t wanted);
    void release_previous() noexcept;

    tcp_stream& stream_;
    receive_buffer buffer_;
    std::size_t handed_out_ = 0; // bytes the last read returned, consumed at the next read
};

} // namespace snow::net
