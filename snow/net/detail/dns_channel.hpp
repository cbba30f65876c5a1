// snow/net/detail/dns_channel.hpp: one c-ares channel per loop, driven through the ring. c-ares
// owns its UDP and TCP sockets and says which it wants watched; each watched socket is a
// poll_op in the ring, and a timer calls c-ares back for its retransmissions. Lookups of one
// name share one query; answers are cached for their DNS TTL.
#pragma once

#include <ares.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "snow/core/result.hpp"
#include "snow/core/task.hpp"
#include "snow/core/task_group.hpp"
#include "snow/io/event_loop.hpp"
#include "snow/io/operation.hpp"
#include "snow/io/ops.hpp"
#include "snow/net/address.hpp"
#include "snow/net/resolver.hpp"

namespace snow::net::detail {

/// A task waiting for a name: the channel fills `answer` and schedules `waiter`.
struct dns_waiter {
    std::optional<result<std::vector<address>>> answer;
    std::coroutine_handle<> waiter;
    io::event_loop* loop = nullptr;
    bool scheduled = false;
};

class dns_channel final : public io::loop_service {
public:
    dns_channel();
    ~dns_channel() override;
    dns_channel(const dns_channel&) = delete;
    dns_channel& operator=(const dns_channel&) = delete;

    /// Applies `options` to lookups from now on. Fails (operation_in_progress) while
    /// lookups are pending.
    result<void> configure(const resolver_options& options);

    /// The cached addresses of `host` (port 0), if a live answer is cached.
    const std::vector<address>* cached(const std::string& host);
    /// Adds `w` to the waiters for `host`, starting a query unless one is running. The
    /// answer may arrive before this returns (an /etc/hosts hit).
    void wait_for(const std::string& host, dns_waiter& w);
    /// Takes `w` off the waiters for `host` (a cancelled or destroyed lookup).
    void forget(const std::string& host, dns_waiter& w) noexcept;

    /// Queries sent to the name servers since the loop began (not cache hits): for tests.
    std::uint64_t queries_sent() const noexcept { return queries_sent_; }

private:
    struct watch {
        int fd = -1;
        unsigned events = 0;
        bool stop = false;
        io::wait_handle handle;
    };
    struct pending {
        std::string host;
        std::vector<dns_waiter*> waiters;
        dns_channel* channel = nullptr;
    };
    struct cache_entry {
        std::vector<address> addresses;
        io::clock::time_point expires;
    };

    result<void> open(const resolver_options& options);
    static void on_socket_state(void* self, ares_socket_t fd, int readable, int writable);
    static void on_answer(void* arg, int status, int timeouts, ares_addrinfo* info);
    void finish(pending& p, result<std::vector<address>> answer, std::uint32_t ttl);
    task<void> watch_socket(std::shared_ptr<watch> w);
    task<void> tick();

    ares_channel channel_ = nullptr;
    resolver_options options_{};
    std::unordered_map<int, std::shared_ptr<watch>> watches_;
    std::unordered_map<std::string, std::unique_ptr<pending>> pending_;
    std::unordered_map<std::string, cache_entry> cache_;
    std::uint64_t queries_sent_ = 0;
    bool ticking_ = false;
    task_group tasks_; // the watchers and the ticker; last, so destroyed first
};

} // namespace snow::net::detail
