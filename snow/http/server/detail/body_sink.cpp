// snow/http/server/detail/body_sink.cpp: writing a streamed body, and watching its client.
#include "snow/http/server/detail/body_sink.hpp"

#include <fmt/format.h>
#include <sys/uio.h>

#include <array>
#include <system_error>

#include "snow/io/run.hpp"

namespace snow::http::detail {

namespace {
// The pool runs dry only for a moment, when more receives complete in one turn than it has
// buffers; a few turns later one is free again (as in connection::run).
constexpr int pooled_attempts = 4;
// Room for the watch's own receive when it cannot use the pool.
constexpr std::size_t fallback_room = 1024;

task<void> wait_until_set(event& e) {
    (void)co_await e.wait();
}
} // namespace

body_sink::body_sink(const body_sink_parts& parts) noexcept
    : parts_(parts)
    , watch_scope_(&parts.io_scope) {}

task<result<void>> body_sink::write(std::string_view data) {
    if (data.empty()) co_return result<void>{};
    // Each write has its own deadline: a client that stops reading is cut off, while a body
    // that waits between writes (an event stream, a long poll) may take as long as it needs.
    parts_.timer.arm(parts_.write_timeout);
    result<void> sent;
    if (!parts_.chunked) {
        sent = co_await parts_.stream.send_all(data);
    } else {
        char size_line[24];
        auto end = fmt::format_to(size_line, "{:x}\r\n", data.size());
        std::array<iovec, 3> parts{iovec{size_line, static_cast<std::size_t>(end - size_line)},
                                   iovec{const_cast<char*>(data.data()), data.size()},
                                   iovec{const_cast<char*>("\r\n"), 2}};
        sent = co_await parts_.stream.send_all(std::span<iovec>(parts));
    }
    parts_.timer.disarm();
    co_return sent;
}

cancel_source* body_sink::watch_client() {
    if (!watcher_.valid()) {
        // Started here and joined by stop_watching(), like the connection's handler watcher:
        // its frame lives only while the body streams.
        watcher_ = with_cancellation(watch(), watch_scope_);
        watcher_.handle().resume();
    }
    return &gone_;
}

task<void> body_sink::watch() {
    net::receive_buffer& input = parts_.input;
    int dry = 0;
    while (!watch_scope_.requested() && input.size() < parts_.max_input) {
        // Bytes that arrive are the client's next requests: kept, as the handler's watcher
        // keeps them. The wait takes a pool buffer only when they arrive, so an idle stream
        // holds no receive buffer.
        result<std::size_t> n = std::size_t{0};
        bool received = false;
        if (parts_.pool != nullptr && dry < pooled_attempts) {
            auto got = co_await parts_.stream.tcp().recv_pooled(*parts_.pool);
            if (got) {
                if (!got->empty()) input.append(got->bytes()); // empty: end of stream
                n = got->size();
                received = true;
                dry = 0;
            } else if (got.error() == std::errc::no_buffer_space) {
                ++dry;
                co_await yield();
                continue;
            } else {
                n = got.error();
                received = true;
            }
        }
        if (!received) {
            // TLS (its session decrypts into our buffer) or a pool that stayed dry.
            auto room = input.prepare(0, fallback_room);
            n = co_await parts_.stream.recv(room);
            if (n) input.commit(*n);
        }
        if (!n) {
            // Cancelled: the body ended or the connection is being torn down; nobody left.
            if (n.error() != std::errc::operation_canceled) gone_.request();
            break;
        }
        if (*n == 0) {
            gone_.request(); // the client's end of stream: nobody reads what follows
            break;
        }
    }
    watch_done_.set();
}

task<void> body_sink::stop_watching() {
    if (!watcher_.valid()) co_return;
    watch_scope_.request();
    // Shielded: even when the connection's I/O is being cancelled, the receive's own
    // completion is awaited here rather than reaped by a blocking destructor.
    co_await shielded(wait_until_set(watch_done_));
    watcher_ = task<void>{};
}

} // namespace snow::http::detail
