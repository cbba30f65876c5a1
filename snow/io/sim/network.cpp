// snow/io/sim/network.cpp: the in-memory TCP behind a simulated kernel: handshakes through a
// listener's backlog, byte streams with per-delivery latency and bounded receive buffers,
// FIN and RST with the real stack's rules for who sees which error when.
#include "snow/io/sim/network.hpp"

#include <arpa/inet.h>
#include <netinet/tcp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>

namespace snow::io::sim {
namespace {

std::uint16_t port_of(const sockaddr_storage& a) noexcept {
    if (a.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
    return ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port);
}

void set_port(sockaddr_storage& a, std::uint16_t port) noexcept {
    if (a.ss_family == AF_INET6)
        reinterpret_cast<sockaddr_in6&>(a).sin6_port = htons(port);
    else
        reinterpret_cast<sockaddr_in&>(a).sin_port = htons(port);
}

bool is_wildcard(const sockaddr_storage& a) noexcept {
    if (a.ss_family == AF_INET6) {
        const auto& in6 = reinterpret_cast<const sockaddr_in6&>(a);
        return IN6_IS_ADDR_UNSPECIFIED(&in6.sin6_addr);
    }
    return reinterpret_cast<const sockaddr_in&>(a).sin_addr.s_addr == htonl(INADDR_ANY);
}

bool same_host(const sockaddr_storage& a, const sockaddr_storage& b) noexcept {
    if (a.ss_family != b.ss_family) return false;
    if (a.ss_family == AF_INET6)
        return std::memcmp(&reinterpret_cast<const sockaddr_in6&>(a).sin6_addr,
                           &reinterpret_cast<const sockaddr_in6&>(b).sin6_addr,
                           sizeof(in6_addr)) == 0;
    return reinterpret_cast<const sockaddr_in&>(a).sin_addr.s_addr ==
           reinterpret_cast<const sockaddr_in&>(b).sin_addr.s_addr;
}

socklen_t size_of(const sockaddr_storage& a) noexcept {
    return a.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

std::string describe(const sockaddr_storage& a) {
    char text[INET6_ADDRSTRLEN] = "?";
    if (a.ss_family == AF_INET6)
        ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(a).sin6_addr, text,
                    sizeof text);
    else
        ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(a).sin_addr, text, sizeof text);
    return fmt::format("{}:{}", text, port_of(a));
}

int copy_out(const sockaddr_storage& a, sockaddr* address, socklen_t* length) noexcept {
    const socklen_t size = size_of(a);
    std::memcpy(address, &a, std::min(size, *length));
    *length = size;
    return 0;
}

} // namespace

