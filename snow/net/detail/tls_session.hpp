// snow/net/detail/tls_session.hpp: one TLS session over a TCP stream. OpenSSL is called
// synchronously and reads and writes only the session's own buffers, through a BIO of
// snow's; the ciphertext moves through the ring in coroutines that hold the session alive
// until their completions are in, so SSL_free never runs under an operation in flight. The
// ciphertext input buffer is the loop's (tls_input_buffers), held only while received bytes
// wait for OpenSSL: a session waiting for input holds none.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "snow/core/result.hpp"
#include "snow/core/task.hpp"
#include "snow/io/operation.hpp"
#include "snow/net/tcp_stream.hpp"
#include "snow/net/tls_context.hpp"
#include "snow/sync/event.hpp"

using SSL = struct ssl_st;

namespace snow::net::detail {

class tls_session {
public:
    /// A session for `context`'s side. For a client, `host` is the name (or IP literal) the
    /// certificate must match; SNI is sent for names only.
    static result<std::shared_ptr<tls_session>> create(const tls_context& context,
                                                       std::string_view host);
    tls_session(const tls_session&) = delete;
    tls_session& operator=(const tls_session&) = delete;
    ~tls_session();

    // Each takes the session by shared_ptr so that its frame keeps the session, and the
    // buffers the kernel writes into, alive until its operations have completed.
    static task<result<void>> handshake(std::shared_ptr<tls_session> self, tcp_stream& tcp);
    static task<result<std::size_t>> recv(std::shared_ptr<tls_session> self, tcp_stream& tcp,
                                          std::span<std::byte> buffer, io::wait_handle* interrupt);
    /// Until a recv() would not wait: bytes are buffered in the session, or the socket has
    /// bytes (or the peer's close) to read. With the loop's receive pool, the first bytes
    /// are received into the session here. Meanwhile the session holds no input buffer, and
    /// lets go of its send buffers' storage if nothing is being sent.
    static task<result<void>> wait_readable(std::shared_ptr<tls_session> self, tcp_stream& tcp,
                                            io::wait_handle* interrupt);
    static task<result<void>> send_all(std::shared_ptr<tls_session> self, tcp_stream& tcp,
                                       std::span<const std::span<const std::byte>> parts);
    /// Sends a TLS 1.3 KeyUpdate that asks the peer to update its keys too.
    static task<result<void>> update_keys(std::shared_ptr<tls_session> self, tcp_stream& tcp);
    /// One close_notify, then FIN. Never waits for the peer's close_notify.
    static task<result<void>> shutdown(std::shared_ptr<tls_session> self, tcp_stream& tcp);

    /// The ALPN protocol agreed on ("" if none).
    std::string_view alpn() const noexcept;
    /// Whether the handshake resumed a kept session.
    bool resumed() const noexcept;
    bool broken() const noexcept { return broken_; }

    /// Ciphertext read from the socket before the session existed, taken as if received.
    void put_input(std::span<const std::byte> bytes);

    // For the BIO (tls_session.cpp): ciphertext in and out.
    std::size_t take_input(std::span<std::byte> into) noexcept;
    void put_output(std::span<const std::byte> bytes);
    bool input_ended() const noexcept { return input_ended_; }

private:
    tls_session() = default;

    static task<result<void>> flush(std::shared_ptr<tls_session> self, tcp_stream& tcp);
    static task<result<std::size_t>> fill(std::shared_ptr<tls_session> self, tcp_stream& tcp,
                                          io::wait_handle* interrupt);
    /// Gives the input buffer back to the loop once OpenSSL has read every byte of it.
    void release_input_if_read() noexcept;
    /// The error for an SSL_get_error() `kind`, read at once after the call that failed:
    /// the thread's error queue is not ours across a suspension.
    std::error_code failure(int kind, bool handshaking) noexcept;

    SSL* ssl_ = nullptr;
    // Ciphertext received and not yet read by OpenSSL: [input_begin_, input_end_), in a
    // buffer of tls_input_buffers while there is any, and no storage otherwise.
    std::vector<std::byte> input_;
    std::size_t input_begin_ = 0;
    std::size_t input_end_ = 0;
    bool input_ended_ = false; // the peer's FIN arrived
    bool readable_ = false;    // wait_readable() saw bytes: the next fill need not wait first
    // Ciphertext OpenSSL wrote, waiting for the send slot; and what the slot is sending.
    // One slot serves the reader and the writer: SSL_read may produce records too (a
    // KeyUpdate reply), and records must reach the socket in the order they were made.
    std::vector<std::byte> output_;
    std::vector<std::byte> sending_;
    bool send_busy_ = false;
    event send_free_;
    bool broken_ = false; // a write was cut short or the protocol failed: no more I/O
};

} // namespace snow::net::detail
