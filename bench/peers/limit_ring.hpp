// bench/peers/limit_ring.hpp: the setup and event loop shared by the two raw-liburing peers
// (limit_http, limit_echo). No framework: one ring, one thread, one io_uring_enter per turn.
// A program supplies only what it does per connection; this file owns the listening socket,
// the ring, the multishot accept, the stop signal and the completion loop.
//
// Kernel: 6.1 for the fast path (SINGLE_ISSUER + DEFER_TASKRUN), 5.19 minimum (multishot
// accept). Every connection has at most one request in flight, so a connection's fd is its
// identity in user_data: a completion can never outlive the connection it names.
//
// Three opt-in experiments, each a flag (bench/README.md, "Opt-in ring experiments"):
//   --sqpoll         IORING_SETUP_SQPOLL: a kernel thread takes the SQEs; the loop enters only
//                    to wake it or to wait when no completion is ready.
//   --fixed-files    each accepted socket is registered in the ring's file table at the slot
//                    of its fd, and recv/send name it with IOSQE_FIXED_FILE (no fd lookup).
//   --fixed-buffers  sends leave from a registered buffer (IORING_OP_WRITE_FIXED: no page
//                    pinning per send); 6.1 has no fixed-buffer recv, so receives stay plain.
#pragma once

#include <arpa/inet.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace limit {

/// What a completion is for. Stored in the low byte of user_data, the fd above it.
enum class op : std::uint8_t { accept, stop, recv, send };

inline std::uint64_t user_data(op kind, int fd) noexcept {
    return (static_cast<std::uint64_t>(fd) << 8) | static_cast<std::uint8_t>(kind);
}

/// The command line: the port and the experiments (see the top of this file).
struct settings {
    std::uint16_t port = 0; ///< 0: the kernel picks, and the chosen port is printed
    bool sqpoll = false;
    bool fixed_files = false;
    bool fixed_buffers = false;
};

/// This process's settings, read by the helpers below; serve() fills them in.
inline settings mode;

/// The one registered buffer that sends with --fixed-buffers leave from (buffer index 0).
struct registered_region {
    const char* base = nullptr;
    std::size_t size = 0;
};
inline registered_region send_region;

/// Next free SQE; when the submission queue is full, submits what is queued first (with
/// SQPOLL, and then waits for the SQ thread to take some).
inline io_uring_sqe* next_sqe(io_uring& ring) noexcept {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    while (sqe == nullptr) {
        io_uring_submit(&ring);
        if (mode.sqpoll) io_uring_sqring_wait(&ring);
        sqe = io_uring_get_sqe(&ring);
    }
    return sqe;
}

/// With --fixed-files, the fd is also the connection's slot in the registered file table.
inline void name_file(io_uring_sqe* sqe) noexcept {
    if (mode.fixed_files) sqe->flags |= IOSQE_FIXED_FILE;
}

inline void prep_recv(io_uring& ring, int fd, void* buffer, std::size_t length) noexcept {
    io_uring_sqe* sqe = next_sqe(ring);
    io_uring_prep_recv(sqe, fd, buffer, length, 0);
    name_file(sqe);
    io_uring_sqe_set_data64(sqe, user_data(op::recv, fd));
}

/// MSG_NOSIGNAL: a peer that resets mid-send yields -EPIPE, not SIGPIPE. With
/// --fixed-buffers, a send from within the registered region is a WRITE_FIXED, which takes
/// no flags: SIGPIPE is ignored (stop_signal_fd), so the peer's reset is -EPIPE there too.
inline void prep_send(io_uring& ring, int fd, const void* buffer, std::size_t length) noexcept {
    io_uring_sqe* sqe = next_sqe(ring);
    const auto* bytes = static_cast<const char*>(buffer);
    if (mode.fixed_buffers && bytes >= send_region.base &&
        bytes + length <= send_region.base + send_region.size) {
        // A socket has no position: the offset is ignored.
        io_uring_prep_write_fixed(sqe, fd, buffer, static_cast<unsigned>(length), 0, 0);
    } else {
        io_uring_prep_send(sqe, fd, buffer, length, MSG_NOSIGNAL);
    }
    name_file(sqe);
    io_uring_sqe_set_data64(sqe, user_data(op::send, fd));
}

/// With --fixed-buffers, registers [base, base + size) as buffer 0, for prep_send. Call it
/// once, from on_start. Exits with the kernel's error if the ring refuses it (ENOMEM: raise
/// the locked-memory limit, ulimit -l).
inline void register_send_region(io_uring& ring, const void* base, std::size_t size) {
    if (!mode.fixed_buffers) return;
    iovec region{const_cast<void*>(base), size};
    if (int error = io_uring_register_buffers(&ring, &region, 1); error < 0) {
        std::fprintf(stderr, "io_uring_register_buffers: %s\n", std::strerror(-error));
        std::exit(1);
    }
    send_region = {static_cast<const char*>(base), size};
}

