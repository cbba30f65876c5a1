// snow/net/tcp_listener.cpp: bind/listen and the multishot accept queue.
#include "snow/net/tcp_listener.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "snow/io/detail/planted_bug.hpp"
#include "snow/io/event_loop.hpp"
#include "snow/io/syscalls.hpp"

namespace snow::net {

struct tcp_listener::accept_queue : io::completion {
    file_descriptor fd;
    address local;
    listen_options options;
    io::event_loop* loop = nullptr;
    std::deque<int> accepted;
    snow::detail::waiter_list waiters;
    int pending_error = 0; // a failed accept nobody was waiting for
    bool armed = false;

    accept_queue() : io::completion{&accept_queue::complete} {}
    accept_queue(const accept_queue&) = delete;
    accept_queue& operator=(const accept_queue&) = delete;

    ~accept_queue() {
        if (armed) {
            // The multishot request points at this object: wait for its last completion.
            waiters_closing = true;
            loop->cancel_and_wait(this, [this] { return !armed; });
        }
        for (int s : accepted) io::sys::close(s);
        // `waiters`, destroyed next, wakes every task still in accept() as abandoned: none
        // is left waiting on a listener that is gone.
        if (io::detail::planted_bug == io::detail::plant::forget_accept_waiters) [[unlikely]]
            while (waiters.pop() != nullptr) {
            }
    }

    void arm() {
        loop = &io::event_loop::current();
        io_uring_sqe& sqe = loop->io().next_sqe();
        // Multishot accept needs Linux 5.19; one SQE then yields a CQE per connection.
        io_uring_prep_multishot_accept(&sqe, fd.get(), nullptr, nullptr, SOCK_CLOEXEC);
        io_uring_sqe_set_data(&sqe, static_cast<io::completion*>(this));
        armed = true;
    }

    void deliver(tcp_listener::accept_awaiter& waiter, int fd_or_error) {
        if (fd_or_error >= 0)
            waiter.fd_ = fd_or_error;
        else
            waiter.error_ = -fd_or_error;
        waiter.on_cancel_.reset();
        waiter.node_.wake();
    }

    static tcp_listener::accept_awaiter& owner(snow::detail::waiter_node* node) {
        return *static_cast<tcp_listener::accept_awaiter*>(node->context);
    }

    static void complete(io::completion* self, const io_uring_cqe& cqe) noexcept {
        auto* q = static_cast<accept_queue*>(self);
        // A CQE without MORE is the request's last: the next accept() must arm a new one.
        if (!(cqe.flags & IORING_CQE_F_MORE)) [[unlikely]] {
            q->armed = false;
            if (io::detail::planted_bug == io::detail::plant::ignore_missing_more) [[unlikely]]
                q->armed = true; // taken for one more
        }
        if (q->waiters_closing) {
            if (cqe.res >= 0) io::sys::close(cqe.res);
            return;
        }
        if (cqe.res == -ECANCELED) {
            // Our own back-pressure cancel: nothing to hand out.
        } else if (auto* node = q->waiters.pop()) {
            q->deliver(owner(node), cqe.res);
        } else if (cqe.res >= 0) {
            q->accepted.push_back(cqe.res);
            // Nobody is taking connections: stop pulling them off the kernel's backlog.
            if (q->armed && q->accepted.size() >= q->options.max_queued) q->loop->cancel(q);
        } else {
            q->pending_error = -cqe.res;
        }
        // A terminated multishot (error, cancel, or kernel limit) is re-armed only while
        // somebody waits; otherwise the next accept() re-arms it.
        if (!q->armed && !q->waiters.empty()) q->arm();
    }

