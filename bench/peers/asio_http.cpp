// asio_http: the Boost.Asio peer of snow's HTTP server, written the way a C++ user would with
// Asio's C++20 coroutines: single-threaded io_context, one coroutine per connection,
// read_some into a buffer, count the complete request heads, answer each with the same
// precomputed 200 "Hello, World!" (k pipelined heads → k responses in one async_write),
// keep-alive. No parsing or routing, like limit_http. Asio's default Linux backend (epoll).
// Run:  build/bench/peers/asio_http [--port N]      (prints `listening on 127.0.0.1:PORT`)
// Poke: curl http://127.0.0.1:PORT/plaintext;  wrk -t1 -c64 -d5s http://127.0.0.1:PORT/plaintext
#include <algorithm>
#include <array>
#include <csignal>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include <boost/asio.hpp>

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr std::string_view response = "HTTP/1.1 200 OK\r\n"
                                      "Server: asio\r\n"
                                      "Content-Type: text/plain\r\n"
                                      "Content-Length: 13\r\n"
                                      "Date: Thu, 01 Jan 2026 00:00:00 GMT\r\n"
                                      "\r\n"
                                      "Hello, World!";

constexpr std::size_t max_batch = 64;

std::string repeat_response() {
    std::string copies;
    for (std::size_t i = 0; i < max_batch; ++i) copies += response;
    return copies;
}

const std::string responses = repeat_response();

// as_tuple: errors come back as values; end of stream and resets are normal here.
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

asio::awaitable<void> session(tcp::socket socket) {
    std::array<char, 8192> buffer;
    std::size_t filled = 0; // bytes of an incomplete head kept for the next read
    for (;;) {
        auto [read_error, n] = co_await socket.async_read_some(
            asio::buffer(buffer.data() + filled, buffer.size() - filled), use_tuple);
        if (read_error) co_return;

        std::string_view data(buffer.data(), filled + n);
        std::size_t from = filled >= 3 ? filled - 3 : 0; // a split "\r\n\r\n" may start there
        std::size_t consumed = 0;
        std::size_t heads = 0;
        for (std::size_t end; (end = data.find("\r\n\r\n", from)) != std::string_view::npos;) {
            ++heads;
            consumed = from = end + 4;
        }
        filled = data.size() - consumed;
        if (filled == buffer.size()) co_return; // a head larger than the buffer
        std::memmove(buffer.data(), buffer.data() + consumed, filled);

        while (heads > 0) {
            std::size_t batch = std::min(heads, max_batch);
            auto [write_error, written] = co_await asio::async_write(
                socket, asio::buffer(responses.data(), batch * response.size()), use_tuple);
            if (write_error) co_return;
            heads -= batch;
        }
    }
}

asio::awaitable<void> listen(tcp::acceptor acceptor) {
    for (;;) {
        auto [error, socket] = co_await acceptor.async_accept(use_tuple);
        if (error == asio::error::operation_aborted) co_return;
        if (error) continue; // EMFILE and the like: the next accept may succeed
        socket.set_option(tcp::no_delay(true), error);
        asio::co_spawn(acceptor.get_executor(), session(std::move(socket)), asio::detached);
    }
}

unsigned short parse_port(int argc, char** argv) {
    if (argc == 1) return 0; // the kernel picks; the chosen port is printed
    if (argc == 3 && std::string_view(argv[1]) == "--port") {
        char* end = nullptr;
        long port = std::strtol(argv[2], &end, 10);
        if (*end == '\0' && port >= 0 && port <= 65535) return static_cast<unsigned short>(port);
    }
    std::fprintf(stderr, "usage: %s [--port N]\n", argv[0]);
    std::exit(2);
}

} // namespace

int main(int argc, char** argv) {
    unsigned short port = parse_port(argc, argv);
    asio::io_context io(1); // concurrency hint: one thread runs it

    tcp::acceptor acceptor(io, {asio::ip::address_v4::loopback(), port});
    std::printf("listening on 127.0.0.1:%u\n",
                static_cast<unsigned>(acceptor.local_endpoint().port()));
    std::fflush(stdout);

    asio::signal_set stop_signals(io, SIGINT, SIGTERM);
    stop_signals.async_wait([&io](auto, auto) { io.stop(); });

    asio::co_spawn(io, listen(std::move(acceptor)), asio::detached);
    io.run();
    return 0;
}