network_faults network_faults::draw(random& r) noexcept {
    network_faults f;
    f.short_io = r.unit() * 0.5;
    // From a few segments' worth, where every large response blocks its sender, to plenty.
    f.socket_buffer = std::size_t{1024} << r.below(8);
    f.latency = std::chrono::nanoseconds(r.below(200'000));
    f.accept_ends = r.unit() * 0.1;
    // Some runs are short of descriptors now and then; most are not.
    f.accept_emfile = r.chance(0.25) ? r.unit() * 0.1 : 0.0;
    return f;
}

network::network(std::uint64_t seed, const clock::time_point& now,
                 std::optional<network_faults> odds)
    : random_(seed ^ 0x6e6574776f726b00ull) // "network": apart from the kernel's own draws
    , faults_(odds ? *odds : network_faults::draw(random_))
    , now_(now) {}

std::size_t network::pending_bytes(int fd) const {
    const socket_state* s = find(fd);
    return s == nullptr ? 0 : arrived_bytes(*s);
}

network::socket_state* network::find(int fd) {
    auto it = sockets_.find(fd);
    return it == sockets_.end() ? nullptr : &it->second;
}

const network::socket_state* network::find(int fd) const {
    auto it = sockets_.find(fd);
    return it == sockets_.end() ? nullptr : &it->second;
}

int network::fail(int error) const {
    errno = error;
    return -1;
}

clock::time_point network::arrival(const socket_state& to) {
    // Deliveries on one connection keep their order, as TCP's sequence numbers do.
    clock::time_point when = now_ + std::chrono::nanoseconds(random_.below(
                                        static_cast<std::uint64_t>(faults_.latency.count()) + 1));
    if (!to.inbox.empty()) when = std::max(when, to.inbox.back().arrives);
    if (to.fin) when = std::max(when, *to.fin);
    return when;
}

// --- system calls ---

int network::socket(int family, int type, int protocol) {
    if ((family != AF_INET && family != AF_INET6) ||
        (type & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)) != SOCK_STREAM)
        return fail(EAFNOSUPPORT); // only TCP over IPv4 and IPv6 is simulated
    if (protocol != 0 && protocol != IPPROTO_TCP) return fail(EPROTONOSUPPORT);
    const int fd = next_fd_++;
    socket_state& s = sockets_[fd];
    s.fd = fd;
    s.family = family;
    return fd;
}

int network::bind(int fd, const sockaddr* address, socklen_t length) {
    socket_state* s = find(fd);
    if (s == nullptr) return fail(EBADF);
    if (s->bound || s->phase != state::fresh) return fail(EINVAL);
    const socklen_t need = s->family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    if (address->sa_family != s->family || length < need) return fail(EINVAL);
    sockaddr_storage wanted{};
    std::memcpy(&wanted, address, std::min<std::size_t>(length, sizeof wanted));
    if (port_of(wanted) != 0) {
        for (const auto& [other_fd, other] : sockets_) {
            if (!other.bound || other_fd == fd || port_of(other.local) != port_of(wanted) ||
                other.family != s->family)
                continue;
            const bool overlap =
                same_host(other.local, wanted) || is_wildcard(other.local) || is_wildcard(wanted);
            if (overlap && !(other.reuse_port && s->reuse_port)) return fail(EADDRINUSE);
        }
    }
    s->local = wanted;
    if (port_of(wanted) == 0) assign_ephemeral(*s);
    s->bound = true;
    return 0;
}

void network::assign_ephemeral(socket_state& s) {
    for (;;) {
        const std::uint16_t port = next_port_++;
        if (next_port_ == 0) next_port_ = 40000;
        const bool taken = std::any_of(sockets_.begin(), sockets_.end(), [&](const auto& entry) {
            return entry.second.bound && port_of(entry.second.local) == port;
        });
        if (taken) continue;
        set_port(s.local, port);
        return;
    }
}

int network::listen(int fd, int backlog) {
    socket_state* s = find(fd);
    if (s == nullptr) return fail(EBADF);
    if (s->phase != state::fresh && s->phase != state::listening) return fail(EINVAL);
    if (!s->bound) {
        s->local.ss_family = static_cast<sa_family_t>(s->family);
        assign_ephemeral(*s);
        s->bound = true;
    }
    s->phase = state::listening;
    // As the kernel does: the queue holds backlog + 1, and at least one.
    s->backlog_limit = static_cast<std::size_t>(std::max(backlog, 0)) + 1;
    return 0;
}

int network::setsockopt(int fd, int level, int name, const void* value, socklen_t length) {
    socket_state* s = find(fd);
    if (s == nullptr) return fail(EBADF);
    if (level == SOL_SOCKET && name == SO_REUSEPORT && length >= sizeof(int)) {
        s->reuse_port = *static_cast<const int*>(value) != 0;
    } else if (level == SOL_SOCKET && name == SO_LINGER && length >= sizeof(linger)) {
        const auto& l = *static_cast<const linger*>(value);
        s->linger_zero = l.l_onoff != 0 && l.l_linger == 0;
    }
    // Everything else (SO_REUSEADDR, TCP_NODELAY, buffer sizes) changes no outcome here.
    return 0;
}

int network::getsockopt(int fd, int level, int name, void* value, socklen_t* length) {
    const socket_state* s = find(fd);
    if (s == nullptr) return fail(EBADF);
    if (*length < sizeof(int)) return fail(EINVAL);
    int answer = 0;
    if (level == SOL_SOCKET && name == SO_ACCEPTCONN) answer = s->phase == state::listening;
    std::memcpy(value, &answer, sizeof answer);
    *length = sizeof answer;
    return 0;
}

int network::getsockname(int fd, sockaddr* address, socklen_t* length) {
    const socket_state* s = find(fd);
    if (s == nullptr) return fail(EBADF);
    sockaddr_storage local = s->local;
    local.ss_family = static_cast<sa_family_t>(s->family);
    return copy_out(local, address, length);
}

int network::getpeername(int fd, sockaddr* address, socklen_t* length) {
    const socket_state* s = find(fd);
    if (s == nullptr) return fail(EBADF);
    if (s->phase != state::connected) return fail(ENOTCONN);
    return copy_out(s->peer, address, length);
}

void network::send_reset(socket_state& from) {
    ++counters_.resets;
    if (socket_state* peer = find(from.partner)) {
        peer->reset = arrival(*peer);
        peer->partner = -1;
    }
    from.partner = -1;
}

void network::send_fin(socket_state& from) {
    if (from.write_shut) return;
    from.write_shut = true;
    if (socket_state* peer = find(from.partner)) peer->fin = arrival(*peer);
}

int network::close(int fd) {
    socket_state* s = find(fd);
    if (s == nullptr) return fail(EBADF);
    if (s->phase == state::listening) {
        // Connections the listener never handed out are reset (inet_csk_listen_stop).
        for (int queued : s->backlog) {
            if (socket_state* q = find(queued)) {
                send_reset(*q);
                sockets_.erase(queued);
            }
        }
    } else if (s->phase == state::connected && s->partner >= 0) {
        // Unread data, or SO_LINGER {1, 0}, turns the close into an RST (tcp_close);
        // otherwise the peer gets a FIN after whatever is still on its way.
        if (s->queued > 0 || s->linger_zero)
            send_reset(*s);
        else
            send_fin(*s);
        if (socket_state* peer = find(s->partner)) peer->partner = -1;
    }
    sockets_.erase(fd);
    return 0;
}

long network::recv_now(int fd, void* buffer, std::size_t length, int flags) {
    socket_state* s = find(fd);
    if (s == nullptr) return fail(EBADF);
    if (s->phase != state::connected) return fail(ENOTCONN);
    const std::size_t ready = arrived_bytes(*s);
    if (ready == 0) {
        if (s->reset && *s->reset <= now_ && !s->error_reported) {
            if ((flags & MSG_PEEK) == 0) s->error_reported = true;
            return fail(ECONNRESET);
        }
        if (s->error_reported || (s->fin && *s->fin <= now_ && s->inbox.empty())) return 0;
        return fail(EAGAIN);
    }
    auto* out = static_cast<char*>(buffer);
    std::size_t n = std::min(length, ready);
    std::size_t copied = 0;
    for (auto& seg : s->inbox) {
        if (copied == n) break;
        const std::size_t take = std::min(n - copied, seg.bytes.size() - seg.taken);
        std::memcpy(out + copied, seg.bytes.data() + seg.taken, take);
        copied += take;
    }
    if ((flags & MSG_PEEK) == 0) {
        std::size_t left = n;
        while (left > 0) {
            segment& seg = s->inbox.front();
            const std::size_t take = std::min(left, seg.bytes.size() - seg.taken);
            seg.taken += take;
            left -= take;
            if (seg.taken == seg.bytes.size()) s->inbox.pop_front();
        }
        s->queued -= n;
    }
    return static_cast<long>(n);
}

// --- operations ---

network::socket_state* network::listener_for(const sockaddr_storage& address) {
    std::vector<socket_state*> candidates;
    for (auto& [fd, s] : sockets_) {
        if (s.phase != state::listening || s.family != address.ss_family ||
            port_of(s.local) != port_of(address))
            continue;
        if (same_host(s.local, address) || is_wildcard(s.local)) candidates.push_back(&s);
    }
    if (candidates.empty()) return nullptr;
    // SO_REUSEPORT spreads connections over the group by a hash the simulation draws.
    return candidates[random_.below(candidates.size())];
}

std::optional<int> network::connect(int fd, const sockaddr_storage& peer, socklen_t length) {
    socket_state* s = find(fd);
    if (s == nullptr) return -EBADF;
    if (length < size_of(peer) || peer.ss_family != s->family) return -EINVAL;
    if (s->phase == state::connected) {
        if (now_ < s->connected_at) return std::nullopt;
        return s->connect_result.value_or(0);
    }
    if (s->phase != state::fresh && s->phase != state::connecting) return -EISCONN;
    s->phase = state::connecting;
    socket_state* listener = listener_for(peer);
    if (listener == nullptr) {
        // Nothing listens: the peer's stack answers the SYN with an RST.
        ++counters_.refused;
        s->phase = state::fresh;
        return -ECONNREFUSED;
    }
    // A full accept queue drops the SYN; the client retransmits until there is room or its
    // own deadline gives up, which is what a black-holed server looks like.
    if (listener->backlog.size() >= listener->backlog_limit) return std::nullopt;
    if (!s->bound) {
        s->local = peer; // the same host, an ephemeral port
        assign_ephemeral(*s);
        s->bound = true;
    }
    const int server_fd = next_fd_++;
    socket_state& server = sockets_[server_fd]; // std::map: s and listener stay valid
    server.fd = server_fd;
    server.family = s->family;
    server.phase = state::connected;
    server.local = is_wildcard(listener->local) ? peer : listener->local;
    set_port(server.local, port_of(listener->local));
    server.peer = s->local;
    server.bound = true;
    server.partner = fd;
    s->phase = state::connected;
    s->peer = peer;
    s->partner = server_fd;
    s->connected_at = arrival(*s);
    s->connect_result = 0;
    listener->backlog.push_back(server_fd);
    ++counters_.connections;
    if (now_ < s->connected_at) return std::nullopt;
    return 0;
}

std::optional<int> network::accept(int listener) {
    socket_state* s = find(listener);
    if (s == nullptr) return -EBADF;
    if (s->phase != state::listening) return -EINVAL;
    if (s->backlog.empty()) return std::nullopt;
    if (faults_.accept_emfile > 0 && random_.chance(faults_.accept_emfile)) {
        ++counters_.emfile;
        return -EMFILE;
    }
    const int fd = s->backlog.front();
    s->backlog.pop_front();
    return fd;
}

std::size_t network::arrived_bytes(const socket_state& s) const {
    std::size_t n = 0;
    for (const auto& seg : s.inbox) {
        if (seg.arrives > now_) break;
        n += seg.bytes.size() - seg.taken;
    }
    return n;
}

bool network::readable(int fd) const {
    const socket_state* s = find(fd);
    if (s == nullptr || s->phase != state::connected) return true; // fails at once
    if (arrived_bytes(*s) > 0) return true;
    if (s->reset && *s->reset <= now_) return true;
    if (s->error_reported) return true;
    return s->fin && *s->fin <= now_ && s->inbox.empty();
}

std::optional<int> network::recv(int fd, std::span<std::byte> into) {
    if (into.empty()) return 0;
    if (!readable(fd)) return std::nullopt;
    std::size_t most = into.size();
    const socket_state* s = find(fd);
    if (s != nullptr && faults_.short_io > 0) {
        const std::size_t ready = std::min(most, arrived_bytes(*s));
        if (ready > 1 && random_.chance(faults_.short_io)) {
            most = 1 + random_.below(ready - 1);
            ++counters_.short_reads;
        }
    }
    const long n = recv_now(fd, into.data(), most, 0);
    if (n < 0) return -errno;
    counters_.bytes += static_cast<std::uint64_t>(n);
    return static_cast<int>(n);
}

std::optional<int> network::send(int fd, std::span<const iovec> parts) {
    socket_state* s = find(fd);
    if (s == nullptr) return -EBADF;
    if (s->phase != state::connected) return -ENOTCONN;
    if (s->reset && *s->reset <= now_) {
        if (!s->error_reported) {
            s->error_reported = true;
            return -ECONNRESET;
        }
        return -EPIPE;
    }
    if (s->write_shut || s->error_reported) return -EPIPE;
    std::size_t total = 0;
    for (const iovec& part : parts) total += part.iov_len;
    if (total == 0) return 0;
    socket_state* peer = find(s->partner);
    if (peer == nullptr) {
        // The peer closed: its stack takes these bytes and answers with an RST, which
        // makes a later send or receive here fail.
        if (!s->reset) {
            s->reset = arrival(*s);
            ++counters_.resets;
        }
        return static_cast<int>(std::min<std::size_t>(total, 1u << 30));
    }
    const std::size_t room =
        peer->queued >= faults_.socket_buffer ? 0 : faults_.socket_buffer - peer->queued;
    if (room == 0) return std::nullopt;
    std::size_t n = std::min(total, room);
    if (n < total) ++counters_.short_writes;
    if (n > 1 && random_.chance(faults_.short_io)) {
        n = 1 + random_.below(n - 1);
        ++counters_.short_writes;
    }
    segment seg{.bytes = {}, .taken = 0, .arrives = arrival(*peer)};
    seg.bytes.reserve(n);
    std::size_t left = n;
    for (const iovec& part : parts) {
        if (left == 0) break;
        const std::size_t take = std::min(left, part.iov_len);
        seg.bytes.append(static_cast<const char*>(part.iov_base), take);
        left -= take;
    }
    peer->inbox.push_back(std::move(seg));
    peer->queued += n;
    return static_cast<int>(n);
}

int network::shutdown(int fd, int how) {
    socket_state* s = find(fd);
    if (s == nullptr) return -EBADF;
    if (s->phase != state::connected) return -ENOTCONN;
    if (how == SHUT_WR || how == SHUT_RDWR) send_fin(*s);
    return 0;
}

std::optional<clock::time_point> network::next_arrival() const {
    std::optional<clock::time_point> next;
    auto consider = [&](clock::time_point t) {
        if (t > now_ && (!next || t < *next)) next = t;
    };
    for (const auto& [fd, s] : sockets_) {
        if (s.phase == state::connected) consider(s.connected_at);
        for (const auto& seg : s.inbox) {
            if (seg.arrives > now_) {
                consider(seg.arrives);
                break;
            }
        }
        if (s.fin) consider(*s.fin);
        if (s.reset) consider(*s.reset);
    }
    return next;
}

std::string network::report() const {
    std::string out;
    for (const auto& [fd, s] : sockets_) {
        const char* phase = s.phase == state::listening    ? "listening"
                            : s.phase == state::connected  ? "connected"
                            : s.phase == state::connecting ? "connecting"
                                                           : "fresh";
        out += fmt::format("  socket {} {} local {} peer {}{}\n", fd, phase, describe(s.local),
                           describe(s.peer), s.queued > 0 ? " (unread bytes)" : "");
    }
    return out;
}

} // namespace snow::io::sim