/// Closes a connection. Safe at any completion of it: a connection has one request in flight
/// at a time, and this is called from that request's completion, so nothing of it is pending.
/// With --fixed-files its slot is emptied first, so the table lets go of the socket.
inline void close_connection(io_uring& ring, int fd) noexcept {
    if (mode.fixed_files) {
        int empty = -1;
        io_uring_register_files_update(&ring, static_cast<unsigned>(fd), &empty, 1);
    }
    ::close(fd);
}

/// Per-connection state indexed by fd. Entries are heap-allocated once and reused when the
/// kernel hands the same fd out again, so a recv buffer never moves while the kernel may be
/// writing into it (a vector of inline buffers would move them when it grows).
template <typename Connection>
class connection_table {
public:
    /// A fresh connection for a just-accepted fd.
    Connection& open(int fd) {
        auto index = static_cast<std::size_t>(fd);
        if (index >= slots_.size()) slots_.resize(index + 1);
        if (!slots_[index]) slots_[index] = std::make_unique<Connection>();
        slots_[index]->reset();
        return *slots_[index];
    }
    Connection& operator[](int fd) noexcept { return *slots_[static_cast<std::size_t>(fd)]; }

private:
    std::vector<std::unique_ptr<Connection>> slots_;
};

namespace detail {

// `--port N` and the experiments' flags; anything else prints the usage and exits with 2.
inline settings parse_settings(int argc, char** argv) {
    settings parsed;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        bool ok = true;
        if (arg == "--port" && i + 1 < argc) {
            char* end = nullptr;
            long port = std::strtol(argv[++i], &end, 10);
            ok = *end == '\0' && port >= 0 && port <= 65535;
            parsed.port = static_cast<std::uint16_t>(port);
        } else if (arg == "--sqpoll") {
            parsed.sqpoll = true;
        } else if (arg == "--fixed-files") {
            parsed.fixed_files = true;
        } else if (arg == "--fixed-buffers") {
            parsed.fixed_buffers = true;
        } else {
            ok = false;
        }
        if (!ok) {
            std::fprintf(stderr,
                         "usage: %s [--port N] [--sqpoll] [--fixed-files] [--fixed-buffers]\n",
                         argv[0]);
            std::exit(2);
        }
    }
    return parsed;
}

[[noreturn]] inline void fail(const char* what, int error) {
    std::fprintf(stderr, "%s: %s\n", what, std::strerror(error));
    std::exit(1);
}

// A listening socket on 127.0.0.1:port; `port` is updated to the bound port.
inline int listen_on(std::uint16_t& port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fail("socket", errno);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // sockaddr_in and sockaddr are the documented aliasing pair of the sockets API.
    auto* generic = reinterpret_cast<sockaddr*>(&address);
    if (::bind(fd, generic, sizeof address) < 0) fail("bind", errno);
    if (::listen(fd, SOMAXCONN) < 0) fail("listen", errno);
    socklen_t length = sizeof address;
    ::getsockname(fd, generic, &length);
    port = ntohs(address.sin_port);
    return fd;
}

// Newest flags first: SINGLE_ISSUER (6.0) + DEFER_TASKRUN (6.1) run completion work only when
// this thread enters the kernel; COOP_TASKRUN (5.19) at least avoids interrupting it. An older
// kernel rejects an unknown flag with EINVAL, so step down until one set is accepted. SQPOLL
// takes neither DEFER_TASKRUN nor COOP_TASKRUN (the SQ thread runs the completion work).
inline void create_ring(io_uring& ring) {
    const unsigned flag_sets[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
        IORING_SETUP_COOP_TASKRUN,
        0,
    };
    const unsigned sqpoll_flag_sets[] = {
        IORING_SETUP_SQPOLL | IORING_SETUP_SINGLE_ISSUER,
        IORING_SETUP_SQPOLL,
    };
    int error = -EINVAL;
    for (unsigned flags : mode.sqpoll ? std::span<const unsigned>(sqpoll_flag_sets)
                                      : std::span<const unsigned>(flag_sets)) {
        io_uring_params params{};
        params.flags = flags;
        params.sq_thread_idle = 1000; // ms; as snow's io::ring_options
        error = io_uring_queue_init_params(2048, &ring, &params);
        if (error != -EINVAL) break;
    }
    if (error < 0) fail("io_uring_queue_init", -error);
    // Skips the fd lookup on every enter (5.18); harmless to go without.
    io_uring_register_ring_fd(&ring);
    if (mode.fixed_files) {
        // A slot for every fd this process may open, so an fd is its own slot.
        rlimit files{};
        ::getrlimit(RLIMIT_NOFILE, &files);
        const auto slots = static_cast<unsigned>(std::min<rlim_t>(files.rlim_cur, 1u << 16));
        if (int sparse = io_uring_register_files_sparse(&ring, slots); sparse < 0)
            fail("io_uring_register_files_sparse", -sparse);
    }
}

