// snow/http/server/detail/body_sink.hpp: the body_writer a streamed response writes through: one
// chunk per write (raw bytes until the close for HTTP/1.0), each under the write deadline,
// and, for a body that asks, a receive kept in flight that notices the client leaving.
#pragma once

#include <chrono>
#include <cstddef>
#include <string_view>

#include "snow/core/cancel.hpp"
#include "snow/core/task.hpp"
#include "snow/http/server/detail/deadline.hpp"
#include "snow/http/server/response.hpp"
#include "snow/io/buffer_pool.hpp"
#include "snow/net/receive_buffer.hpp"
#include "snow/net/stream.hpp"
#include "snow/sync/event.hpp"

namespace snow::http::detail {

/// What a body_sink writes to and reads into; all of it belongs to the connection, which
/// outlives the sink.
struct body_sink_parts {
    net::stream& stream;
    deadline& timer; ///< armed for each write, disarmed between them
    std::chrono::milliseconds write_timeout;
    net::receive_buffer& input; ///< where bytes the client sends meanwhile are kept
    std::size_t max_input;      ///< past this many kept bytes the watch stops
    io::buffer_pool* pool;      ///< null: the watch receives into `input` (TLS, no pool)
    cancel_source& io_scope;    ///< the connection's; ends the watch too
    bool chunked;               ///< HTTP/1.1 framing; false: raw bytes until the close
};

class body_sink final : public body_writer {
public:
    explicit body_sink(const body_sink_parts& parts) noexcept;
    body_sink(const body_sink&) = delete;
    body_sink& operator=(const body_sink&) = delete;
    /// A watch still running is destroyed, its receive cancelled and reaped (io::operation);
    /// stop_watching() first ends it without blocking the loop.
    ~body_sink() override = default;

    task<result<void>> write(std::string_view data) override;
    cancel_source* watch_client() override;
    cancel_source* server_stopping() noexcept override { return &stopping_; }

    /// Ends the watch, if one runs, and waits until its receive has completed.
    task<void> stop_watching();
    /// The source server_stopping() hands out; the worker requests it at a graceful stop.
    cancel_source& stopping() noexcept { return stopping_; }

private:
    task<void> watch();

    body_sink_parts parts_;
    cancel_source gone_;     ///< requested when the client leaves
    cancel_source stopping_; ///< requested when the server begins a graceful stop
    cancel_source watch_scope_;
    event watch_done_;
    task<void> watcher_; // last: destroyed first, while what it uses is still there
};

} // namespace snow::http::detail
