// snow/io/sim/network.hpp: the simulated kernel's in-memory TCP. Sockets, listeners and
// connections live here, bytes are really copied from the sender's buffer into the
// receiver's, and every delivery takes a little virtual time. The kernel (kernel.cpp) owns
// one and asks it, for each blocked operation, whether it can complete now; this class
// decides only what the real TCP stack could answer, never the order or timing of
// completions, which stay the kernel's.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "snow/core/export.hpp"
#include "snow/io/clock.hpp"
#include "snow/io/sim/random.hpp"

namespace snow::io::sim {

/// The odds and sizes of the simulated network, drawn from the seed unless a test sets them.
struct SNOW_API network_faults {
    double short_io = 0.2;                   ///< a send or receive moves fewer bytes than it could
    std::size_t socket_buffer = 65536;       ///< bytes a receiver holds before senders block
    std::chrono::nanoseconds latency{50000}; ///< the most one delivery takes
    double accept_ends = 0.02;               ///< a multishot accept ends after a connection
    double accept_emfile = 0.0; ///< an accept fails with EMFILE (the process is out of fds)

    /// Odds drawn from `r`.
    static network_faults draw(random& r) noexcept;
};

/// The in-memory TCP/IP of one simulated kernel. Descriptors it hands out are numbered from
/// first_descriptor up, far above any real one, so a socket call that bypassed the seam
/// fails with EBADF instead of touching a real file.
class SNOW_API network {
public:
    /// The lowest descriptor number the network hands out.
    static constexpr int first_descriptor = 1 << 20;

    /// A network whose chance is drawn from `seed`, reading virtual time from `now`.
    network(std::uint64_t seed, const clock::time_point& now, std::optional<network_faults> odds);

    /// Whether `fd` is one of this network's descriptors.
    static bool is_simulated(int fd) noexcept { return fd >= first_descriptor; }

    // The system calls io::sys forwards here, with libc's contract (-1 and errno).
    ///@{
    /// As the libc call of the same name, on this network's sockets.
    int socket(int family, int type, int protocol);
    int bind(int fd, const sockaddr* address, socklen_t length);
    int listen(int fd, int backlog);
    int setsockopt(int fd, int level, int name, const void* value, socklen_t length);
    int getsockopt(int fd, int level, int name, void* value, socklen_t* length);
    int getsockname(int fd, sockaddr* address, socklen_t* length);
    int getpeername(int fd, sockaddr* address, socklen_t* length);
    int close(int fd);
    ///@}
    /// recv(2) with MSG_DONTWAIT (and optionally MSG_PEEK): never blocks.
    long recv_now(int fd, void* buffer, std::size_t length, int flags);

    // --- operations: each returns the result when it can complete now, none if blocked ---

    /// Starts a connect (the first call) and reports its result once the handshake is done.
    std::optional<int> connect(int fd, const sockaddr_storage& peer, socklen_t length);
    /// The next connection from `listener`'s queue, as a new descriptor.
    std::optional<int> accept(int listener);
    /// Copies what arrived into `into` (at most `most` bytes; short reads drawn). 0 at EOF.
    std::optional<int> recv(int fd, std::span<std::byte> into);
    /// Copies from `parts` into the peer's receive queue, as much as fits (short writes drawn).
    std::optional<int> send(int fd, std::span<const iovec> parts);
    /// shutdown(2): SHUT_WR sends a FIN after what is queued.
    int shutdown(int fd, int how);
    /// Whether `fd`'s receive could complete now, without taking anything.
    bool readable(int fd) const;

    /// The next virtual instant something in flight arrives, if anything is in flight.
    std::optional<clock::time_point> next_arrival() const;
    /// Descriptors still open: zero at the end of a run that closed everything it opened.
    std::size_t open_sockets() const noexcept { return sockets_.size(); }
    /// One line per open descriptor, for a report of what a run left behind.
    std::string report() const;
    /// Bytes that arrived at `fd` and wait to be received.
    std::size_t pending_bytes(int fd) const;
    /// The faults in force, for a test to read.
    const network_faults& faults() const noexcept { return faults_; }

    /// Counters the scenarios print as coverage marks.
    struct counters {
        std::uint64_t connections = 0;  ///< handshakes completed
        std::uint64_t refused = 0;      ///< connects answered ECONNREFUSED
        std::uint64_t resets = 0;       ///< RSTs sent
        std::uint64_t short_reads = 0;  ///< receives cut short by chance
        std::uint64_t short_writes = 0; ///< sends cut short by chance or by a full buffer
        std::uint64_t bytes = 0;        ///< bytes delivered
        std::uint64_t emfile = 0;       ///< accepts failed for want of a descriptor
    };
    /// What the network has done so far.
    const counters& stats() const noexcept { return counters_; }

private:
    struct segment {
        std::string bytes;
        std::size_t taken = 0;
        clock::time_point arrives;
    };
    enum class state : std::uint8_t { fresh, listening, connecting, connected };
    struct socket_state {
        int fd = -1;
        int family = AF_INET;
        state phase = state::fresh;
        sockaddr_storage local{};
        sockaddr_storage peer{};
        bool bound = false;
        bool reuse_port = false;
        bool linger_zero = false;               ///< SO_LINGER {1, 0}: close sends an RST
        int partner = -1;                       ///< the other end's descriptor, while it is open
        std::deque<segment> inbox;              ///< bytes on their way to this socket, in order
        std::size_t queued = 0;                 ///< bytes in inbox not yet taken
        std::optional<clock::time_point> fin;   ///< the peer's FIN arrives then
        std::optional<clock::time_point> reset; ///< the peer's RST arrives then
        bool error_reported = false;            ///< ECONNRESET was returned once
        bool write_shut = false;                ///< this side sent its FIN
        std::optional<int> connect_result;      ///< a connect's outcome, once decided
        clock::time_point connected_at{};       ///< the handshake completes then
        std::deque<int> backlog;                ///< for a listener: accepted connections
        std::size_t backlog_limit = 0;
    };

    socket_state* find(int fd);
    const socket_state* find(int fd) const;
    int fail(int error) const;
    clock::time_point arrival(const socket_state& to);
    socket_state* listener_for(const sockaddr_storage& address);
    void assign_ephemeral(socket_state& s);
    void send_reset(socket_state& from);
    void send_fin(socket_state& from);
    std::size_t arrived_bytes(const socket_state& s) const;

    random random_;
    network_faults faults_;
    const clock::time_point& now_;
    int next_fd_ = first_descriptor;
    std::uint16_t next_port_ = 40000;
    std::map<int, socket_state> sockets_;
    counters counters_;
};

} // namespace snow::io::sim