// Submits what is queued and waits for a completion. With SQPOLL, io_uring_submit enters only
// to wake a sleeping SQ thread, and the wait only when no completion is ready yet.
inline int submit_and_wait(io_uring& ring) {
    if (!mode.sqpoll) return io_uring_submit_and_wait(&ring, 1);
    int submitted = io_uring_submit(&ring);
    if (submitted < 0 || io_uring_cq_ready(&ring) > 0) return submitted;
    io_uring_cqe* cqe = nullptr;
    return io_uring_wait_cqe(&ring, &cqe);
}

// SIGINT and SIGTERM arrive as a readable signalfd, read on the ring like any other request,
// so the loop never sleeps through a stop (a flag checked before io_uring_enter can race).
inline int stop_signal_fd() {
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    int fd = ::signalfd(-1, &stop_signals, SFD_CLOEXEC);
    if (fd < 0) fail("signalfd", errno);
    return fd;
}

inline void arm_accept(io_uring& ring, int listen_fd) {
    io_uring_sqe* sqe = next_sqe(ring);
    io_uring_prep_multishot_accept(sqe, listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, user_data(op::accept, listen_fd));
}

} // namespace detail

/// Parses `--port N` and the experiments' flags, listens on 127.0.0.1, prints `listening on
/// 127.0.0.1:PORT`, and runs the loop until SIGINT or SIGTERM; returns the process exit
/// status. The handler is called with
///   on_start(ring)            once, before the first accept (register_send_region here);
///   on_open(ring, fd)         a connection was accepted (TCP_NODELAY already set);
///   on_recv(ring, fd, res)    a recv completed (res: bytes, 0 at EOF, or -errno);
///   on_send(ring, fd, res)    a send completed (res: bytes or -errno);
/// and queues the connection's next request with prep_recv / prep_send, or closes it with
/// close_connection.
template <typename Handler>
int serve(int argc, char** argv, Handler& handler) {
    mode = detail::parse_settings(argc, argv);
    std::uint16_t port = mode.port;
    int stop_fd = detail::stop_signal_fd();
    int listen_fd = detail::listen_on(port);
    io_uring ring;
    detail::create_ring(ring);
    handler.on_start(ring);

    signalfd_siginfo stop_info;
    io_uring_sqe* sqe = next_sqe(ring);
    io_uring_prep_read(sqe, stop_fd, &stop_info, sizeof stop_info, 0);
    io_uring_sqe_set_data64(sqe, user_data(op::stop, stop_fd));
    detail::arm_accept(ring, listen_fd);

    std::printf("listening on 127.0.0.1:%u\n", static_cast<unsigned>(port));
    std::fflush(stdout);

    bool stopping = false;
    while (!stopping) {
        int submitted = detail::submit_and_wait(ring);
        // EINTR: some other signal; EAGAIN/EBUSY: the CQ overflowed. Both: drain and go on.
        if (submitted < 0 && submitted != -EINTR && submitted != -EAGAIN && submitted != -EBUSY)
            detail::fail("io_uring_submit_and_wait", -submitted);

        unsigned head;
        unsigned seen = 0;
        io_uring_cqe* cqe;
        io_uring_for_each_cqe(&ring, head, cqe) {
            ++seen;
            auto fd = static_cast<int>(cqe->user_data >> 8);
            switch (static_cast<op>(cqe->user_data & 0xff)) {
            case op::accept:
                if (cqe->res >= 0) {
                    int one = 1;
                    ::setsockopt(cqe->res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    if (mode.fixed_files)
                        io_uring_register_files_update(&ring, static_cast<unsigned>(cqe->res),
                                                       &cqe->res, 1);
                    handler.on_open(ring, cqe->res);
                }
                // The kernel ends a multishot on error or when it runs out of resources.
                if (!(cqe->flags & IORING_CQE_F_MORE)) detail::arm_accept(ring, listen_fd);
                break;
            case op::stop:
                stopping = true;
                break;
            case op::recv:
                handler.on_recv(ring, fd, cqe->res);
                break;
            case op::send:
                handler.on_send(ring, fd, cqe->res);
                break;
            }
        }
        io_uring_cq_advance(&ring, seen);
    }

    // The armed accept holds a reference to the listening socket until the ring's teardown,
    // which the kernel finishes asynchronously after exit: without the shutdown the port
    // could still be in LISTEN when the next benchmark run binds it. Whatever else is in
    // flight is cancelled by that teardown, and exiting closes the connections.
    ::shutdown(listen_fd, SHUT_RDWR);
    io_uring_queue_exit(&ring);
    ::close(listen_fd);
    ::close(stop_fd);
    return 0;
}

} // namespace limit
