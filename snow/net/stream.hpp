// snow/net/stream.hpp: a connected byte stream, plain TCP or TLS over TCP, behind one type, so
// protocol code neither branches on the transport nor is templated over it. A plaintext
// read is the bare io_uring request, awaited in place with no coroutine frame of its own.
#pragma once

#include <sys/uio.h>

#include <coroutine>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "snow/core/export.hpp"
#include "snow/core/result.hpp"
#include "snow/core/task.hpp"
#include "snow/io/ops.hpp"
#include "snow/net/tcp_stream.hpp"
#include "snow/net/tls_context.hpp"

namespace snow::net {

namespace detail {
class tls_session;
}

/// A connected stream, plain or TLS. Operations must not outlive it, and one task reads
/// while at most one other writes. See the README's cancel-safety table: a cancelled TLS
/// read leaves nothing in the caller's buffer and loses no bytes; a cancelled TLS write
/// breaks the session, since a record cut short cannot be resumed.
class SNOW_API stream {
public:
    stream() noexcept;
    /// Plain TCP.
    explicit stream(tcp_stream tcp) noexcept;
    ///@{
    /// Moves the connection; the moved-from stream is empty.
    stream(stream&&) noexcept;
    stream& operator=(stream&&) noexcept;
    ///@}
    ~stream();

    /// TLS over `tcp` as a client of `host`, after a completed handshake. The certificate
    /// must match `host` (a name, or an IP literal) unless `context` skips verification.
    /// Errors: tls_errc::handshake_failed, a verify_error(), or the socket's.
    static task<result<stream>> connect_tls(tcp_stream tcp, tls_context context, std::string host);
    /// TLS over `tcp` as a server, after a completed handshake.
    static task<result<stream>> accept_tls(tcp_stream tcp, tls_context context);
    /// The same when the first bytes of the handshake were read from `tcp` already (they
    /// followed a PROXY header): the session starts with a copy of `received`.
    static task<result<stream>> accept_tls(tcp_stream tcp, tls_context context,
                                           std::span<const std::byte> received);

    /// What recv() and send() return: for TCP the bare io_uring request `Op`, awaited in
    /// place; for TLS the session's coroutine.
    template <typename Op>
    class [[nodiscard]] transfer {
    public:
        /// The TCP request, made from `args`; `interrupt`, if given, can end it early.
        template <typename... Args>
        transfer(io::wait_handle* interrupt, std::in_place_t, Args&&... args) noexcept {
            plain_.emplace(std::forward<Args>(args)...);
            (void)std::move(*plain_).interruptible(interrupt);
        }
        /// The TLS coroutine.
        explicit transfer(task<result<std::size_t>> secure) noexcept : secure_(std::move(secure)) {}

        /// Always suspends (the request or the coroutine starts in await_suspend).
        bool await_ready() const noexcept { return false; }
        /// Starts the transfer.
        template <typename Promise>
        bool await_suspend(std::coroutine_handle<Promise> caller) noexcept {
            if (plain_) return plain_->await_suspend(caller);
            return task<result<std::size_t>>::awaiter(secure_.handle()).await_suspend(caller);
        }
        /// Bytes moved.
        result<std::size_t> await_resume() {
            if (plain_) return plain_->await_resume();
            return task<result<std::size_t>>::awaiter(secure_.handle()).await_resume();
        }

    private:
        std::optional<Op> plain_;
        task<result<std::size_t>> secure_;
    };

    /// Bytes received into `buffer`; 0 means the peer closed (for TLS: with close_notify;
    /// a close without it is tls_errc::truncated). With `interrupt`, that handle can end the
    /// wait from outside (io::wait_handle); bytes already received are kept either way.
    transfer<io::recv_op> recv(std::span<std::byte> buffer,
                               io::wait_handle* interrupt = nullptr) noexcept;
    /// Waits until recv() would not wait: bytes or the peer's close are there to read (over
    /// TLS, also bytes the session has buffered already). It holds no buffer meanwhile, nor
    /// does the TLS session, so a connection between requests waits with this and takes its
    /// buffers when bytes come. No data is taken: a close is reported by the recv() after.
    /// Errors: operation_canceled (the task's cancellation or `interrupt`), the socket's.
    task<result<void>> wait_readable(io::wait_handle* interrupt = nullptr);
    /// Bytes sent from `bytes`: for TCP possibly fewer than its size, for TLS all of them.
    transfer<io::send_op> send(std::span<const std::byte> bytes) noexcept;
    /// Sends every byte of `bytes`, which must stay valid until it returns.
    task<result<void>> send_all(std::span<const std::byte> bytes);
    /// Sends every byte of `text`, which must stay valid until it returns.
    task<result<void>> send_all(std::string_view text);
    /// Sends every byte of every buffer, in order.
    task<result<void>> send_all(std::span<iovec> buffers);
    /// TLS 1.3 only: new traffic keys for both directions (a KeyUpdate that asks the peer to
    /// answer with its own), for a connection that carries much data for a long time.
    /// Errors: tls_errc::handshake_failed when the session is not TLS 1.3.
    task<result<void>> update_keys();
    /// Ends the sending side: for TLS one close_notify, then FIN; never waits for the peer.
    task<result<void>> shutdown();
    /// Closes the socket on the ring; the stream is empty afterwards.
    io::close_op close() noexcept;

    /// Whether it is TLS.
    bool secure() const noexcept { return tls_ != nullptr; }
    /// The ALPN protocol agreed on in the handshake ("" for TCP or none).
    std::string_view alpn() const noexcept;
    /// Whether the TLS handshake resumed an earlier session (false for plain TCP).
    bool resumed() const noexcept;
    /// Whether it holds a socket.
    bool is_open() const noexcept { return tcp_.is_open(); }
    /// The socket's descriptor, still owned by the stream.
    int native_handle() const noexcept { return tcp_.native_handle(); }
    /// The TCP stream underneath.
    tcp_stream& tcp() noexcept { return tcp_; }
    /// The same, read-only.
    const tcp_stream& tcp() const noexcept { return tcp_; }

private:
    static task<result<stream>> handshake(tcp_stream tcp, tls_context context, std::string host,
                                          std::span<const std::byte> received);

    tcp_stream tcp_;
    std::shared_ptr<detail::tls_session> tls_;
};

} // namespace snow::net
