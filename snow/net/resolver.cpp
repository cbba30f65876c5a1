// snow/net/resolver.cpp: the getaddrinfo worker pool and the awaiter that waits for it.
#include "snow/net/resolver.hpp"

#include <netdb.h>

#include <condition_variable>
#include <coroutine>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>

#include "snow/io/event_loop.hpp"

namespace snow::net {
namespace {

/// Two detached workers shared by every loop in the process. getaddrinfo may block for
/// seconds on a slow DNS server; here it blocks a worker, never a loop.
class resolver_pool {
public:
    static resolver_pool& instance() {
        static resolver_pool* pool = new resolver_pool; // outlives static destruction
        return *pool;
    }
    void submit(std::function<void()> job) {
        {
            std::lock_guard lock(mutex_);
            jobs_.push_back(std::move(job));
        }
        ready_.notify_one();
    }

private:
    resolver_pool() {
        for (int i = 0; i < 2; ++i) std::thread([this] { work(); }).detach();
    }
    void work() {
        for (;;) {
            std::function<void()> job;
            {
                std::unique_lock lock(mutex_);
                ready_.wait(lock, [this] { return !jobs_.empty(); });
                job = std::move(jobs_.front());
                jobs_.pop_front();
            }
            job();
        }
    }

    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<std::function<void()>> jobs_;
};

result<std::vector<address>> lookup(const std::string& host, std::uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    addrinfo* list = nullptr;
    if (::getaddrinfo(host.c_str(), nullptr, &hints, &list) != 0 || list == nullptr)
        return errc::resolve_failed;
    std::vector<address> addresses;
    for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
        address a = address::from_sockaddr(ai->ai_addr, ai->ai_addrlen);
        a.set_port(port);
        addresses.push_back(a);
    }
    ::freeaddrinfo(list);
    return addresses;
}

/// Shared between the awaiting frame and the worker; touched only on the loop thread once
/// the worker has posted its answer.
struct lookup_state {
    std::optional<result<std::vector<address>>> answer;
    std::coroutine_handle<> waiter;
    io::event_loop* loop = nullptr;
    bool scheduled = false;
};

class lookup_awaiter {
public:
    lookup_awaiter(std::string host, std::uint16_t port)
        : state_(std::make_shared<lookup_state>())
        , host_(std::move(host))
        , port_(port) {}
    lookup_awaiter(const lookup_awaiter&) = delete;
    lookup_awaiter& operator=(const lookup_awaiter&) = delete;
    ~lookup_awaiter() {
        state_->waiter = {}; // a late answer finds nobody to wake
        if (state_->scheduled) state_->loop->unschedule(handle_);
    }

    bool await_ready() const noexcept { return false; }

    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) {
        cancel_source* source = snow::detail::cancellation_of(waiter);
        if (source != nullptr && source->requested()) return false;
        state_->loop = &io::event_loop::current();
        state_->waiter = handle_ = waiter;
        resolver_pool::instance().submit(
            [state = state_, loop = state_->loop->handle(), host = host_, port = port_] {
                // Shared rather than moved into the closure: the answer crosses threads
                // once and is read on the loop that asked.
                auto answer = std::make_shared<result<std::vector<address>>>(lookup(host, port));
                loop->post([state, answer] {
                    state->answer.emplace(std::move(*answer));
                    if (state->waiter) wake(*state);
                });
            });
        on_cancel_.attach(
            source, [](void* self) noexcept { wake(*static_cast<lookup_state*>(self)); },
            state_.get());
        return true;
    }

    result<std::vector<address>> await_resume() {
        on_cancel_.reset();
        state_->scheduled = false;
        state_->waiter = {};
        if (!state_->answer) return std::make_error_code(std::errc::operation_canceled);
        return std::move(*state_->answer);
    }

private:
    static void wake(lookup_state& state) noexcept {
        if (!state.waiter) return;
        state.scheduled = true;
        state.loop->schedule(std::exchange(state.waiter, {}));
    }

    std::shared_ptr<lookup_state> state_;
    std::coroutine_handle<> handle_;
    cancel_callback on_cancel_;
    std::string host_;
    std::uint16_t port_;
};

/// RFC 6761 §6.3: "localhost" and every name under ".localhost" are the loopback
/// addresses, answered without asking the system resolver (as curl and browsers do), so a
/// machine without /etc/hosts still resolves them, and no lookup leaves the process.
bool is_localhost(std::string_view host) noexcept {
    if (!host.empty() && host.back() == '.') host.remove_suffix(1); // the root label
    constexpr std::string_view name = "localhost";
    if (host.size() < name.size()) return false;
    const std::string_view tail = host.substr(host.size() - name.size());
    for (std::size_t i = 0; i < name.size(); ++i)
        if ((tail[i] | 0x20) != name[i]) return false;
    return host.size() == name.size() || host[host.size() - name.size() - 1] == '.';
}

} // namespace

task<result<std::vector<address>>> resolve(std::string host, std::uint16_t port) {
    // Literal addresses (including bracketed IPv6) never need the workers.
    std::string_view literal = host;
    if (literal.size() > 2 && literal.front() == '[' && literal.back() == ']')
        literal = literal.substr(1, literal.size() - 2);
    if (auto numeric = address::from_ip(literal, port)) co_return std::vector<address>{*numeric};
    if (host.empty()) co_return errc::resolve_failed;
    if (is_localhost(host)) {
        // IPv4 first: a server bound to "127.0.0.1" is what "localhost" most often means,
        // and connect tries the addresses in order.
        co_return std::vector<address>{address::ipv4_loopback(port), address::ipv6_loopback(port)};
    }
    co_return co_await lookup_awaiter(std::move(host), port);
}

} // namespace snow::net
