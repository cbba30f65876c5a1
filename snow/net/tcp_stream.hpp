// snow/net/tcp_stream.hpp: a connected TCP socket. recv/send are single io_uring requests
// awaited in place (add .timeout(d) for a kernel-side deadline); send_all loops until every
// byte is out. EOF is recv() returning 0; reset, refused and timeout come back as errors.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

#include "snow/core/export.hpp"
#include "snow/core/result.hpp"
#include "snow/core/task.hpp"
#include "snow/io/ops.hpp"
#include "snow/net/address.hpp"
#include "snow/net/file_descriptor.hpp"

namespace snow::net {

/// How tcp_stream::connect() connects.
struct connect_options {
    /// Gives up on the handshake after this long (std::errc::timed_out). None: the kernel's.
    std::optional<std::chrono::nanoseconds> timeout;
    bool no_delay = true; ///< TCP_NODELAY: small writes go out at once
};

/// A connected TCP socket. recv, recv_pooled, wait_readable, send, shutdown and close are each one
/// io_uring request, awaited with `co_await` and yielding a result, and can carry a
/// kernel-side deadline: `co_await s.recv(buffer).timeout(2s)`. See the README's
/// cancel-safety table for what a cancelled one leaves behind.
class SNOW_API tcp_stream {
public:
    tcp_stream() noexcept = default;
    /// Takes ownership of a connected socket.
    explicit tcp_stream(file_descriptor fd) noexcept : fd_(std::move(fd)) {}

    /// Connects to `peer`. Errors: connection_refused, network_unreachable, timed_out, …
    static task<result<tcp_stream>> connect(address peer, connect_options options = {});
    /// Resolves `host`, then races its addresses as RFC 8305 says (net/happy_eyeballs.hpp):
    /// IPv6 first, the next address 250 ms later or as soon as one fails, the first to
    /// connect winning. Errors: errc::resolve_failed, or the attempts' connect error.
    static task<result<tcp_stream>> connect(std::string host, std::uint16_t port,
                                            connect_options options = {});

    /// Bytes received into `buffer`; 0 means the peer closed its side.
    io::recv_op recv(std::span<std::byte> buffer) noexcept { return {fd_.get(), buffer}; }
    /// Waits for bytes without a buffer of its own: the kernel picks one from `pool` when data
    /// arrives (an empty result is end of stream). Errors: no_buffer_space if none is free.
    io::recv_pooled_op recv_pooled(io::buffer_pool& pool) noexcept { return {fd_.get(), pool}; }
    /// Waits, holding no buffer, until a recv() would not wait: bytes or the peer's close
    /// (POLLIN), or an error, are there. Yields the poll events.
    io::poll_op wait_readable() noexcept { return {fd_.get(), POLLIN}; }
    /// Bytes sent from `buffer`, possibly fewer than its size. Never raises SIGPIPE.
    io::send_op send(std::span<const std::byte> buffer) noexcept { return {fd_.get(), buffer}; }
    /// Sends every byte of `buffer` (or fails). `buffer` must stay valid until it returns.
    task<result<void>> send_all(std::span<const std::byte> buffer);
    /// Sends every byte of `text`, which must stay valid until it returns.
    task<result<void>> send_all(std::string_view text);
    /// Sends every byte of every buffer in one gathering write per round.
    task<result<void>> send_all(std::span<iovec> buffers);

    /// Shuts down one or both directions (SHUT_WR sends FIN after pending data).
    io::shutdown_op shutdown(int how = SHUT_WR) noexcept { return {fd_.get(), how}; }
    /// Closes the socket on the ring. The stream is empty afterwards.
    io::close_op close() noexcept { return io::close_op{fd_.release()}; }

    /// Sets TCP_NODELAY: with it on, small writes go out at once.
    result<void> set_no_delay(bool on) noexcept;
    /// The local address of the connection.
    result<address> local_address() const;
    /// The address of the peer.
    result<address> peer_address() const;

    /// The socket's descriptor, still owned by the stream.
    int native_handle() const noexcept { return fd_.get(); }
    /// Whether the stream holds a socket (it is empty after close() or a move).
    bool is_open() const noexcept { return fd_.is_open(); }

private:
    file_descriptor fd_;
};

/// std::as_bytes for text.
inline std::span<const std::byte> as_bytes(std::string_view text) noexcept {
    return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}
/// The inverse of as_bytes(): bytes viewed as text.
inline std::string_view as_text(std::span<const std::byte> bytes) noexcept {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

} // namespace snow::net