    bool waiters_closing = false;
};

tcp_listener::tcp_listener() noexcept = default;
tcp_listener::tcp_listener(tcp_listener&&) noexcept = default;
tcp_listener& tcp_listener::operator=(tcp_listener&&) noexcept = default;
tcp_listener::~tcp_listener() = default;

result<tcp_listener> tcp_listener::bind(const address& local, listen_options options) {
    file_descriptor fd(io::sys::socket(local.family(), SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP));
    if (!fd.is_open()) return system_error_code(errno);
    int one = 1;
    if (options.reuse_address)
        (void)io::sys::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (options.reuse_port &&
        io::sys::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
        return system_error_code(errno);
    if (options.no_delay) // inherited by accepted sockets
        (void)io::sys::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (io::sys::bind(fd.get(), local.data(), local.size()) < 0) return system_error_code(errno);
    if (io::sys::listen(fd.get(), options.backlog) < 0) return system_error_code(errno);
    return listening_on(std::move(fd), options);
}

result<tcp_listener> tcp_listener::listening_on(file_descriptor fd, listen_options options) {
    tcp_listener listener;
    listener.queue_ = std::make_unique<accept_queue>();
    auto& q = *listener.queue_;
    q.local.set_size(address::capacity());
    socklen_t length = address::capacity();
    if (io::sys::getsockname(fd.get(), q.local.data(), &length) < 0)
        return system_error_code(errno);
    // A Unix socket's path does not fit, and the kernel reports the length it would need.
    q.local.set_size(std::min(length, address::capacity()));
    q.fd = std::move(fd);
    q.options = options;
    return listener;
}

result<tcp_listener> tcp_listener::adopt(file_descriptor fd, listen_options options) {
    int listening = 0;
    socklen_t size = sizeof listening;
    if (io::sys::getsockopt(fd.get(), SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) < 0)
        return system_error_code(errno);
    if (listening == 0) return std::make_error_code(std::errc::invalid_argument);
    int one = 1;
    if (options.no_delay)
        (void)io::sys::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    (void)::fcntl(fd.get(), F_SETFD, FD_CLOEXEC); // not to be inherited further
    return listening_on(std::move(fd), options);
}

result<tcp_listener> tcp_listener::bind(std::string_view local, listen_options options) {
    auto a = address::parse(local);
    if (!a) return a.error();
    return bind(*a, options);
}

const address& tcp_listener::local_address() const noexcept {
    return queue_->local;
}
int tcp_listener::native_handle() const noexcept {
    return queue_->fd.get();
}

tcp_listener::accept_awaiter::~accept_awaiter() {
    node_.detach();
    if (fd_ >= 0) io::sys::close(fd_); // delivered but never taken
}

bool tcp_listener::accept_awaiter::await_ready() noexcept {
    if (!queue_->accepted.empty()) {
        fd_ = queue_->accepted.front();
        queue_->accepted.pop_front();
        return true;
    }
    if (queue_->pending_error != 0) {
        error_ = std::exchange(queue_->pending_error, 0);
        return true;
    }
    return false;
}

bool tcp_listener::accept_awaiter::suspend(std::coroutine_handle<> waiter, cancel_source* source) {
    if (source != nullptr && source->requested()) {
        error_ = ECANCELED;
        return false;
    }
    node_.handle = waiter;
    node_.loop = &io::event_loop::current();
    node_.context = this;
    queue_->waiters.push(node_);
    if (!queue_->armed) queue_->arm();
    on_cancel_.attach(
        source,
        [](void* self) noexcept {
            auto* a = static_cast<accept_awaiter*>(self);
            if (!a->node_.linked()) return;
            a->node_.list->unlink(a->node_);
            a->error_ = ECANCELED;
            a->node_.wake();
        },
        this);
    return true;
}

result<tcp_stream> tcp_listener::accept_awaiter::await_resume() {
    node_.scheduled = false;
    on_cancel_.reset();
    if (node_.abandoned) return system_error_code(ECANCELED); // the listener is gone
    if (fd_ < 0) return system_error_code(error_);
    return tcp_stream(file_descriptor(std::exchange(fd_, -1)));
}

} // namespace snow::net
