// tests/fuzz/connection_fuzz.cpp: libFuzzer target for a whole server connection: snow's
// http::server on the simulated kernel (snow/io/sim), fed by one client whose bytes, chunking
// and faults come from the input. Build and run (clang only):
//
//   CXX=clang++ meson setup build-fuzz -Dfuzz=enabled -Dtests=disabled -Dexamples=disabled \
//       -Dbench=disabled -Db_sanitize=address,undefined -Dbuildtype=debugoptimized
//   ninja -C build-fuzz tests/fuzz/connection_fuzz
//   mkdir -p build-fuzz/connection-corpus
//   ./build-fuzz/tests/fuzz/connection_fuzz -max_total_time=60 build-fuzz/connection-corpus \
//       tests/fuzz/connection_cases
//
// An input is three header bytes, then split bytes, then the request bytes:
//   byte 0  fault bits (see `fault` below): the kernel's and the network's odds, the client's
//           way of leaving, a server stopped midway;
//   byte 1  low four bits: how many split bytes follow; high four: a virtual pause of that
//           many 20 ms steps before each chunk (enough to run into the server's deadlines);
//   byte 2  the kernel's seed, and the instant (in ms) a midway stop comes;
// each split byte is the length of the next chunk the client sends; the rest goes last.
//
// Checked for every input: the run ends (a hang aborts); after teardown nothing is in flight
// in the kernel, no simulated socket is open, no provided buffer is kept and no timer queued;
// the server closed the connection before the client's virtual deadline; what the client
// received is a sequence of complete HTTP/1.1 responses with valid statuses, no more final
// ones than the requests it sent plus one rejection; and, unless the server was stopped, cut
// the connection off for a deadline or rejected a request, or the client half-closed, there
// is one for every request. ASan and UBSan catch the rest. SNOW_FUZZ_VERBOSE=1 prints what the
// client received.
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "snow/core/task.hpp"
#include "snow/core/task_group.hpp"
#include "snow/core/when_all.hpp"
#include "snow/http/parser.hpp"
#include "snow/http/server/server.hpp"
#include "snow/io/event_loop.hpp"
#include "snow/io/sim/kernel.hpp"
#include "snow/io/syscalls.hpp"
#include "snow/net/tcp_listener.hpp"
#include "snow/net/tcp_stream.hpp"
#include "snow/time/sleep.hpp"
#include "snow/time/timeout.hpp"

namespace {

using namespace snow;
using namespace std::chrono_literals;

[[noreturn]] void fail(const char* what, std::string_view detail = {}) {
    std::fprintf(stderr, "connection_fuzz: invariant broken: %s\n%.*s\n", what,
                 static_cast<int>(detail.size()), detail.data());
    std::abort();
}

void require(bool ok, const char* what) {
    if (!ok) fail(what);
}

/// The bits of the first input byte.
namespace fault {
constexpr std::uint8_t short_io = 0x01;   ///< sends and receives move part of what they could
constexpr std::uint8_t reorder = 0x02;    ///< completions held back past enters
constexpr std::uint8_t interrupt = 0x04;  ///< waits that end early, as -EINTR
constexpr std::uint8_t tiny_rings = 0x08; ///< a 4-entry SQ, a CQ as small, 2 receive buffers
constexpr std::uint8_t half_close = 0x10; ///< the client sends FIN after its last chunk
/// The client leaves after its last chunk without reading: with an RST, or with a plain
/// close when half_close is set too.
constexpr std::uint8_t leave = 0x20;
constexpr std::uint8_t stop_early = 0x40; ///< the server is stopped while the client is busy
/// Small socket buffers, multishot accepts that end, and accepts short of descriptors.
constexpr std::uint8_t squeeze = 0x80;
} // namespace fault

constexpr std::size_t header_bytes = 3;
/// The client gives up reading then. Every server deadline is far shorter, so reaching it
/// means the server held on to a connection it should have closed.
constexpr auto client_deadline = 60s;

/// What one input asks for.
struct plan {
    std::uint8_t faults = 0;
    std::uint8_t seed = 0;
    clock::duration pause{};
    std::string_view request;             ///< every byte the client sends
    std::vector<std::string_view> chunks; ///< the same, cut where the split bytes say

