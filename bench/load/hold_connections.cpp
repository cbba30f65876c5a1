// hold_connections: opens COUNT connections to an HTTP server on 127.0.0.1:PORT, sends
// REQUEST on each (C escapes \r \n \t \\ decoded) and holds them open, so the harness can
// read the server's VmRSS before and after and divide by COUNT.
//   --wait-response 1: reads each full response (head + Content-Length body), leaving an
//                      idle keep-alive connection: "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"
//   --wait-response 0: only sends, for requests the server parks: "GET /req/ HTTP/1.1\r\n..."
// Connects nonblocking, --batch (500) in flight at a time, after raising its soft fd limit
// to the hard one. When all are established (and answered if asked) it prints "held N" and
// waits for EOF on stdin or SIGTERM/SIGINT, then closes everything and exits 0. A failure
// before that: message on stderr, exit 1. A held connection the server closes later is
// reported on stderr. It does not use snow.
//   build/bench/load/hold_connections --port P --count 10000 --wait-response 1
//       --request 'GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n'
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct options {
    int port = 0;
    std::size_t count = 0;
    std::string request;
    bool wait_response = true;
    std::size_t batch = 500;
    double timeout_seconds = 60;
};

enum class phase { connecting, sending, reading, held, closed };

struct connection {
    int fd = -1;
    phase state = phase::connecting;
    std::size_t sent = 0;
    std::string response; // only while reading
};

constexpr std::uint64_t stdin_key = ~std::uint64_t{0};
constexpr std::uint64_t signal_key = ~std::uint64_t{0} - 1;

[[noreturn]] void usage(const char* program) {
    std::fprintf(stderr,
                 "usage: %s --port P --count N --request STRING --wait-response 0|1 "
                 "[--batch 500] [--timeout-seconds 60]\n",
                 program);
    std::exit(2);
}

std::string unescape(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\' || i + 1 == s.size()) {
            out += s[i];
            continue;
        }
        switch (s[++i]) {
        case 'r':
            out += '\r';
            break;
        case 'n':
            out += '\n';
            break;
        case 't':
            out += '\t';
            break;
        default:
            out += s[i];
            break; // \\ and anything else: the character itself
        }
    }
    return out;
}

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view name = argv[i];
        if (i + 1 >= argc) usage(argv[0]);
        const char* value = argv[++i];
        if (name == "--port")
            o.port = std::atoi(value);
        else if (name == "--count")
            o.count = std::strtoul(value, nullptr, 10);
        else if (name == "--request")
            o.request = unescape(value);
        else if (name == "--wait-response")
            o.wait_response = std::atoi(value) != 0;
        else if (name == "--batch")
            o.batch = std::strtoul(value, nullptr, 10);
        else if (name == "--timeout-seconds")
            o.timeout_seconds = std::atof(value);
        else
            usage(argv[0]);
    }
    if (o.port <= 0 || o.port > 65535 || o.count == 0 || o.request.empty() || o.batch == 0)
        usage(argv[0]);
    return o;
}

/// Whether `response` holds a whole HTTP response: true when complete, false when more is
/// needed; sets `error` when it is not a 2xx response with a Content-Length framing.
bool response_complete(const std::string& response, const char*& error) {
    const std::size_t head_end = response.find("\r\n\r\n");
    if (head_end == std::string::npos) return false;
    if (response.compare(0, 9, "HTTP/1.1 ") != 0 && response.compare(0, 9, "HTTP/1.0 ") != 0) {
        error = "not an HTTP/1.x response";
        return false;
    }
    if (response[9] != '2') {
        error = "the response is not 2xx";
        return false;
    }
    std::size_t length = 0;
    std::size_t line = response.find("\r\n") + 2;
    while (line < head_end) {
        const std::size_t next = response.find("\r\n", line);
        const std::string_view field(response.data() + line, next - line);
        constexpr std::string_view content_length = "content-length:";
        constexpr std::string_view transfer_encoding = "transfer-encoding:";
        auto named = [&field](std::string_view lower) {
            if (field.size() < lower.size()) return false;
            for (std::size_t i = 0; i < lower.size(); ++i)
                if (static_cast<char>(std::tolower(static_cast<unsigned char>(field[i]))) !=
                    lower[i])
                    return false;
            return true;
        };
        if (named(content_length))
            length =
                std::strtoul(std::string(field.substr(content_length.size())).c_str(), nullptr, 10);
        if (named(transfer_encoding)) {
            error = "chunked responses are not supported";
            return false;
        }
        line = next + 2;
    }
    return response.size() >= head_end + 4 + length;
}

class holder {
public:
    holder(const options& o, int epoll_fd) : o_(o), epoll_fd_(epoll_fd), connections_(o.count) {
        address_.sin_family = AF_INET;
        address_.sin_port = htons(static_cast<std::uint16_t>(o.port));
        address_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    }

    /// Starts connects until `batch` are in flight. False on a local failure (EMFILE, …).
    bool start_more() {
        while (started_ < connections_.size() && started_ - done_ < o_.batch) {
            connection& c = connections_[started_];
            c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (c.fd < 0) return fail(c, "socket", std::strerror(errno));
            const int r =
                connect(c.fd, reinterpret_cast<const sockaddr*>(&address_), sizeof address_);
            if (r != 0 && errno != EINPROGRESS) return fail(c, "connect", std::strerror(errno));
            epoll_event event{};
            event.events = EPOLLOUT;
            event.data.u64 = started_++;
            if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c.fd, &event) != 0)
                return fail(c, "epoll_ctl", std::strerror(errno));
        }
        return true;
    }

    /// Moves connection `index` on after an event. False when it failed.
    bool on_event(std::size_t index, std::uint32_t events) {
        connection& c = connections_[index];
        switch (c.state) {
        case phase::connecting: {
            int error = 0;
            socklen_t length = sizeof error;
            getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &error, &length);
            if (error != 0) return fail(c, "connect", std::strerror(error));
            c.state = phase::sending;
            return send_request(c, index);
        }
        case phase::sending:
            return send_request(c, index);
        case phase::reading:
            return read_response(c);
        case phase::held:
            return drain(c, events);
        case phase::closed:
            return true;
        }
        return true;
    }

    bool all_held() const { return done_ == connections_.size(); }
    std::size_t held() const { return done_; }
    std::size_t lost() const { return lost_; }

    void close_all() {
        for (auto& c : connections_)
            if (c.fd >= 0) close(c.fd);
    }

