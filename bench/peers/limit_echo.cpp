// limit_echo: the ceiling snow's echo server is measured against. A single-threaded TCP echo
// server on raw liburing, no framework: per connection one plain recv of up to 16 KiB into a
// fixed buffer, then send back exactly those bytes (resending the rest after a short send),
// then the next recv. Same loop and setup as limit_http (limit_ring.hpp).
// Kernel: 6.1 recommended (SINGLE_ISSUER + DEFER_TASKRUN), 5.19 minimum (multishot accept).
// Run:  build/bench/peers/limit_echo [--port N] [--sqpoll] [--fixed-files] [--fixed-buffers]
//       (prints `listening on 127.0.0.1:PORT`; the flags are the experiments of limit_ring.hpp)
// Poke: nc 127.0.0.1 PORT      (type a line: it comes back)
#include <array>
#include <cstddef>
#include <memory>

#include "limit_ring.hpp"

namespace {

constexpr std::size_t buffer_size = 16 * 1024;

// With --fixed-buffers the connection on fd i echoes through the i-th slice of one registered
// arena, so its sends can be WRITE_FIXED; an fd past the arena uses its own buffer (and a
// plain send). 1024 slices (16 MiB) cover the 512-connection runs.
constexpr std::size_t arena_slices = 1024;

struct connection {
    std::size_t received = 0; // bytes the last recv delivered
    std::size_t sent = 0;     // how many of them have been sent back
    char* data = nullptr;     // own_buffer, or the connection's slice of the arena
    std::array<char, buffer_size> own_buffer;

    void reset() noexcept { received = sent = 0; }
};

class echo_limit {
public:
    void on_start(io_uring& ring) {
        if (!limit::mode.fixed_buffers) return;
        arena_ = std::make_unique<char[]>(arena_slices * buffer_size);
        limit::register_send_region(ring, arena_.get(), arena_slices * buffer_size);
    }

    void on_open(io_uring& ring, int fd) {
        connection& conn = connections_.open(fd);
        const auto slice = static_cast<std::size_t>(fd);
        conn.data = arena_ && slice < arena_slices ? arena_.get() + slice * buffer_size
                                                   : conn.own_buffer.data();
        limit::prep_recv(ring, fd, conn.data, buffer_size);
    }

    void on_recv(io_uring& ring, int fd, int res) {
        if (res <= 0) return limit::close_connection(ring, fd);
        connection& conn = connections_[fd];
        conn.received = static_cast<std::size_t>(res);
        conn.sent = 0;
        limit::prep_send(ring, fd, conn.data, conn.received);
    }

    void on_send(io_uring& ring, int fd, int res) {
        if (res < 0) return limit::close_connection(ring, fd);
        connection& conn = connections_[fd];
        conn.sent += static_cast<std::size_t>(res);
        if (conn.sent < conn.received) {
            limit::prep_send(ring, fd, conn.data + conn.sent, conn.received - conn.sent);
            return;
        }
        limit::prep_recv(ring, fd, conn.data, buffer_size);
    }

private:
    limit::connection_table<connection> connections_;
    std::unique_ptr<char[]> arena_;
};

} // namespace

int main(int argc, char** argv) {
    echo_limit server;
    return limit::serve(argc, argv, server);
}
