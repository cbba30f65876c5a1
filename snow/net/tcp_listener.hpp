// snow/net/tcp_listener.hpp: a listening TCP socket. One multishot accept request stays armed
// in the ring and feeds a small queue of accepted sockets; accept() takes from the queue or
// waits. Accepted sockets nobody takes are closed with the listener, never leaked.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <string_view>

#include "snow/core/result.hpp"
#include "snow/io/completion.hpp"
#include "snow/net/address.hpp"
#include "snow/net/file_descriptor.hpp"
#include "snow/net/tcp_stream.hpp"
#include "snow/sync/detail/waiter_list.hpp"

namespace snow::net {

struct listen_options {
    int backlog = 4096;
    bool reuse_address = true; ///< SO_REUSEADDR: rebind at once after a restart
    bool reuse_port = false;   ///< SO_REUSEPORT: one listener per loop on the same port
    bool no_delay = true;      ///< TCP_NODELAY on accepted streams
    /// Accepted sockets held for accept() callers before the listener stops taking more
    /// from the kernel's backlog (which then applies back-pressure to clients).
    std::size_t max_queued = 256;
};

class tcp_listener {
    struct accept_queue;

public:
    tcp_listener() noexcept;
    tcp_listener(tcp_listener&&) noexcept;
    tcp_listener& operator=(tcp_listener&&) noexcept;
    ~tcp_listener();

    /// Binds and listens. Errors: address_in_use, permission_denied, invalid_address…
    static result<tcp_listener> bind(const address& local, listen_options options = {});
    /// "127.0.0.1:9000" or "[::1]:0".
    static result<tcp_listener> bind(std::string_view local, listen_options options = {});

    class [[nodiscard]] accept_awaiter {
    public:
        explicit accept_awaiter(accept_queue& queue) noexcept : queue_(&queue) {}
        accept_awaiter(const accept_awaiter&) = delete;
        accept_awaiter& operator=(const accept_awaiter&) = delete;
        ~accept_awaiter();

        bool await_ready() noexcept;
        template <typename Promise>
        bool await_suspend(std::coroutine_handle<Promise> waiter) {
            return suspend(waiter, snow::detail::cancellation_of(waiter));
        }
        /// The accepted stream; errors: the kernel's (EMFILE when out of descriptors…),
        /// operation_canceled (the task was cancelled, or the listener was destroyed while
        /// it waited).
        result<tcp_stream> await_resume();

    private:
        friend struct accept_queue;
        bool suspend(std::coroutine_handle<> waiter, cancel_source* source);

        accept_queue* queue_; // only until suspended: the listener may go while it waits
        snow::detail::waiter_node node_;
        cancel_callback on_cancel_;
        int fd_ = -1;
        int error_ = 0;
    };

    /// Waits for the next connection.
    accept_awaiter accept() noexcept { return accept_awaiter{*queue_}; }

    const address& local_address() const noexcept;
    int native_handle() const noexcept;

private:
    std::unique_ptr<accept_queue> queue_; // stable address: it is the multishot's user_data
};

} // namespace snow::net
