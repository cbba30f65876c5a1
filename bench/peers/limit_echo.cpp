// limit_echo: the ceiling snow's echo server is measured against. A single-threaded TCP echo
// server on raw liburing, no framework: per connection one plain recv of up to 16 KiB into a
// fixed buffer, then send back exactly those bytes (resending the rest after a short send),
// then the next recv. Same loop and setup as limit_http (limit_ring.hpp).
// Kernel: 6.1 recommended (SINGLE_ISSUER + DEFER_TASKRUN), 5.19 minimum (multishot accept).
// Run:  build/bench/peers/limit_echo [--port N]     (prints `listening on 127.0.0.1:PORT`)
// Poke: nc 127.0.0.1 PORT      (type a line: it comes back)
#include <array>
#include <cstddef>

#include "limit_ring.hpp"

namespace {

struct connection {
    std::size_t received = 0; // bytes the last recv delivered
    std::size_t sent = 0;     // how many of them have been sent back
    std::array<char, 16 * 1024> buffer;

    void reset() noexcept { received = sent = 0; }
};

class echo_limit {
public:
    void on_open(io_uring& ring, int fd) {
        connection& conn = connections_.open(fd);
        limit::prep_recv(ring, fd, conn.buffer.data(), conn.buffer.size());
    }

    void on_recv(io_uring& ring, int fd, int res) {
        if (res <= 0) return limit::close_connection(fd);
        connection& conn = connections_[fd];
        conn.received = static_cast<std::size_t>(res);
        conn.sent = 0;
        limit::prep_send(ring, fd, conn.buffer.data(), conn.received);
    }

    void on_send(io_uring& ring, int fd, int res) {
        if (res < 0) return limit::close_connection(fd);
        connection& conn = connections_[fd];
        conn.sent += static_cast<std::size_t>(res);
        if (conn.sent < conn.received) {
            limit::prep_send(ring, fd, conn.buffer.data() + conn.sent, conn.received - conn.sent);
            return;
        }
        limit::prep_recv(ring, fd, conn.buffer.data(), conn.buffer.size());
    }

private:
    limit::connection_table<connection> connections_;
};

} // namespace

int main(int argc, char** argv) {
    echo_limit server;
    return limit::serve(argc, argv, server);
}
