// echo_load: TCP echo load generator. Opens N connections to 127.0.0.1:PORT; each sends a
// message of BYTES bytes, waits until all of it has come back, and sends the next. After
// the warm-up it counts completed round trips for S seconds and prints one line:
//   round_trips=<count> seconds=<elapsed> rate=<round trips per second> errors=<n>
// One thread and level-triggered epoll, so it fits on one pinned CPU. It does not use snow:
// it measures snow and its peers alike. Exits 1 if a connect fails or a connection errors.
//   taskset -c 1 build/bench/load/echo_load --port P --connections 64 --size 64 --seconds 5
//       [--warmup-seconds 1]
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

namespace {

using steady = std::chrono::steady_clock;

struct options {
    int port = 0;
    std::size_t connections = 64;
    std::size_t size = 64;
    double seconds = 5;
    double warmup_seconds = 1;
};

/// One client connection. Every byte of round r is the same value, fill(r), so checking the
/// first and last byte of each chunk read catches stale, lost or reordered data cheaply.
struct connection {
    int fd = -1;
    std::uint32_t round = 0;
    std::size_t sent = 0;
    std::size_t received = 0;
    bool want_write = false; // EPOLLOUT armed: the last send was partial
    bool failed = false;
};

std::uint8_t fill(const connection& c, std::size_t index) {
    return static_cast<std::uint8_t>(index * 31 + c.round);
}

[[noreturn]] void usage(const char* program) {
    std::fprintf(stderr,
                 "usage: %s --port P [--connections N] [--size BYTES] [--seconds S] "
                 "[--warmup-seconds W]\n",
                 program);
    std::exit(2);
}

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view name = argv[i];
        if (i + 1 >= argc) usage(argv[0]);
        const char* value = argv[++i];
        if (name == "--port")
            o.port = std::atoi(value);
        else if (name == "--connections")
            o.connections = std::strtoul(value, nullptr, 10);
        else if (name == "--size")
            o.size = std::strtoul(value, nullptr, 10);
        else if (name == "--seconds")
            o.seconds = std::atof(value);
        else if (name == "--warmup-seconds")
            o.warmup_seconds = std::atof(value);
        else
            usage(argv[0]);
    }
    if (o.port <= 0 || o.port > 65535 || o.connections == 0 || o.size == 0 || o.seconds <= 0)
        usage(argv[0]);
    return o;
}

void raise_fd_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
}

int connect_to(int port) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int one = 1;
    // A blocking connect, one at a time: the listener's backlog never overflows.
    if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
        fcntl(fd, F_SETFL, O_NONBLOCK) != 0) {
        const int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

class load {
public:
    load(const options& o, int epoll_fd)
        : size_(o.size)
        , epoll_fd_(epoll_fd)
        , out_(o.size)
        , in_(o.size) {}

    /// Sends what is left of the current message; arms EPOLLOUT while the socket is full.
    void write_some(connection& c, std::size_t index) {
        if (c.sent == 0) std::memset(out_.data(), fill(c, index), size_);
        while (c.sent < size_) {
            const ssize_t n = send(c.fd, out_.data() + c.sent, size_ - c.sent, MSG_NOSIGNAL);
            if (n < 0 && errno == EAGAIN) break;
            if (n <= 0) return fail(c, "send", errno);
            c.sent += static_cast<std::size_t>(n);
        }
        watch(c, index, c.sent < size_);
    }

    /// Reads what has arrived; a complete echo counts a round trip and starts the next.
    void read_some(connection& c, std::size_t index) {
        const ssize_t n = recv(c.fd, in_.data(), size_ - c.received, 0);
        if (n < 0 && errno == EAGAIN) return;
        if (n < 0) return fail(c, "recv", errno);
        if (n == 0) return fail(c, "recv", "the server closed the connection");
        const auto got = static_cast<std::size_t>(n);
        const std::uint8_t expected = fill(c, index);
        if (c.received + got > c.sent || in_[0] != expected || in_[got - 1] != expected)
            return fail(c, "recv", "the echo does not match what was sent");
        c.received += got;
        if (c.received < size_) return;
        ++round_trips;
        ++c.round;
        c.sent = c.received = 0;
        write_some(c, index);
    }

    std::uint64_t round_trips = 0;
    std::size_t errors = 0;

private:
    void watch(connection& c, std::size_t index, bool want_write) {
        if (c.want_write == want_write) return;
        c.want_write = want_write;
        epoll_event event{};
        event.events = EPOLLIN | (want_write ? EPOLLOUT : 0u);
        event.data.u64 = index;
        if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &event) != 0) fail(c, "epoll_ctl", errno);
    }

    void fail(connection& c, const char* what, int error) { fail(c, what, std::strerror(error)); }
    void fail(connection& c, const char* what, const char* why) {
        if (c.failed) return;
        std::fprintf(stderr, "echo_load: %s: %s\n", what, why);
        c.failed = true;
        ++errors;
        epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
        close(c.fd);
    }

    std::size_t size_;
    int epoll_fd_;
    std::vector<std::uint8_t> out_;
    std::vector<std::uint8_t> in_;
};