private:
    bool send_request(connection& c, std::size_t index) {
        while (c.sent < o_.request.size()) {
            const ssize_t n =
                send(c.fd, o_.request.data() + c.sent, o_.request.size() - c.sent, MSG_NOSIGNAL);
            if (n < 0 && errno == EAGAIN) return true; // EPOLLOUT is still armed
            if (n < 0) return fail(c, "send", std::strerror(errno));
            c.sent += static_cast<std::size_t>(n);
        }
        c.state = o_.wait_response ? phase::reading : phase::held;
        if (c.state == phase::held) ++done_;
        return watch(c, index, EPOLLIN);
    }

    bool read_response(connection& c) {
        char buffer[4096];
        const ssize_t n = recv(c.fd, buffer, sizeof buffer, 0);
        if (n < 0 && errno == EAGAIN) return true;
        if (n < 0) return fail(c, "recv", std::strerror(errno));
        if (n == 0) return fail(c, "recv", "the server closed the connection");
        c.response.append(buffer, static_cast<std::size_t>(n));
        const char* error = nullptr;
        const bool complete = response_complete(c.response, error);
        if (error != nullptr) return fail(c, "response", error);
        if (!complete) return true;
        c.response = std::string();
        c.state = phase::held;
        ++done_;
        return true;
    }

    /// A held connection: discard what arrives (e.g. the answer to a parked request once the
    /// server resolves it) and note when the server closes it.
    bool drain(connection& c, std::uint32_t events) {
        char buffer[4096];
        const ssize_t n = recv(c.fd, buffer, sizeof buffer, 0);
        if (n > 0 || (n < 0 && errno == EAGAIN && !(events & (EPOLLHUP | EPOLLERR)))) return true;
        epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
        close(c.fd);
        c.fd = -1;
        c.state = phase::closed;
        ++lost_;
        if (!all_held()) {
            std::fprintf(stderr, "hold_connections: a held connection was closed by the server\n");
            return false;
        }
        return true;
    }

    bool watch(connection& c, std::size_t index, std::uint32_t events) {
        epoll_event event{};
        event.events = events;
        event.data.u64 = index;
        if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &event) != 0)
            return fail(c, "epoll_ctl", std::strerror(errno));
        return true;
    }

    bool fail(const connection& c, const char* what, const char* why) {
        std::fprintf(stderr, "hold_connections: connection %zu of %zu: %s: %s\n",
                     static_cast<std::size_t>(&c - connections_.data()) + 1, connections_.size(),
                     what, why);
        return false;
    }

    const options& o_;
    int epoll_fd_;
    sockaddr_in address_{};
    std::vector<connection> connections_;
    std::size_t started_ = 0;
    std::size_t done_ = 0;
    std::size_t lost_ = 0;
};

void raise_fd_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
}

bool add(int epoll_fd, int fd, std::uint64_t key) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = key;
    return epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) == 0;
}

} // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    raise_fd_limit();

    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigprocmask(SIG_BLOCK, &signals, nullptr);
    const int signal_fd = signalfd(-1, &signals, SFD_CLOEXEC);
    const int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (signal_fd < 0 || epoll_fd < 0 || !add(epoll_fd, signal_fd, signal_key)) {
        std::perror("hold_connections: setup");
        return 1;
    }

    holder h(o, epoll_fd);
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                              std::chrono::duration<double>(o.timeout_seconds));
    std::vector<epoll_event> events(1024);
    bool stdin_watched = false;
    for (;;) {
        if (!h.all_held() && !h.start_more()) return 1;
        if (h.all_held() && !stdin_watched) {
            std::printf("held %zu\n", o.count);
            std::fflush(stdout);
            stdin_watched = true;
            // epoll refuses regular files and /dev/null, whose reads never block: at EOF now.
            if (!add(epoll_fd, STDIN_FILENO, stdin_key)) break;
        }
        if (!stdin_watched && std::chrono::steady_clock::now() > deadline) {
            std::fprintf(stderr, "hold_connections: timed out with %zu of %zu held\n", h.held(),
                         o.count);
            return 1;
        }
        const int ready = epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()),
                                     stdin_watched ? -1 : 100);
        if (ready < 0 && errno != EINTR) {
            std::perror("hold_connections: epoll_wait");
            return 1;
        }
        bool finished = false;
        for (int k = 0; k < ready; ++k) {
            const epoll_event& e = events[static_cast<std::size_t>(k)];
            if (e.data.u64 == signal_key) {
                finished = true;
            } else if (e.data.u64 == stdin_key) {
                char buffer[256];
                const ssize_t n = read(STDIN_FILENO, buffer, sizeof buffer);
                if (n <= 0) finished = true;
            } else if (!h.on_event(e.data.u64, e.events)) {
                return 1;
            }
        }
        if (finished) break;
    }
    if (h.lost() > 0)
        std::fprintf(stderr, "hold_connections: the server closed %zu of %zu held connections\n",
                     h.lost(), o.count);
    h.close_all();
    return 0;
}
