// snow/http/client/detail/connection_pool.cpp: slots, idle connections, waiters and the idle
// sweeper.
#include "snow/http/client/detail/connection_pool.hpp"

#include <algorithm>
#include <deque>
#include <unordered_map>

#include "snow/io/run.hpp"
#include "snow/sync/future.hpp"
#include "snow/time/sleep.hpp"

namespace snow::http::detail {

struct pool_host {
    std::string endpoint;
    std::size_t leased = 0; ///< slots held by leases (a connection each, or one being opened)
    std::deque<std::unique_ptr<client_connection>> idle; ///< oldest first
    /// Requests waiting for a slot, first come first served. A waiter is handed a live
    /// connection, or null for a free slot; either way the slot passes to it.
    std::deque<promise<std::unique_ptr<client_connection>>> waiters;
};

struct pool_state : std::enable_shared_from_this<pool_state> {
    explicit pool_state(pool_options o) : options(o) {}

    pool_options options;
    std::unordered_map<std::string, std::unique_ptr<pool_host>> hosts;
    std::size_t idle_total = 0;
    std::size_t leased_total = 0;
    cancel_source sweeper_scope; ///< requested once, when the pool closes
    bool sweeper_running = false;
    bool closed = false;

    pool_host& host(const std::string& endpoint) {
        auto& slot = hosts[endpoint];
        if (!slot) {
            slot = std::make_unique<pool_host>();
            slot->endpoint = endpoint;
        }
        return *slot;
    }

    void forget_if_unused(pool_host& h) {
        while (!h.waiters.empty() && h.waiters.front().abandoned()) h.waiters.pop_front();
        if (h.leased == 0 && h.idle.empty() && h.waiters.empty()) hosts.erase(h.endpoint);
    }

    /// Closes the idle connections of `h` that have idled past the timeout.
    void expire(pool_host& h, io::clock::time_point now) {
        while (!h.idle.empty() && h.idle.front()->idle_since + options.idle_timeout <= now) {
            h.idle.pop_front();
            --idle_total;
        }
    }

    void release(pool_host& h, std::unique_ptr<client_connection> connection, bool reusable) {
        if (!reusable || closed) connection.reset(); // closes the socket
        while (!h.waiters.empty()) {
            auto next = std::move(h.waiters.front());
            h.waiters.pop_front();
            if (next.abandoned()) continue;
            next.set_value(std::move(connection)); // the slot changes hands, leased stays
            return;
        }
        --h.leased;
        --leased_total;
        if (connection) {
            connection->idle_since = io::clock::now();
            h.idle.push_back(std::move(connection));
            ++idle_total;
            start_sweeper();
        }
        forget_if_unused(h);
    }

    void start_sweeper() {
        if (sweeper_running || closed) return;
        sweeper_running = true;
        spawn(with_cancellation(sweep(shared_from_this()), sweeper_scope));
    }

    /// Sleeps until the oldest idle connection expires, closes what has expired, repeats
    /// while any are idle. Holding the state keeps it alive until the sweeper ends.
    static task<void> sweep(std::shared_ptr<pool_state> self) {
        while (self->idle_total > 0 && !self->closed) {
            auto next = io::clock::time_point::max();
            for (auto& entry : self->hosts)
                if (!entry.second->idle.empty())
                    next = std::min(next, entry.second->idle.front()->idle_since +
                                              self->options.idle_timeout);
            // Awaited as a statement of its own: GCC 12 mislays coroutine frames for some
            // co_await expressions inside conditions.
            const bool expired = co_await sleep_until(next);
            if (!expired) break; // the pool closed
            const auto now = io::clock::now();
            for (auto it = self->hosts.begin(); it != self->hosts.end();) {
                pool_host& h = *it->second;
                ++it; // forget_if_unused may erase h
                self->expire(h, now);
                self->forget_if_unused(h);
            }
        }
        self->sweeper_running = false;
    }
};

// ---------------------------------------------------------------------------------------
// pool_lease

pool_lease::pool_lease(std::shared_ptr<pool_state> state, pool_host* host,
                       std::unique_ptr<client_connection> connection) noexcept
    : state_(std::move(state))
    , host_(host)
    , connection_(std::move(connection)) {}

pool_lease::pool_lease(pool_lease&& other) noexcept
    : state_(std::move(other.state_))
    , host_(std::exchange(other.host_, nullptr))
    , connection_(std::move(other.connection_)) {}

pool_lease& pool_lease::operator=(pool_lease&& other) noexcept {
    if (this != &other) {
        release(false);
        state_ = std::move(other.state_);
        host_ = std::exchange(other.host_, nullptr);
        connection_ = std::move(other.connection_);
    }
    return *this;
}

void pool_lease::release(bool reusable) noexcept {
    if (host_ == nullptr) return;
    const bool keep = reusable && connection_ && connection_->reusable();
    std::exchange(state_, nullptr)
        ->release(*std::exchange(host_, nullptr), std::move(connection_), keep);
}

// ---------------------------------------------------------------------------------------
// connection_pool

connection_pool::connection_pool(pool_options options)
    : state_(std::make_shared<pool_state>(options)) {}

connection_pool::~connection_pool() {
    state_->closed = true;
    for (auto& entry : state_->hosts) {
        entry.second->idle.clear();
        // A request still waiting for a slot wakes with broken_promise.
        entry.second->waiters.clear();
    }
    state_->idle_total = 0;
    state_->sweeper_scope.request();
}

task<result<pool_lease>> connection_pool::acquire(std::string endpoint, bool reuse_idle) {
    std::shared_ptr<pool_state> state = state_;
    pool_host& h = state->host(endpoint);
    state->expire(h, io::clock::now());
    if (reuse_idle) {
        // Newest first: the one least likely to have been closed by the server meanwhile.
        while (!h.idle.empty()) {
            auto connection = std::move(h.idle.back());
            h.idle.pop_back();
            --state->idle_total;
            if (!connection->looks_alive()) continue;
            ++h.leased;
            ++state->leased_total;
            co_return pool_lease(state, &h, std::move(connection));
        }
    } else if (!h.idle.empty() && h.leased + h.idle.size() >= state->options.max_per_host) {
        // A fresh connection is wanted and idle ones fill the quota: retire the oldest.
        h.idle.pop_front();
        --state->idle_total;
    }
    if (h.leased + h.idle.size() < state->options.max_per_host) {
        ++h.leased;
        ++state->leased_total;
        co_return pool_lease(state, &h, nullptr);
    }

    promise<std::unique_ptr<client_connection>> slot;
    auto handed = slot.get_future();
    h.waiters.push_back(std::move(slot));
    auto connection = co_await handed; // h stays: a host with waiters is never forgotten
    if (!connection) co_return connection.error();
    pool_lease lease(state, &h, std::move(*connection));
    if (lease.connection_ && (!reuse_idle || !lease.connection_->looks_alive()))
        lease.connection_.reset(); // keep the slot, open a new connection in it
    co_return lease;
}

std::size_t connection_pool::idle_connections() const noexcept {
    return state_->idle_total;
}

std::size_t connection_pool::leased() const noexcept {
    return state_->leased_total;
}

} // namespace snow::http::detail
