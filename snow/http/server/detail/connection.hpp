// snow/http/server/detail/connection.hpp: one HTTP/1.1 connection on the server: read → parse → route →
// handle → write, repeated while keep-alive holds. Also the per-loop worker that accepts
// connections and drains them on stop. Internal to the server.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "snow/sync/event.hpp"
#include "snow/http/parser.hpp"
#include "snow/http/server/request.hpp"
#include "snow/http/server/response.hpp"
#include "snow/http/server/server.hpp"
#include "snow/http/server/detail/writer.hpp"
#include "snow/io/event_loop.hpp"
#include "snow/net/tcp_listener.hpp"
#include "snow/net/tcp_stream.hpp"
#include "snow/core/task_group.hpp"

namespace snow::http::detail {

class connection;
struct exchange_state;

/// One deadline per connection, kept lazily in the loop's timer heap: moving it later only
/// stores the new time, and the heap entry is re-queued when the old one expires. When it
/// really expires it cancels the connection's I/O scope.
class deadline {
public:
    explicit deadline(cancel_source& scope) noexcept : scope_(scope) {
        node_.context = this;
        node_.on_expire = &deadline::expire;
    }
    deadline(const deadline&) = delete;
    deadline& operator=(const deadline&) = delete;
    ~deadline() {
        if (node_.queued()) loop_->timers().remove(node_);
    }

    void arm(std::chrono::milliseconds from_now);
    void disarm() noexcept { when_ = io::clock::time_point::max(); }
    bool expired() const noexcept { return expired_; }

private:
    static void expire(io::timer_node* node) noexcept;

    cancel_source& scope_;
    io::event_loop* loop_ = nullptr;
    io::timer_node node_;
    io::clock::time_point when_ = io::clock::time_point::max();
    bool expired_ = false;
};

class worker {
public:
    worker(server& owner, net::tcp_listener listener, server_options options);
    worker(const worker&) = delete;
    worker& operator=(const worker&) = delete;
    /// Connections still running are destroyed first: they refer to the worker.
    ~worker();

    /// Accepts until begin_shutdown(), then joins every connection. Run it shielded from
    /// the caller's cancellation (server::serve turns that into begin_shutdown): the join
    /// must never be cut short while connections refer to this worker.
    task<void> run();
    /// Loop thread only: stop accepting, close idle connections, start the drain deadline.
    void begin_shutdown();
    void post_shutdown(); // any thread

    server& owner;
    const server_options options;
    bool draining = false;
    cancel_source hard_stop; ///< cancels every connection's I/O and handlers
    /// Cancels handlers at the drain deadline. Their responses still go out (with
    /// Connection: close); hard_stop follows a grace period later.
    cancel_source handlers_stop{&hard_stop};

    void add(connection* c) noexcept;
    void remove(connection* c) noexcept;

    /// Exchange states are recycled, so a keep-alive request allocates no buffers.
    std::unique_ptr<exchange_state> take_state();
    void give_back(std::unique_ptr<exchange_state> state) noexcept;

private:
    task<void> accept_loop();
    static void drain_deadline_passed(io::timer_node* node) noexcept;

    net::tcp_listener listener_;
    cancel_source accept_scope_;
    std::shared_ptr<io::loop_handle> loop_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true); // for posts that arrive late
    connection* connections_ = nullptr;                          // intrusive list
    std::vector<std::unique_ptr<exchange_state>> spare_states_;
    io::event_loop* timer_loop_ = nullptr;
    io::timer_node drain_timer_; // the drain deadline, then the grace period after it
    bool handlers_stopped_ = false;
    task_group connection_tasks_; // last: destroyed first, while all of the above is there
};

/// What a connection holds only while a request is in progress: the parser, the input and
/// output buffers, the watcher. An idle keep-alive connection gives it back to its worker,
/// so waiting for the next request costs no buffer (see connection::run).
struct exchange_state {
    explicit exchange_state(const parser_limits& l) : parser(l), chunked(l) {}

    request_parser parser;
    request_head head;
    chunked_decoder chunked;

    std::vector<char> input; // [begin, end) is unconsumed input
    std::size_t begin = 0;
    std::size_t end = 0;
    std::size_t message_bytes = 0; // head and raw body of the current request
    std::string output;            // responses not yet sent

    // While a handler is suspended, a watcher flushes pending output and watches the socket
    // for the client leaving, keeping what it reads aside so the request's views stay put.
    // The watcher task itself lives in the exchange's frame, beside the scope it listens to.
    event watcher_done;
    std::vector<char> side;
    std::size_t side_bytes = 0;
    bool peer_gone = false;
    bool write_failed = false;
};

class connection {
public:
    /// Joins the worker's list; the destructor leaves it.
    connection(worker& owner, net::tcp_stream stream, net::address peer);
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;
    ~connection();

    /// The connection's life; returns when it should close.
    task<void> run();

    cancel_source io_scope; ///< its reads and writes; cancelled by deadlines and hard stop
    /// While it waits for a request with nothing of it received: the wait's own source,
    /// which a graceful stop cancels. Bytes that arrived first are served, not dropped.
    cancel_source* idle_wait = nullptr;
    connection* prev = nullptr;
    connection* next = nullptr;

private:
    struct handler_run;

    task<bool> exchange();
    task<result<std::size_t>> receive(bool head_complete);
    task<result<void>> flush();
    task<void> reject(int status, std::string_view reason);
    task<void> reject(errc failure);
    task<bool> send_streamed(response& resp, const write_context& context);
    task<void> close_after_response();
    task<void> answer_and_close(int status, std::string reason);
    task<void> linger_close();
    task<result<std::string_view>> read_body(std::size_t head_bytes, errc& failure);
    task<response> route(request& req, response& answer);
    io::clock::time_point middleware_clock() const;
    response handler_failed(const request& req, std::exception_ptr failure);
    task<void> watch(cancel_source& request_scope, cancel_source& watch_scope);
    task<result<void>> stream_body(response& resp, bool chunked);
    void rebase_head(const char* old_base) noexcept;
    bool next_head_buffered() const noexcept;
    void ensure_capacity(std::size_t wanted, bool head_complete);

    worker& owner_;
    net::tcp_stream stream_;
    net::address peer_;
    deadline deadline_;
    std::unique_ptr<exchange_state> s_; // while a request is in progress
};

} // namespace snow::http::detail
