// snow/net/detail/dns_channel.cpp: c-ares on the ring. c-ares calls its sockets' state back
// (watch for reading, writing, or no longer); each watched socket gets a task that waits on a
// one-shot poll_op and hands the readiness to ares_process_fd. A ticker task runs while
// queries are pending, so c-ares can retransmit and time out. Nothing here blocks: c-ares'
// own socket calls are non-blocking, and its answers arrive through on_answer.
#include "snow/net/detail/dns_channel.hpp"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <string_view>

#include <fmt/format.h>

#include "snow/core/error.hpp"
#include "snow/time/sleep.hpp"

namespace snow::net::detail {
namespace {

/// The cache holds at most this many names; when full, expired entries go, then all.
constexpr std::size_t max_cached_names = 4096;

void init_library() {
    static std::once_flag once;
    std::call_once(once, [] { (void)ares_library_init(ARES_LIB_INIT_ALL); });
}

std::error_code error_of(int status) {
    switch (status) {
    case ARES_ETIMEOUT:
        return make_error_code(errc::resolve_timeout);
    case ARES_ECANCELLED:
    case ARES_EDESTRUCTION:
        return std::make_error_code(std::errc::operation_canceled);
    default: // ENOTFOUND, ENODATA, ESERVFAIL, EREFUSED, EBADNAME…
        return make_error_code(errc::resolve_failed);
    }
}

} // namespace

dns_channel::dns_channel() {
    init_library();
    // A channel that cannot be made (out of memory) fails each lookup instead.
    (void)open(options_);
}

dns_channel::~dns_channel() {
    // c-ares stops watching its sockets (each watcher is interrupted) and ends every query
    // with ARES_EDESTRUCTION; the tasks are then destroyed with their polls settled.
    if (channel_ != nullptr) ares_destroy(channel_);
    channel_ = nullptr;
}

result<void> dns_channel::open(const resolver_options& options) {
    ares_options o{};
    o.sock_state_cb = &dns_channel::on_socket_state;
    o.sock_state_cb_data = this;
    o.timeout = static_cast<int>(std::max<std::int64_t>(options.timeout.count(), 1));
    o.tries = std::max(options.tries, 1);
    ares_channel made = nullptr;
    const int status =
        ares_init_options(&made, &o, ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
    if (status != ARES_SUCCESS) return std::make_error_code(std::errc::not_enough_memory);
    if (!options.servers.empty()) {
        std::string csv;
        for (const std::string& server : options.servers) {
            if (!csv.empty()) csv += ',';
            csv += server;
        }
        if (ares_set_servers_ports_csv(made, csv.c_str()) != ARES_SUCCESS) {
            ares_destroy(made);
            return std::make_error_code(std::errc::invalid_argument);
        }
    }
    if (channel_ != nullptr) ares_destroy(channel_);
    channel_ = made;
    options_ = options;
    return {};
}

result<void> dns_channel::configure(const resolver_options& options) {
    if (!pending_.empty()) return std::make_error_code(std::errc::operation_in_progress);
    cache_.clear();
    return open(options);
}

const std::vector<address>* dns_channel::cached(const std::string& host) {
    auto it = cache_.find(host);
    if (it == cache_.end()) return nullptr;
    if (it->second.expires <= io::clock::now()) {
        cache_.erase(it);
        return nullptr;
    }
    return &it->second.addresses;
}

void dns_channel::wait_for(const std::string& host, dns_waiter& w) {
    if (channel_ == nullptr) {
        w.answer.emplace(std::make_error_code(std::errc::not_enough_memory));
        return;
    }
    auto [it, fresh] = pending_.try_emplace(host);
    if (!fresh) {
        it->second->waiters.push_back(&w);
        return;
    }
    it->second = std::make_unique<pending>();
    pending& p = *it->second;
    p.host = host;
    p.channel = this;
    p.waiters.push_back(&w);
    ++queries_sent_;
    ares_addrinfo_hints hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = ARES_AI_NOSORT; // connect_first orders the families itself
    // The answer may come back inside this call (an /etc/hosts hit, a bad name).
    ares_getaddrinfo(channel_, p.host.c_str(), nullptr, &hints, &dns_channel::on_answer, &p);
    if (!ticking_ && pending_.count(host) != 0) {
        ticking_ = true;
        tasks_.spawn(tick());
    }
}

void dns_channel::forget(const std::string& host, dns_waiter& w) noexcept {
    auto it = pending_.find(host);
    if (it == pending_.end()) return;
    std::erase(it->second->waiters, &w);
    // The query itself runs on: c-ares cannot cancel one query, and its answer is cached.
}

void dns_channel::on_answer(void* arg, int status, int /*timeouts*/, ares_addrinfo* info) {
    auto& p = *static_cast<pending*>(arg);
    dns_channel& self = *p.channel;
    if (status != ARES_SUCCESS || info == nullptr) {
        if (info != nullptr) ares_freeaddrinfo(info);
        self.finish(p, error_of(status), 0);
        return;
    }
    std::vector<address> addresses;
    std::uint32_t ttl = self.options_.max_cache_seconds;
    for (ares_addrinfo_node* n = info->nodes; n != nullptr; n = n->ai_next) {
        if (n->ai_family != AF_INET && n->ai_family != AF_INET6) continue;
        addresses.push_back(address::from_sockaddr(n->ai_addr, n->ai_addrlen));
        ttl = std::min(ttl, static_cast<std::uint32_t>(std::max(n->ai_ttl, 0)));
    }
    ares_freeaddrinfo(info);
    if (addresses.empty()) {
        self.finish(p, make_error_code(errc::resolve_failed), 0);
        return;
    }
    self.finish(p, std::move(addresses), ttl);
}

void dns_channel::finish(pending& p, result<std::vector<address>> answer, std::uint32_t ttl) {
    if (answer && ttl > 0) {
        if (cache_.size() >= max_cached_names) {
            const auto now = io::clock::now();
            std::erase_if(cache_, [&](const auto& entry) { return entry.second.expires <= now; });
            if (cache_.size() >= max_cached_names) cache_.clear();
        }
        cache_[p.host] = {*answer, io::clock::now() + std::chrono::seconds(ttl)};
    }
    // Take the entry out before waking anyone: a woken task may look the name up again.
    auto node = pending_.extract(p.host);
    for (dns_waiter* w : node.mapped()->waiters) {
        w->answer.emplace(answer);
        if (w->waiter) {
            w->scheduled = true;
            w->loop->schedule(std::exchange(w->waiter, {}));
        }
    }
}

void dns_channel::on_socket_state(void* self_pointer, ares_socket_t fd, int readable,
                                  int writable) {
    auto& self = *static_cast<dns_channel*>(self_pointer);
    const unsigned events = (readable ? POLLIN : 0u) | (writable ? POLLOUT : 0u);
    auto it = self.watches_.find(fd);
    if (events == 0) {
        if (it == self.watches_.end()) return;
        // c-ares closes the socket next; its number may come back for a new socket at once.
        it->second->stop = true;
        it->second->handle.interrupt();
        self.watches_.erase(it);
        return;
    }
    if (it != self.watches_.end()) {
        it->second->events = events;
        it->second->handle.interrupt(); // re-armed with the new events
        return;
    }
    auto w = std::make_shared<watch>();
    w->fd = fd;
    w->events = events;
    self.watches_.emplace(fd, w);
    self.tasks_.spawn(self.watch_socket(std::move(w)));
}

task<void> dns_channel::watch_socket(std::shared_ptr<watch> w) {
    while (!w->stop) {
        auto ready = co_await io::poll_op(w->fd, w->events).interruptible(w->handle);
        if (w->stop) break;
        if (!ready) {
            if (ready.error() == std::errc::operation_canceled) continue; // new events
            // The descriptor went bad under us: let c-ares find out by reading it.
            ares_process_fd(channel_, w->fd, ARES_SOCKET_BAD);
            continue;
        }
        const bool in = (*ready & (POLLIN | POLLERR | POLLHUP)) != 0;
        const bool out = (*ready & (POLLOUT | POLLERR | POLLHUP)) != 0;
        ares_process_fd(channel_, in ? w->fd : ARES_SOCKET_BAD, out ? w->fd : ARES_SOCKET_BAD);
    }
}

task<void> dns_channel::tick() {
    while (!pending_.empty() && channel_ != nullptr) {
        timeval most{1, 0};
        timeval next{};
        const timeval* wait = ares_timeout(channel_, &most, &next);
        const auto pause =
            std::chrono::seconds(wait->tv_sec) + std::chrono::microseconds(wait->tv_usec);
        const bool slept = co_await sleep(
            std::max<std::chrono::microseconds>(pause, std::chrono::milliseconds(1)));
        if (!slept) break;
        ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    }
    ticking_ = false;
}

} // namespace snow::net::detail