double seconds_between(steady::time_point a, steady::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

} // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    raise_fd_limit();
    const int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd < 0) {
        std::perror("echo_load: epoll_create1");
        return 1;
    }
    std::vector<connection> connections(o.connections);
    for (std::size_t i = 0; i < connections.size(); ++i) {
        connections[i].fd = connect_to(o.port);
        if (connections[i].fd < 0) {
            std::fprintf(stderr, "echo_load: connect to 127.0.0.1:%d (connection %zu): %s\n",
                         o.port, i + 1, std::strerror(errno));
            return 1;
        }
        epoll_event event{};
        event.events = EPOLLIN;
        event.data.u64 = i;
        if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, connections[i].fd, &event) != 0) {
            std::perror("echo_load: epoll_ctl");
            return 1;
        }
    }

    load l(o, epoll_fd);
    for (std::size_t i = 0; i < connections.size(); ++i) l.write_some(connections[i], i);

    const auto start = steady::now();
    const auto measure_from = start + std::chrono::duration_cast<steady::duration>(
                                          std::chrono::duration<double>(o.warmup_seconds));
    const auto measure_until = measure_from + std::chrono::duration_cast<steady::duration>(
                                                  std::chrono::duration<double>(o.seconds));
    bool measuring = false;
    std::uint64_t counted_before = 0;
    steady::time_point began{};
    std::vector<epoll_event> events(connections.size());
    for (;;) {
        const auto now = steady::now();
        if (!measuring && now >= measure_from) {
            measuring = true;
            counted_before = l.round_trips;
            began = now;
        }
        if (now >= measure_until || l.errors == connections.size()) break;
        const int ready = epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), 50);
        if (ready < 0 && errno != EINTR) {
            std::perror("echo_load: epoll_wait");
            return 1;
        }
        for (int k = 0; k < ready; ++k) {
            const std::size_t index = events[static_cast<std::size_t>(k)].data.u64;
            connection& c = connections[index];
            const std::uint32_t what = events[static_cast<std::size_t>(k)].events;
            if (!c.failed && (what & EPOLLOUT)) l.write_some(c, index);
            if (!c.failed && (what & (EPOLLIN | EPOLLERR | EPOLLHUP))) l.read_some(c, index);
        }
    }
    const double elapsed = measuring ? seconds_between(began, steady::now()) : 0.0;
    const std::uint64_t counted = measuring ? l.round_trips - counted_before : 0;
    std::printf("round_trips=%llu seconds=%.3f rate=%.1f errors=%zu\n",
                static_cast<unsigned long long>(counted), elapsed,
                elapsed > 0 ? static_cast<double>(counted) / elapsed : 0.0, l.errors);
    for (auto& c : connections)
        if (!c.failed) close(c.fd);
    close(epoll_fd);
    return l.errors == 0 ? 0 : 1;
}
