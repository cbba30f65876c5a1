// realtime_load: WebSocket and Server-Sent Events load for bench/realtime.sh. Two modes:
//   echo:      N WebSocket connections to PATH, each sending a masked binary message of SIZE
//              bytes and waiting for its echo before the next; counts round trips for S
//              seconds: "round_trips=<n> seconds=<s> rate=<per second> errors=<n>"
//   broadcast: N subscribers (WebSocket to PATH, or an event stream when --sse 1), then
//              RUNS times: one message of SIZE bytes carrying a fresh marker is sent (a text
//              frame on a WebSocket of its own, or POST PATH for events) and the time until
//              the last subscriber has the marker is printed: "run=<i> ms=<t>", then
//              "median_ms=<t>".
// One thread, level-triggered epoll, nonblocking connects 500 at a time; it does not use snow.
//   realtime_load echo --port P --path /ws/echo --connections 64 --size 64 --seconds 5
//   realtime_load broadcast --port P --path /ws/chat --count 10000 --size 1024 --runs 5
//   realtime_load broadcast --port P --path /events/ --sse 1 --count 10000 --size 1024
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
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

using steady = std::chrono::steady_clock;

struct options {
    std::string mode;
    int port = 0;
    std::string path = "/ws/echo";
    bool sse = false;
    std::size_t connections = 64;
    std::size_t count = 10000;
    std::size_t size = 64;
    double seconds = 5;
    int runs = 5;
};

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "realtime_load: %s (%s)\n", what, std::strerror(errno));
    std::exit(1);
}

/// A nonblocking socket connecting to 127.0.0.1:port; the connect finishes in the background
/// (EPOLLOUT tells when).
int connect_to(int port) {
    const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0) fail("socket");
    sockaddr_in peer{};
    peer.sin_family = AF_INET;
    peer.sin_port = htons(static_cast<std::uint16_t>(port));
    peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(s, reinterpret_cast<const sockaddr*>(&peer), sizeof peer) != 0 &&
        errno != EINPROGRESS)
        fail("connect");
    const int one = 1;
    ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return s;
}

/// Writes all of `data` on a nonblocking socket, waiting with epoll when it is full.
void write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n > 0) {
            data.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) fail("send");
        const int ep = ::epoll_create1(EPOLL_CLOEXEC);
        epoll_event ev{};
        ev.events = EPOLLOUT;
        ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        ::epoll_wait(ep, &ev, 1, 5000);
        ::close(ep);
    }
}

/// A client frame (masked, key 0 so the payload stays as it is).
std::string client_frame(std::uint8_t opcode, std::string_view payload) {
    std::string f;
    f.push_back(static_cast<char>(0x80 | opcode));
    if (payload.size() < 126) {
        f.push_back(static_cast<char>(0x80 | payload.size()));
    } else {
        f.push_back(static_cast<char>(0x80 | 126));
        f.push_back(static_cast<char>(payload.size() >> 8));
        f.push_back(static_cast<char>(payload.size() & 0xff));
    }
    f.append(4, '\0');
    f.append(payload);
    return f;
}

/// The size of the server's (unmasked) frame carrying `payload` bytes.
std::size_t server_frame_size(std::size_t payload) {
    return payload + (payload < 126 ? 2 : payload < 65536 ? 4 : 10);
}

std::string upgrade_request(const std::string& path) {
    return "GET " + path +
           " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
}

