// snow/http/server/detail/body_source.hpp: the body_reader of a streamed() route: reads the request
// body from the connection piece by piece, de-chunking it, within the route's limit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <system_error>

#include "snow/http/parser.hpp"
#include "snow/http/server/body_reader.hpp"

namespace snow::http::detail {

class connection;

/// Reads a request body from its connection as the handler asks for it. The request's head
/// stays at the front of the connection's input; each piece is received after it, into room
/// for one piece (made once, before the route's captures are taken, so the head never moves),
/// and dropped at the next call. Once the body ends, the bytes that followed it (pipelined
/// requests) sit right after the head, as if the body had never been there.
class body_source final : public body_reader {
public:
    /// What on_finish() calls: `fn(context)`.
    using finish_hook = void (*)(void* context) noexcept;

    /// The body of the request whose head takes the first `head_bytes` of `conn`'s input,
    /// within `max_body_bytes`.
    body_source(connection& conn, std::size_t head_bytes, std::size_t max_body_bytes);

    task<result<std::string_view>> next() override;
    bool finished() const noexcept override { return finished_; }
    /// Whether next() is waiting for the socket: the handler is reading its body.
    bool reading() const noexcept { return reading_; }

    /// A Content-Length over the limit: known before a byte of the body is read.
    bool over_limit() const noexcept { return over_limit_; }
    /// Why next() failed; empty while it has not.
    std::error_code error() const noexcept { return error_; }
    /// Reads and drops what the handler left unread, up to about `max_bytes`: true when the
    /// body ended. Nothing is read for a client still waiting for `100 Continue`.
    task<bool> drain(std::size_t max_bytes);
    /// Calls `hook(context)` once, from within the next() that ends the body: from then on
    /// the handler no longer reads the socket, and the connection watches it for a client
    /// that leaves. A null hook unsets it.
    void on_finish(finish_hook hook, void* context) noexcept {
        finish_hook_ = hook;
        finish_context_ = context;
    }

private:
    task<result<std::size_t>> receive();
    task<result<void>> send_continue();
    result<std::string_view> fail(std::error_code error) noexcept;
    void finish() noexcept;

    connection& conn_;
    std::size_t head_bytes_;
    std::size_t position_;        // the first input byte not yet handed out or decoded
    std::uint64_t remaining_ = 0; // Content-Length bytes not yet received
    chunked_decoder decoder_;
    finish_hook finish_hook_ = nullptr;
    void* finish_context_ = nullptr;
    std::error_code error_;
    bool chunked_;
    bool over_limit_ = false;
    bool started_ = false;
    bool finished_ = false;
    bool reading_ = false;
};

} // namespace snow::http::detail
