// limit_http: the ceiling snow's HTTP server is measured against. A minimal single-threaded
// keep-alive HTTP/1.1 server on raw liburing, no framework: it counts complete request heads
// and answers each with the same precomputed 200 "Hello, World!" (no parsing, no routing,
// request bodies are not supported). Per connection one plain recv into a fixed buffer;
// the k heads one recv completes get k responses in ONE send, then the next recv.
// Kernel: 6.1 recommended (SINGLE_ISSUER + DEFER_TASKRUN), 5.19 minimum (multishot accept).
// Run:  build/bench/peers/limit_http [--port N] [--sqpoll] [--fixed-files] [--fixed-buffers]
//       (prints `listening on 127.0.0.1:PORT`; the flags are the experiments of limit_ring.hpp)
// Poke: curl http://127.0.0.1:PORT/plaintext;  wrk -t1 -c64 -d5s http://127.0.0.1:PORT/plaintext
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

#include "limit_ring.hpp"

namespace {

constexpr std::string_view response = "HTTP/1.1 200 OK\r\n"
                                      "Server: limit\r\n"
                                      "Content-Type: text/plain\r\n"
                                      "Content-Length: 13\r\n"
                                      "Date: Thu, 01 Jan 2026 00:00:00 GMT\r\n"
                                      "\r\n"
                                      "Hello, World!";

// The response repeated, so a pipelined batch of up to this many requests leaves in one send.
constexpr std::size_t max_batch = 64;

std::string repeat_response() {
    std::string copies;
    copies.reserve(response.size() * max_batch);
    for (std::size_t i = 0; i < max_batch; ++i) copies += response;
    return copies;
}

const std::string responses = repeat_response();

struct connection {
    std::size_t filled = 0;        // bytes of an incomplete head carried over to the next recv
    std::size_t unsent = 0;        // response bytes still owed to the peer
    std::size_t send_offset = 0;   // where the owed bytes start within one `response`
    std::array<char, 8192> buffer; // a head that does not fit closes the connection

    void reset() noexcept { filled = unsent = send_offset = 0; }
};

class http_limit {
public:
    // Every response leaves from `responses`: with --fixed-buffers, the registered buffer.
    void on_start(io_uring& ring) {
        limit::register_send_region(ring, responses.data(), responses.size());
    }

    void on_open(io_uring& ring, int fd) {
        connection& conn = connections_.open(fd);
        limit::prep_recv(ring, fd, conn.buffer.data(), conn.buffer.size());
    }

    void on_recv(io_uring& ring, int fd, int res) {
        if (res <= 0) return limit::close_connection(ring, fd);
        connection& conn = connections_[fd];
        std::string_view data(conn.buffer.data(), conn.filled + static_cast<std::size_t>(res));

        // The carried-over bytes hold no terminator (else they would have been consumed), so
        // the search resumes 3 bytes before the new data, where a split "\r\n\r\n" can start.
        std::size_t from = conn.filled >= 3 ? conn.filled - 3 : 0;
        std::size_t consumed = 0;
        std::size_t heads = 0;
        for (std::size_t end; (end = data.find("\r\n\r\n", from)) != std::string_view::npos;) {
            ++heads;
            consumed = from = end + 4;
        }

        conn.filled = data.size() - consumed;
        if (conn.filled == conn.buffer.size()) return limit::close_connection(ring, fd);
        if (consumed > 0)
            std::memmove(conn.buffer.data(), conn.buffer.data() + consumed, conn.filled);

        if (heads == 0) {
            limit::prep_recv(ring, fd, conn.buffer.data() + conn.filled,
                             conn.buffer.size() - conn.filled);
            return;
        }
        conn.unsent = heads * response.size();
        conn.send_offset = 0;
        send_owed(ring, fd, conn);
    }

    void on_send(io_uring& ring, int fd, int res) {
        if (res < 0) return limit::close_connection(ring, fd);
        connection& conn = connections_[fd];
        auto sent = static_cast<std::size_t>(res);
        conn.unsent -= sent;
        conn.send_offset = (conn.send_offset + sent) % response.size();
        if (conn.unsent > 0) return send_owed(ring, fd, conn);
        limit::prep_recv(ring, fd, conn.buffer.data() + conn.filled,
                         conn.buffer.size() - conn.filled);
    }

private:
    // The owed bytes are back-to-back responses, the first of them cut `send_offset` bytes in
    // by a short send, so they can always leave straight from `responses` at that offset.
    // More than max_batch responses, or a short send, take several sends in sequence.
    static void send_owed(io_uring& ring, int fd, const connection& conn) {
        std::size_t length = std::min(conn.unsent, responses.size() - conn.send_offset);
        limit::prep_send(ring, fd, responses.data() + conn.send_offset, length);
    }

    limit::connection_table<connection> connections_;
};

} // namespace

int main(int argc, char** argv) {
    http_limit server;
    return limit::serve(argc, argv, server);
}