/// Opens `count` connections, each sending `request` and reading until the end of the
/// response head ("\r\n\r\n"); a connection that gets other than `status` fails the run.
/// Bytes after the head are dropped (an event stream's first tick). 500 in flight at a time.
std::vector<int> open_all(int port, std::size_t count, const std::string& request,
                          std::string_view status) {
    std::vector<int> done;
    done.reserve(count);
    const int ep = ::epoll_create1(EPOLL_CLOEXEC);
    struct pending {
        int fd;
        std::string head;
    };
    std::vector<pending> slots(count);
    std::size_t started = 0;
    std::size_t in_flight = 0;
    std::vector<epoll_event> events(512);
    while (done.size() < count) {
        while (in_flight < 500 && started < count) {
            const int fd = connect_to(port);
            slots[started].fd = fd;
            epoll_event ev{};
            ev.events = EPOLLOUT;
            ev.data.u64 = started;
            if (::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) fail("epoll_ctl");
            ++started;
            ++in_flight;
        }
        const int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 10000);
        if (n <= 0) fail("connections stalled");
        for (int i = 0; i < n; ++i) {
            pending& p = slots[events[i].data.u64];
            if (events[i].events & EPOLLOUT) {
                write_all(p.fd, request);
                epoll_event ev{};
                ev.events = EPOLLIN;
                ev.data.u64 = events[i].data.u64;
                ::epoll_ctl(ep, EPOLL_CTL_MOD, p.fd, &ev);
                continue;
            }
            char buffer[4096];
            const ssize_t got = ::recv(p.fd, buffer, sizeof buffer, 0);
            if (got <= 0) fail("connection closed during the handshake");
            p.head.append(buffer, static_cast<std::size_t>(got));
            if (p.head.find("\r\n\r\n") == std::string::npos) continue;
            if (p.head.compare(9, status.size(), status) != 0) {
                std::fprintf(stderr, "realtime_load: %.60s\n", p.head.c_str());
                std::exit(1);
            }
            ::epoll_ctl(ep, EPOLL_CTL_DEL, p.fd, nullptr);
            done.push_back(p.fd);
            std::string().swap(p.head);
            --in_flight;
        }
    }
    ::close(ep);
    return done;
}

void raise_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
}

int echo(const options& o) {
    auto fds = open_all(o.port, o.connections, upgrade_request(o.path), "101");
    const std::string message = client_frame(0x2, std::string(o.size, 'e'));
    const std::size_t reply = server_frame_size(o.size);
    const int ep = ::epoll_create1(EPOLL_CLOEXEC);
    std::vector<std::size_t> received(fds.size(), 0);
    for (std::size_t i = 0; i < fds.size(); ++i) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = i;
        ::epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
        write_all(fds[i], message);
    }
    std::uint64_t round_trips = 0;
    std::vector<epoll_event> events(512);
    const auto start = steady::now();
    const auto end = start + std::chrono::duration<double>(o.seconds);
    while (steady::now() < end) {
        const int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 1000);
        if (n < 0) fail("epoll_wait");
        for (int i = 0; i < n; ++i) {
            const std::size_t c = events[i].data.u64;
            char buffer[4096];
            const ssize_t got = ::recv(fds[c], buffer, sizeof buffer, 0);
            if (got <= 0) fail("echo connection closed");
            received[c] += static_cast<std::size_t>(got);
            if (received[c] < reply) continue;
            received[c] -= reply;
            ++round_trips;
            write_all(fds[c], message);
        }
    }
    const double elapsed = std::chrono::duration<double>(steady::now() - start).count();
    std::printf("round_trips=%llu seconds=%.3f rate=%.0f errors=0\n",
                static_cast<unsigned long long>(round_trips), elapsed, round_trips / elapsed);
    for (const int fd : fds) ::close(fd);
    return 0;
}

/// Whether `tail` (the last bytes a subscriber read) and `chunk` together hold `marker`;
/// keeps the end of them in `tail` for the next chunk.
bool saw_marker(std::string& tail, std::string_view chunk, std::string_view marker) {
    tail.append(chunk);
    const bool found = tail.find(marker) != std::string::npos;
    if (tail.size() > marker.size()) tail.erase(0, tail.size() - marker.size());
    return found;
}

