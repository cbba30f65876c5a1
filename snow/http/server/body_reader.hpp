// snow/http/server/body_reader.hpp: a request body read piece by piece as it arrives, for the
// routes that ask for it (streamed()), so that an upload of any size costs one buffer.
#pragma once

#include <string_view>
#include <utility>

#include "snow/core/result.hpp"
#include "snow/core/task.hpp"

namespace snow::http {

/// The body of a request, read as it arrives: `co_await req.body_stream().next()` until it
/// returns an empty piece. On a streamed() route it reads from the connection; on any other
/// route the server has read the body already and the one piece is request::body().
class body_reader {
public:
    virtual ~body_reader() = default;
    /// The next piece of the body, a view valid until the next call and never longer than one
    /// receive buffer; empty once the body has ended (and on every call after). An error
    /// value when the body cannot be read: the client left or reset (errc::eof, a reset), sent
    /// too slowly for the server's body_timeout (std::errc::timed_out), or sent a body over
    /// the limit (http::errc::body_too_large) or a malformed chunked one, or the read was
    /// cancelled (std::errc::operation_canceled): the caller's cancellation reaches it, and so
    /// does a graceful stop's shutdown_timeout. After an error the server answers the request
    /// itself (413, 400, 408; 503 when stopping) or closes, whatever the handler returns;
    /// every later call returns the same error.
    virtual task<result<std::string_view>> next() = 0;
    /// True once next() has returned the end of the body.
    virtual bool finished() const noexcept = 0;
};

/// The body_reader of a body received whole: one piece, then the end.
class buffered_body_reader final : public body_reader {
public:
    /// Reads `body`, which must outlive the reader.
    explicit buffered_body_reader(std::string_view body) noexcept : body_(body) {}
    task<result<std::string_view>> next() override {
        return piece(std::exchange(body_, std::string_view{}), finished_);
    }
    bool finished() const noexcept override { return finished_; }

private:
    static task<result<std::string_view>> piece(std::string_view body, bool& finished) {
        finished = body.empty();
        co_return body;
    }

    std::string_view body_;
    bool finished_ = false;
};

} // namespace snow::http
