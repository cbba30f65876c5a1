// snow/net/tcp_listener.hpp: a listening TCP socket. One multishot accept request stays armed
// in the ring and feeds a small queue of accepted sockets; accept() takes from the queue or
// waits. Accepted sockets nobody takes are closed with the listener, never leaked.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <string_view>

#include "snow/core/export.hpp"
#include "snow/core/result.hpp"
#include "snow/io/completion.hpp"
#include "snow/net/address.hpp"
#include "snow/net/file_descriptor.hpp"
#include "snow/net/tcp_stream.hpp"
#include "snow/sync/detail/waiter_list.hpp"

namespace snow::net {

/// How tcp_listener::bind() sets up the socket.
struct listen_options {
    /// The listen() backlog: connections the kernel queues before they are accepted.
    int backlog = 4096;
    bool reuse_address = true; ///< SO_REUSEADDR: rebind at once after a restart
    bool reuse_port = false;   ///< SO_REUSEPORT: one listener per loop on the same port
    bool no_delay = true;      ///< TCP_NODELAY on accepted streams
    /// Accepted sockets held for accept() callers before the listener stops taking more
    /// from the kernel's backlog (which then applies back-pressure to clients).
    std::size_t max_queued = 256;
};

/// A listening TCP socket. accept() yields connections from one multishot accept request
/// kept armed in the kernel; connections that arrive while nobody waits are queued (up to
/// listen_options::max_queued).
class SNOW_API tcp_listener {
    struct accept_queue;

public:
    tcp_listener() noexcept;
    /// Moves the socket; tasks waiting in accept() keep waiting on it.
    tcp_listener(tcp_listener&&) noexcept;
    /// Closes the current socket (waking its waiters) and takes `other`'s.
    tcp_listener& operator=(tcp_listener&&) noexcept;
    ~tcp_listener();

    /// Binds and listens. Errors: address_in_use, permission_denied, invalid_address…
    static result<tcp_listener> bind(const address& local, listen_options options = {});
    /// "127.0.0.1:9000" or "[::1]:0".
    static result<tcp_listener> bind(std::string_view local, listen_options options = {});
    /// Takes a socket that is already bound and listening, such as one systemd passed
    /// (net/systemd.hpp); `options` applies no_delay and max_queued. Errors: the kernel's,
    /// or invalid_argument when the socket is not listening.
    static result<tcp_listener> adopt(file_descriptor fd, listen_options options = {});

    /// What accept() returns: `co_await` it for result<tcp_stream>. Cancel-safe: a
    /// connection arriving after the cancel waits in the queue for the next accept().
    class [[nodiscard]] accept_awaiter {
    public:
        /// Made by accept().
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

    /// The bound address, with the real port when bound to port 0.
    const address& local_address() const noexcept;
    /// The listening socket's descriptor, still owned by the listener.
    int native_handle() const noexcept;

private:
    /// The listener over `fd`, a socket that already listens.
    static result<tcp_listener> listening_on(file_descriptor fd, listen_options options);

    std::unique_ptr<accept_queue> queue_; // stable address: it is the multishot's user_data
};

} // namespace snow::net