int broadcast(const options& o) {
    const std::string request =
        o.sse ? "GET " + o.path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" : upgrade_request(o.path);
    auto fds = open_all(o.port, o.count, request, o.sse ? "200" : "101");
    // The sender: a WebSocket of its own (a member of the room too), or a connection that
    // POSTs each event.
    auto sender = open_all(o.port, 1,
                           o.sse ? std::string("GET /index/ HTTP/1.1\r\nHost: x\r\n\r\n")
                                 : upgrade_request(o.path),
                           o.sse ? "200" : "101");
    const int ep = ::epoll_create1(EPOLL_CLOEXEC);
    for (std::size_t i = 0; i < fds.size(); ++i) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = i;
        ::epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
    }
    std::fprintf(stderr, "realtime_load: %zu subscribers\n", fds.size());
    std::vector<double> times;
    std::vector<epoll_event> events(1024);
    std::vector<std::string> tails(fds.size());
    std::vector<char> got_it(fds.size());
    char buffer[65536];
    for (int run = 0; run < o.runs; ++run) {
        // Drain what is waiting (earlier runs) so the clock measures this message; for at most
        // a second, as event streams also get a tick each second.
        const auto drain_until = steady::now() + std::chrono::seconds(1);
        while (steady::now() < drain_until) {
            const int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 200);
            if (n <= 0) break;
            for (int i = 0; i < n; ++i)
                (void)::recv(fds[events[i].data.u64], buffer, sizeof buffer, 0);
        }
        char marker_text[32];
        std::snprintf(marker_text, sizeof marker_text, "<marker %d %ld>", run,
                      static_cast<long>(::getpid()));
        const std::string marker = marker_text;
        std::string payload(o.size, 'b');
        payload.replace(o.size - marker.size(), marker.size(), marker);
        std::string message;
        if (o.sse)
            message = "POST " + o.path +
                      " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(payload.size()) +
                      "\r\n\r\n" + payload;
        else
            message = client_frame(0x1, payload);
        std::fill(got_it.begin(), got_it.end(), 0);
        for (auto& t : tails) t.clear();
        std::size_t have = 0;
        const auto start = steady::now();
        write_all(sender[0], message);
        while (have < fds.size()) {
            const int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 10000);
            if (n <= 0) fail("broadcast stalled");
            for (int i = 0; i < n; ++i) {
                const std::size_t c = events[i].data.u64;
                const ssize_t got = ::recv(fds[c], buffer, sizeof buffer, 0);
                if (got <= 0) fail("subscriber closed");
                if (got_it[c]) continue;
                if (saw_marker(tails[c], std::string_view(buffer, static_cast<std::size_t>(got)),
                               marker)) {
                    got_it[c] = 1;
                    ++have;
                }
            }
        }
        const double ms = std::chrono::duration<double, std::milli>(steady::now() - start).count();
        times.push_back(ms);
        std::printf("run=%d ms=%.2f\n", run + 1, ms);
        // The sender's own copy (a chat member) or its POST answer; read and dropped.
        (void)::recv(sender[0], buffer, sizeof buffer, MSG_DONTWAIT);
    }
    std::sort(times.begin(), times.end());
    std::printf("median_ms=%.2f\n", times[times.size() / 2]);
    for (const int fd : fds) ::close(fd);
    ::close(sender[0]);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    options o;
    if (argc < 2) {
        std::fprintf(stderr, "usage: realtime_load echo|broadcast --port P [--path PATH] "
                             "[--sse 0|1] [--connections N] [--count N] [--size B] "
                             "[--seconds S] [--runs N]\n");
        return 2;
    }
    o.mode = argv[1];
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string_view flag = argv[i];
        const char* value = argv[i + 1];
        if (flag == "--port")
            o.port = std::atoi(value);
        else if (flag == "--path")
            o.path = value;
        else if (flag == "--sse")
            o.sse = std::atoi(value) == 1;
        else if (flag == "--connections")
            o.connections = std::strtoull(value, nullptr, 10);
        else if (flag == "--count")
            o.count = std::strtoull(value, nullptr, 10);
        else if (flag == "--size")
            o.size = std::strtoull(value, nullptr, 10);
        else if (flag == "--seconds")
            o.seconds = std::atof(value);
        else if (flag == "--runs")
            o.runs = std::atoi(value);
        else {
            std::fprintf(stderr, "realtime_load: unknown flag %s\n", argv[i]);
            return 2;
        }
    }
    if (o.port <= 0 || o.size < 32 || o.runs < 1) {
        std::fprintf(stderr, "realtime_load: --port is required; --size at least 32\n");
        return 2;
    }
    raise_limit();
    if (o.mode == "echo") return echo(o);
    if (o.mode == "broadcast") return broadcast(o);
    std::fprintf(stderr, "realtime_load: unknown mode %s\n", o.mode.c_str());
    return 2;
}