    bool has(std::uint8_t bit) const noexcept { return (faults & bit) != 0; }
};

plan decode(const std::uint8_t* data, std::size_t size) {
    std::uint8_t header[header_bytes] = {};
    for (std::size_t i = 0; i < header_bytes && i < size; ++i) header[i] = data[i];
    plan p;
    p.faults = header[0];
    p.pause = (header[1] >> 4) * 20ms;
    p.seed = header[2];
    std::size_t at = size < header_bytes ? size : header_bytes;
    std::vector<std::size_t> lengths;
    for (std::size_t i = 0; i < (header[1] & 0x0fu) && at < size; ++i)
        lengths.push_back(data[at++]);
    p.request = std::string_view(reinterpret_cast<const char*>(data) + at, size - at);
    std::size_t from = 0;
    for (const std::size_t length : lengths) {
        const std::size_t n = std::min(length, p.request.size() - from);
        p.chunks.push_back(p.request.substr(from, n));
        from += n;
    }
    p.chunks.push_back(p.request.substr(from));
    return p;
}

/// Small limits, so that every rejection (414, 431, 413) is within reach of a short input.
constexpr http::parser_limits limits{
    .max_target_bytes = 256, .max_header_bytes = 2048, .max_headers = 16, .max_body_bytes = 4096};

http::server_options server_settings() {
    http::server_options options;
    options.limits = limits;
    options.header_timeout = 1s;
    options.body_timeout = 1s;
    options.write_timeout = 1s;
    options.idle_timeout = 2s;
    options.shutdown_timeout = 200ms;
    options.handle_signals = false;
    options.log_level = snow::log::level::error; // no "accept paused" warnings
    return options;
}

/// A plain answer, one from the body, and one that waits a little virtual time.
http::router routes() {
    http::router r;
    r.get("/", [](const http::request&) { return http::text("hello"); });
    r.post("/echo", [](const http::request& req) { return http::text(std::string(req.body())); });
    r.get("/nap", [](const http::request&) -> task<http::response> {
        (void)co_await sleep(5ms);
        co_return http::text("rested");
    });
    return r;
}

io::sim::kernel_options kernel_settings(const plan& p) {
    io::sim::faults odds;
    odds.defer = p.has(fault::reorder) ? 0.5 : 0.0;
    odds.interrupt = p.has(fault::interrupt) ? 0.2 : 0.0;
    io::sim::network_faults network;
    network.short_io = p.has(fault::short_io) ? 0.5 : 0.0;
    network.latency = 50us;
    network.socket_buffer = p.has(fault::squeeze) ? 1024 : 65536;
    network.accept_ends = p.has(fault::squeeze) ? 0.5 : 0.0;
    network.accept_emfile = p.has(fault::squeeze) ? 0.3 : 0.0;
    return {.seed = p.seed, .odds = odds, .network_odds = network, .real_wait_limit = 500ms};
}

io::loop_options loop_settings(const plan& p, io::sim::kernel& kernel) {
    io::loop_options options;
    // Small by default too: every input builds its rings and buffers afresh.
    options.ring.entries = p.has(fault::tiny_rings) ? 4 : 64;
    options.ring.cq_factor = p.has(fault::tiny_rings) ? 1 : 2;
    options.receive_buffers.count = p.has(fault::tiny_rings) ? 2 : 16;
    options.receive_buffers.size = p.has(fault::tiny_rings) ? 256 : 2048;
    options.ring.simulation = &kernel;
    return options;
}

/// What the client saw.
struct seen {
    std::string received;
    bool connected = false;
    bool closed_cleanly = false; ///< a receive returned 0
    std::error_code failure;     ///< or the error that ended its reading
    /// The server's count of connections it cut off for a deadline (a client silent for
    /// too long is closed unanswered) and of requests it rejected.
    std::uint64_t server_timeouts = 0;
    std::uint64_t server_rejections = 0;
};

task<void> write_chunks(net::tcp_stream& s, const plan& p) {
    for (const std::string_view chunk : p.chunks) {
        if (p.pause > clock::duration::zero()) {
            const bool slept = co_await sleep(p.pause);
            if (!slept) co_return;
        }
        if (chunk.empty()) continue;
        auto sent = co_await s.send_all(chunk);
        if (!sent) co_return;
    }
    if (p.has(fault::half_close)) (void)co_await s.shutdown();
}

task<void> read_all(net::tcp_stream& s, seen& out) {
    std::byte buffer[1024];
    for (;;) {
        auto n = co_await s.recv(buffer);
        if (!n) {
            out.failure = n.error();
            co_return;
        }
        if (*n == 0) {
            out.closed_cleanly = true;
            co_return;
        }
        out.received.append(reinterpret_cast<const char*>(buffer), *n);
    }
}

task<void> run_client(net::address server, const plan& p, seen& out) {
    auto connected = co_await net::tcp_stream::connect(server);
    if (!connected) co_return; // a server stopped early refuses it
    out.connected = true;
    net::tcp_stream s = std::move(*connected);
    if (p.has(fault::leave)) {
        co_await with_timeout(write_chunks(s, p), client_deadline);
        if (!p.has(fault::half_close)) {
            const linger hard{.l_onoff = 1, .l_linger = 0};
            (void)io::sys::setsockopt(s.native_handle(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
        }
        co_return; // closed by the destructor, unread
    }
    (void)co_await with_timeout(when_all(write_chunks(s, p), read_all(s, out)), client_deadline);
}

task<void> stop_later(http::server& srv, clock::duration after) {
    (void)co_await sleep(after);
    srv.stop();
}

task<void> session(const plan& p, seen& out) {
    http::server srv(routes());
    auto listener = net::tcp_listener::bind("127.0.0.1:0");
    require(static_cast<bool>(listener), "a simulated listener binds");
    const net::address at = listener->local_address();
    task_group server_side;
    server_side.spawn(srv.serve(std::move(*listener), server_settings()));
    {
        task_group client_side;
        client_side.spawn(run_client(at, p, out));
        if (p.has(fault::stop_early)) client_side.spawn(stop_later(srv, p.seed * 1ms));
        co_await client_side.join();
    }
    srv.stop();
    co_await server_side.join();
    out.server_timeouts = srv.stats().timeouts.load();
    out.server_rejections = srv.stats().rejected.load();
}

// ---------------------------------------------------------------------------------------
// what came back

/// The methods of the complete requests at the front of `bytes` the server answers, as its
/// parser reads them (a response to HEAD has no body, whatever its Content-Length says): up
/// to the first that does not keep the connection alive.
std::vector<http::method> request_methods(std::string_view bytes) {
    std::vector<http::method> methods;
    http::request_parser parser(limits);
    http::request_head head;
    while (!bytes.empty()) {
        const auto r = parser.parse(bytes, head);
        if (!r.complete()) break;
        methods.push_back(head.method);
        if (!head.keep_alive) break;
        bytes.remove_prefix(r.consumed());
        if (head.body.kind == http::body_kind::content_length) {
            if (bytes.size() < head.body.content_length) break;
            bytes.remove_prefix(head.body.content_length);
        } else if (head.body.kind == http::body_kind::chunked) {
            http::chunked_decoder decoder(limits);
            bool done = false;
            while (!bytes.empty()) {
                const auto d = decoder.decode(bytes);
                bytes.remove_prefix(d.consumed());
                if (!d.incomplete()) {
                    done = d.complete();
                    break;
                }
            }
            if (!done) break;
        }
    }
    return methods;
}

void check_responses(const plan& p, const seen& out) {
    if (!out.connected || p.has(fault::leave)) return;
    require(out.failure != std::errc::operation_canceled && out.failure != std::errc::timed_out,
            "the server held the connection past every deadline");
    const std::vector<http::method> methods = request_methods(p.request);
    std::string_view rest = out.received;
    http::response_parser parser;
    http::response_head head;
    std::size_t finals = 0;
    while (!rest.empty()) {
        const http::method asked = finals < methods.size() ? methods[finals] : http::method::get;
        const auto r = parser.parse(rest, head, asked);
        if (r.failed()) fail("a response that does not parse", out.received);
        if (!r.complete()) fail("a response head cut short", out.received);
        require(head.status >= 100 && head.status <= 599, "a status in 100..599");
        rest.remove_prefix(r.consumed());
        if (head.interim()) {
            require(head.status == 100, "the only interim response is 100 Continue");
            continue;
        }
        ++finals;
        require(finals <= methods.size() + 1, "more responses than requests and a rejection");
        switch (head.body.kind) {
        case http::body_kind::none:
            break;
        case http::body_kind::content_length:
            if (rest.size() < head.body.content_length)
                fail("a response body cut short", out.received);
            rest.remove_prefix(head.body.content_length);
            break;
        case http::body_kind::chunked: {
            http::chunked_decoder decoder;
            bool done = false;
            while (!rest.empty() && !done) {
                const auto d = decoder.decode(rest);
                require(!d.failed(), "a chunked response body that does not decode");
                rest.remove_prefix(d.consumed());
                done = d.complete();
            }
            require(done, "a chunked response body cut short");
            break;
        }
        case http::body_kind::until_close:
            rest = {};
            break;
        }
    }
    // Left alone (no stop, no FIN, which the server takes for a client that left while a
    // handler waits) and neither cut off nor rejected, every request is answered.
    const bool cut_off = out.server_timeouts > 0 || out.server_rejections > 0;
    if (!cut_off && !p.has(fault::stop_early) && !p.has(fault::half_close))
        require(finals == methods.size(), "a request the server never answered");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const plan p = decode(data, size);
    io::sim::kernel kernel(kernel_settings(p));
    seen out;
    {
        auto loop = io::event_loop::create(loop_settings(p, kernel));
        require(static_cast<bool>(loop), "a loop over the simulated kernel");
        io::event_loop& running = **loop;
        kernel.on_hang([](const std::string& what) {
            std::fprintf(stderr, "connection_fuzz: the run hung: %s\n", what.c_str());
            std::abort();
        });
        running.run(session(p, out));
        require(running.timers().empty(), "timers left queued at the end");
    }
    kernel.on_hang(nullptr);
    if (kernel.in_flight() != 0) fail("left in flight at teardown", kernel.in_flight_report());
    if (kernel.network().open_sockets() != 0)
        fail("sockets left open at teardown", kernel.network().report());
    require(kernel.stats().buffers_kept == 0, "provided buffers never given back");
    // Replaying one input by hand: SNOW_FUZZ_VERBOSE=1 shows what the client got.
    static const bool verbose = std::getenv("SNOW_FUZZ_VERBOSE") != nullptr;
    if (verbose)
        std::fprintf(stderr, "faults %02x, %zu chunks, %s; received:\n%s\n", p.faults,
                     p.chunks.size(),
                     out.closed_cleanly ? "closed cleanly" : out.failure.message().c_str(),
                     out.received.c_str());
    check_responses(p, out);
    return 0;
}
