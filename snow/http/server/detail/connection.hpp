// snow/http/server/detail/connection.hpp: one HTTP/1.1 connection on the server: read →
// parse → route → handle → write, repeated while keep-alive holds. Internal to the server.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "snow/http/parser.hpp"
#include "snow/http/server/detail/deadline.hpp"
#include "snow/http/server/detail/worker.hpp"
#include "snow/http/server/detail/writer.hpp"
#include "snow/http/server/request.hpp"
#include "snow/http/server/response.hpp"
#include "snow/http/server/server.hpp"
#include "snow/io/event_loop.hpp"
#include "snow/io/operation.hpp"
#include "snow/net/receive_buffer.hpp"
#include "snow/net/stream.hpp"
#include "snow/net/tcp_listener.hpp"
#include "snow/net/tcp_stream.hpp"
#include "snow/sync/event.hpp"

namespace snow::http::detail {

/// A 101 response that connection::exchange() left for connection::run() to hand the
/// connection over with.
struct pending_upgrade {
    response resp;
    write_context context;
};

/// What a connection holds only while a request is in progress: the parser, the input and
/// output buffers, the watcher. An idle keep-alive connection gives it back to its worker,
/// so waiting for the next request costs no buffer (see connection::run).
struct exchange_state {
    explicit exchange_state(const parser_limits& l) : parser(l), chunked(l) {}

    request_parser parser;
    request_head head;
    chunked_decoder chunked;

    net::receive_buffer input;     // unconsumed input
    std::size_t message_bytes = 0; // head and raw body of the current request
    std::string output;            // responses not yet sent

    // While a handler is suspended, a watcher flushes pending output and watches the socket
    // for the client leaving, keeping what it reads aside so the request's views stay put.
    // The watcher task itself lives in the exchange's frame, beside the scope it listens to.
    event watcher_done;
    cancel_source* watched = nullptr; // the request the watcher cancels (watch_unframed)
    // While a streamed handler waits with its body unread, the socket is its to read: a
    // second watcher only polls for a hangup, which takes no bytes.
    event hangup_done;
    io::wait_handle hangup_wait; // ends that poll once the body has ended
    std::vector<char> side;
    std::size_t side_bytes = 0;
    bool peer_gone = false;
    bool write_failed = false;
    bool body_unread = false; // a streamed body was left unread: close, and linger first
    bool head_parsed = false; // `head` holds the current request's head
    // Kept here rather than in the connection, which every idle connection pays for.
    std::unique_ptr<pending_upgrade> upgrade;
    cancel_source* streaming_stop = nullptr; // see connection::streaming_stop()
};

class body_source;

class connection {
public:
    /// Joins the worker's list; the destructor leaves it.
    connection(worker& owner, net::tcp_stream stream, net::address peer);
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;
    ~connection();

    /// Where run() begins: a new connection opens (PROXY header, TLS); one woken from its
    /// parked wait goes on with what that wait brought.
    enum class first_step : std::uint8_t { open, exchange, receive_unpooled };

    /// The connection's life while a coroutine serves it; the frame that serves it owns it.
    /// The frame holds only the loop between requests: the exchange's frame exists while a
    /// request is in progress. An idle connection over plain TCP is parked instead, with no
    /// frame at all, and run() starts again when its next request's first bytes arrive
    /// (connection_loop.cpp).
    static task<void> run(std::unique_ptr<connection> self, first_step first);

    /// Whether it waits idle with no coroutine serving it: its worker owns it then, and
    /// destroys it if it is still parked when the worker goes.
    bool parked() const noexcept { return parked_; }

    cancel_source io_scope; ///< its reads and writes; cancelled by deadlines and hard stop
    /// The wait for a request with nothing of it received, which a graceful stop ends.
    /// Bytes that arrived first are served, not dropped.
    io::wait_handle idle_wait;
    /// While a response body streams or an upgraded protocol runs: requested at a graceful
    /// stop, so that a body that would never end (an event stream) finishes. Null otherwise.
    cancel_source* streaming_stop() const noexcept { return s_ ? s_->streaming_stop : nullptr; }
    connection* prev = nullptr;
    connection* next = nullptr;

private:
    friend class body_source;
    enum class idle_outcome : std::uint8_t { received, unpooled, closed };

