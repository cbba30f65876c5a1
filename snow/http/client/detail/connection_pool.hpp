// snow/http/client/detail/connection_pool.hpp: the client's keep-alive connections, per host:port.
// At most max_per_host connections exist per endpoint (in use or idle); a request beyond that waits
// in line and is handed the next connection, or the next free slot, in FIFO order. Idle connections
// are closed after idle_timeout by a sweeper task that exists only while some are idle. Internal to
// the client. Loop-thread only.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "snow/core/result.hpp"
#include "snow/core/task.hpp"
#include "snow/http/client/detail/connection.hpp"

namespace snow::http::detail {

struct pool_options {
    std::size_t max_per_host = 16;
    std::chrono::nanoseconds idle_timeout = std::chrono::seconds(30);
};

struct pool_state;
struct pool_host;

/// One slot of an endpoint's pool, held for the length of a request, and the connection in
/// it once there is one. Destroying it closes the connection and frees the slot.
class pool_lease {
public:
    pool_lease() noexcept = default;
    pool_lease(pool_lease&& other) noexcept;
    pool_lease& operator=(pool_lease&& other) noexcept;
    pool_lease(const pool_lease&) = delete;
    pool_lease& operator=(const pool_lease&) = delete;
    ~pool_lease() { release(false); }

    /// The connection: a pooled one, or null for a fresh slot (connect, then attach()).
    client_connection* connection() const noexcept { return connection_.get(); }
    void attach(std::unique_ptr<client_connection> connection) noexcept {
        connection_ = std::move(connection);
    }
    /// Ends the lease: a reusable connection goes back to the pool (or straight to the next
    /// request waiting for this endpoint); any other is closed. Idempotent.
    void release(bool reusable) noexcept;

private:
    friend class connection_pool;
    pool_lease(std::shared_ptr<pool_state> state, pool_host* host,
               std::unique_ptr<client_connection> connection) noexcept;

    std::shared_ptr<pool_state> state_; // the pool outlives its leases, even past the client
    pool_host* host_ = nullptr;
    std::unique_ptr<client_connection> connection_;
};

class connection_pool {
public:
    explicit connection_pool(pool_options options);
    connection_pool(const connection_pool&) = delete;
    connection_pool& operator=(const connection_pool&) = delete;
    /// Closes the idle connections and stops the sweeper. Leases still out close their
    /// connections when they end; requests still waiting for a slot fail.
    ~connection_pool();

    /// A slot for `endpoint` ("host:port"), waiting while max_per_host are taken. The lease
    /// carries a pooled connection that still looks alive when `reuse_idle` and one is
    /// there; otherwise none. Errors: operation_canceled.
    task<result<pool_lease>> acquire(std::string endpoint, bool reuse_idle);

    /// Idle connections over every endpoint.
    std::size_t idle_connections() const noexcept;
    /// Leases out over every endpoint.
    std::size_t leased() const noexcept;

private:
    std::shared_ptr<pool_state> state_;
};

} // namespace snow::http::detail
