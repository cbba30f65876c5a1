// snow/http/server/detail/worker.hpp: the per-loop part of a server: it accepts connections,
// owns them (in a task_group while served, directly while parked), recycles their exchange
// states, and drains them on stop.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "snow/core/cancel.hpp"
#include "snow/core/task.hpp"
#include "snow/core/task_group.hpp"
#include "snow/http/server/detail/deadline.hpp"
#include "snow/http/server/detail/handshake_gate.hpp"
#include "snow/http/server/server.hpp"
#include "snow/io/event_loop.hpp"
#include "snow/io/timer_queue.hpp"
#include "snow/net/stream.hpp"
#include "snow/net/tcp_listener.hpp"
#include "snow/sync/event.hpp"

namespace snow::http::detail {

class connection;
struct exchange_state;

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
    /// Whether the server serves HTTPS (see accept_tls).
    bool tls = false;
    /// This loop's share of max_concurrent_handshakes.
    handshake_gate handshakes;
    bool draining = false;
    cancel_source hard_stop; ///< cancels every connection's I/O and handlers
    /// Cancels handlers at the drain deadline. Their responses still go out (with
    /// Connection: close); hard_stop follows a grace period later.
    cancel_source handlers_stop{&hard_stop};

    /// The TLS handshake of a new connection, whose first ciphertext may be in `early` (read
    /// with a PROXY header), under `limit` (the head deadline, already running). While the
    /// loop has max_concurrent_handshakes under way it waits in line with `limit` stopped,
    /// which then starts afresh. The context is the server's current one
    /// (server::reload_tls), kept by the session for its lifetime. `early` must stay valid
    /// until it returns.
    task<result<net::stream>> accept_tls(net::tcp_stream tcp, std::span<const std::byte> early,
                                         deadline& limit);

    void add(connection* c) noexcept;
    void remove(connection* c) noexcept;

    /// Starts serving a connection: `run` is its connection::run, owned by this worker.
    void serve(task<void> run) { connection_tasks_.spawn(std::move(run)); }
    /// A connection waits idle with no coroutine (connection::park): this worker owns it
    /// until unpark(), and the join at a stop waits for it too.
    void park() noexcept { ++parked_; }
    void unpark() noexcept;

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
    std::size_t parked_ = 0;                                     // of them, parked
    event unparked_all_;                                         // parked_ fell to 0
    std::vector<std::unique_ptr<exchange_state>> spare_states_;
    io::event_loop* timer_loop_ = nullptr;
    io::timer_node drain_timer_; // the drain deadline, then the grace period after it
    bool handlers_stopped_ = false;
    task_group connection_tasks_; // last: destroyed first, while all of the above is there
};

} // namespace snow::http::detail