    /// The pooled receive a parked connection waits in, started with no coroutine.
    struct parked_receive : io::recv_pooled_op {
        parked_receive(int fd, io::buffer_pool& pool, connection& c) noexcept
            : recv_pooled_op(fd, pool)
            , owner(c) {}
        connection& owner;
    };

    /// The idle wait of a connection with a receive pool: it hands `self` to its worker and
    /// starts the pooled receive, whose completion (woken) starts run() again or closes.
    static void park(std::unique_ptr<connection> self);
    /// The connection's pooled receive for waits with no frame (parking, watching), made on
    /// first use from `pool`, the loop's receive pool.
    parked_receive& pooled_receive(io::buffer_pool& pool);
    static void woken(io::recv_pooled_op& op) noexcept;

    /// The first steps: the PROXY header and the TLS handshake, under the head deadline.
    /// False when the connection must close (connection_loop.cpp).
    task<bool> open();
    /// What the first pooled receive of an idle connection brought: the request's first
    /// bytes, taken into an exchange state; the client gone; or no buffer free.
    idle_outcome first_bytes(result<io::pooled_bytes> first);
    /// The idle wait when the pool cannot serve it (over TLS, or when it stayed dry), then
    /// the exchange (connection_loop.cpp). False when the connection must close.
    task<bool> receive_unpooled();

    /// With server_options::proxy_protocol: reads and takes off the PROXY header, whose
    /// source becomes the peer. False when the connection must close. Bytes that followed the
    /// header stay in s_; without any, s_ is given back (proxy_header.cpp).
    task<bool> accept_proxy_header();
    task<bool> exchange();
    task<result<std::size_t>> receive(bool head_complete);
    io::buffer_pool* receive_pool() const noexcept;
    task<result<void>> flush();
    task<void> reject(int status, std::string_view reason);
    task<void> reject(errc failure);
    task<bool> send_streamed(response& resp, const write_context& context);
    task<void> close_after_response();
    task<void> answer_and_close(int status, std::string reason);
    /// Runs the after hooks for a request the server rejects, so it is logged and counted.
    void after_rejection(response& r);
    task<void> linger_close();
    task<result<std::string_view>> read_body(std::size_t head_bytes, errc& failure);
    /// The route of the current request when it reads its body as it arrives; null when the
    /// server reads the body first (read_body.cpp).
    const handler* streamed_route() const;
    /// After the handler of a streamed body: what it left unread is drained, within a bound,
    /// and a body that failed is answered (413, 400, 408). False when the connection must
    /// close at once; true when the response may go out (with Connection: close if the body
    /// was left unread).
    task<bool> settle_body(body_source& source);
    task<response> route(request& req, response& answer);
    io::clock::time_point middleware_clock() const;
    response handler_failed(const request& req, std::exception_ptr failure);
    task<void> watch(cancel_source& request_scope, cancel_source& watch_scope);
    /// The watcher in its usual case, with no frame: nothing left to send, and a receive
    /// pool. The connection's parked receive waits for the client's next bytes or its
    /// leaving; watch_scope ends it. False, with nothing started, when it does not apply.
    bool watch_unframed(cancel_source& request_scope, cancel_source& watch_scope);
    static void watched(io::recv_pooled_op& op) noexcept;
    /// Watches a streamed handler that waits with its body unread for a client that hangs
    /// up (FIN or reset), and cancels it then, unless it is reading: its read sees the end.
    task<void> watch_hangup(cancel_source& request_scope, const body_source& body);
    task<result<void>> stream_body(response& resp, bool chunked);
    /// Sends the head of the 101 response that exchange() left in s_->upgrade and hands the
    /// connection to its upgrade function until that returns. Always false: the connection
    /// closes afterwards (upgrade.cpp).
    task<bool> take_over();
    void rebase_head(const char* old_base) noexcept;
    bool next_head_buffered() const noexcept;
    /// Room to receive into, with `wanted` bytes from the front; rebases a complete head.
    std::span<std::byte> make_room(std::size_t wanted, bool head_complete);

    worker& owner_;
    net::stream stream_;
    net::address peer_;
    deadline deadline_;
    std::unique_ptr<exchange_state> s_; // while a request is in progress
    // Made at the first park and kept: a keep-alive connection parks after every request.
    std::optional<parked_receive> parked_receive_;
    bool parked_ = false;
};

} // namespace snow::http::detail
