// snow/net/resolver.cpp: literals and localhost in place; other names through the loop's
// c-ares channel (detail/dns_channel.cpp), awaited by a cancel-safe awaiter.
#include "snow/net/resolver.hpp"

#include <coroutine>
#include <string_view>
#include <utility>

#include "snow/io/event_loop.hpp"
#include "snow/net/detail/dns_channel.hpp"

namespace snow::net {
namespace {

/// Waits for the loop's channel to answer `host`. Cancelling it (or destroying it) takes
/// it off the query's waiters; the query runs on and its answer is cached.
class lookup_awaiter {
public:
    lookup_awaiter(detail::dns_channel& channel, std::string host)
        : channel_(channel)
        , host_(std::move(host)) {}
    lookup_awaiter(const lookup_awaiter&) = delete;
    lookup_awaiter& operator=(const lookup_awaiter&) = delete;
    ~lookup_awaiter() {
        if (registered_) channel_.forget(host_, state_);
        if (state_.scheduled) state_.loop->unschedule(handle_);
    }

    bool await_ready() const noexcept { return false; }

    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) {
        cancel_source* source = snow::detail::cancellation_of(waiter);
        if (source != nullptr && source->requested()) return false;
        state_.loop = &io::event_loop::current();
        channel_.wait_for(host_, state_);
        if (state_.answer) return false; // answered inside the call
        registered_ = true;
        state_.waiter = handle_ = waiter;
        on_cancel_.attach(source, &lookup_awaiter::cancelled, this);
        return true;
    }

    result<std::vector<address>> await_resume() {
        on_cancel_.reset();
        if (registered_ && !state_.answer) channel_.forget(host_, state_);
        registered_ = false;
        state_.scheduled = false;
        state_.waiter = {};
        if (!state_.answer) return std::make_error_code(std::errc::operation_canceled);
        return std::move(*state_.answer);
    }

private:
    static void cancelled(void* self) noexcept {
        auto& a = *static_cast<lookup_awaiter*>(self);
        if (!a.state_.waiter) return;
        a.channel_.forget(a.host_, a.state_);
        a.registered_ = false;
        a.state_.scheduled = true;
        a.state_.loop->schedule(std::exchange(a.state_.waiter, {}));
    }

    detail::dns_channel& channel_;
    std::string host_;
    detail::dns_waiter state_;
    std::coroutine_handle<> handle_;
    cancel_callback on_cancel_;
    bool registered_ = false;
};

/// Whether `host` is the special-use name `name` or a name under it, in any letter case.
bool is_under(std::string_view host, std::string_view name) noexcept {
    if (!host.empty() && host.back() == '.') host.remove_suffix(1); // the root label
    if (host.size() < name.size()) return false;
    const std::string_view tail = host.substr(host.size() - name.size());
    for (std::size_t i = 0; i < name.size(); ++i)
        if ((tail[i] | 0x20) != name[i]) return false;
    return host.size() == name.size() || host[host.size() - name.size() - 1] == '.';
}

/// RFC 6761 §6.3: "localhost" and every name under ".localhost" are the loopback
/// addresses, answered without asking a name server (as curl and browsers do), so a
/// machine without /etc/hosts still resolves them, and no lookup leaves the process.
bool is_localhost(std::string_view host) noexcept {
    return is_under(host, "localhost");
}

/// RFC 6761 §6.4: names under ".invalid" fail at once, without a lookup.
bool is_invalid(std::string_view host) noexcept {
    return is_under(host, "invalid");
}

std::vector<address> with_port(std::vector<address> addresses, std::uint16_t port) {
    for (address& a : addresses) a.set_port(port);
    return addresses;
}

} // namespace

result<void> configure_resolver(const resolver_options& options) {
    return io::event_loop::current().service<detail::dns_channel>().configure(options);
}

std::uint64_t resolver_queries_sent() {
    return io::event_loop::current().service<detail::dns_channel>().queries_sent();
}

task<result<std::vector<address>>> resolve(std::string host, std::uint16_t port) {
    // Literal addresses (including bracketed IPv6) need no lookup.
    std::string_view literal = host;
    if (literal.size() > 2 && literal.front() == '[' && literal.back() == ']')
        literal = literal.substr(1, literal.size() - 2);
    if (auto numeric = address::from_ip(literal, port)) co_return std::vector<address>{*numeric};
    if (host.empty() || is_invalid(host)) co_return errc::resolve_failed;
    if (is_localhost(host)) {
        // IPv4 first: a server bound to "127.0.0.1" is what "localhost" most often means.
        co_return std::vector<address>{address::ipv4_loopback(port), address::ipv6_loopback(port)};
    }
    auto& channel = io::event_loop::current().service<detail::dns_channel>();
    if (const auto* hit = channel.cached(host)) co_return with_port(*hit, port);
    auto answer = co_await lookup_awaiter(channel, std::move(host));
    if (!answer) co_return answer.error();
    co_return with_port(std::move(*answer), port);
}

} // namespace snow::net
