// snow_demo: the original Snow framework's demo app on snow's HTTP server.
//   GET /index/ → OK, /home/ → home, /plaintext → Hello, World!, /bytes/N → N bytes of x
//   The original's routes are regexes matched at the start of the path (re.match), so
//   /index/anything answers like /index/; /plaintext and POST /echo match exactly.
//   GET /async/ → "async" after 5 s on a timer, while everything else is served at once
//   GET /req/ parks until a GET /stop/ resolves the oldest parked request with "done"
//   POST /echo → the request body
//   GET /events/ → Server-Sent Events: a tick each second, and what POST /events/ broadcasts
//   GET /ws/echo → WebSocket: each message back; /ws/chat → each text message to every member
//   (both accept permessage-deflate, which browsers and Python's websockets offer)
//   GET /realtime/ → a page whose script tries /ws/echo and /events/ from a browser
//   POST or PUT /upload/ → "<length> <sha256 hex>" of the body, read as it arrives (any
//   size within --max-body costs one receive buffer): curl -T big.iso localhost:8012/upload/
// Needs Linux 6.1+ (5.19 at least). Run: build/examples/snow_demo --port 8012 --threads 2
// (--pin 1: loop i on CPU i, each connection served on the CPU that received it)
// Poke: curl localhost:8012/index/;  curl localhost:8012/req/ & curl localhost:8012/stop/
//   curl -N localhost:8012/events/ & curl -d hello localhost:8012/events/
// HTTPS: --tls-cert FILE --tls-key FILE serve TLS on --port instead of plain HTTP;
//   --tls-sni-cert CERT,KEY (repeatable) adds a certificate shown to clients naming it by SNI,
//   --max-handshakes N caps the handshakes under way at once on each loop.
// Operate: --access-log FILE (reopened on SIGHUP/SIGUSR1), --metrics /metrics, --health 1
// (/livez, /readyz), --proxy-protocol 1 (behind a load balancer), --log-level; SIGINT/SIGTERM
// drain, a second one stops at once.
#include <fmt/format.h>
#include <openssl/evp.h>

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli.hpp"
#include "realtime_page.hpp"
#include "snow/core/when_all.hpp"
#include "snow/http/client/client.hpp"
#include "snow/http/server/event_hub.hpp"
#include "snow/http/server/event_stream.hpp"
#include "snow/http/server/server.hpp"
#include "snow/http/server/websocket.hpp"
#include "snow/http/server/websocket_hub.hpp"
#include "snow/io/event_loop.hpp"
#include "snow/sync/future.hpp"
#include "snow/time/ready_after.hpp"
#include "snow/time/sleep.hpp"

using namespace std::chrono_literals;
using snow::task;
using snow::http::request;
using snow::http::response;

namespace {

/// Parked /req/ requests, oldest first, shared by every loop. A ticket is resolved on the
/// loop that parked it; a parked client that leaves takes its ticket out of the line.
class parking_lot {
public:
    struct ticket {
        snow::promise<std::string> promise;
        std::shared_ptr<snow::io::loop_handle> loop;
    };
    using place = std::list<std::shared_ptr<ticket>>::iterator;

    place park(std::shared_ptr<ticket> t) {
        std::lock_guard lock(mutex_);
        return waiting_.insert(waiting_.end(), std::move(t));
    }
    /// Takes the ticket out of the line if it is still there.
    void leave(place p, const std::shared_ptr<ticket>& t) {
        std::lock_guard lock(mutex_);
        if (!t->loop) return; // already taken by a /stop/
        waiting_.erase(p);
        t->loop.reset();
    }
    /// The oldest ticket, taken out of the line.
    std::shared_ptr<ticket> take_oldest(std::shared_ptr<snow::io::loop_handle>& loop) {
        std::lock_guard lock(mutex_);
        if (waiting_.empty()) return nullptr;
        auto t = std::move(waiting_.front());
        waiting_.pop_front();
        loop = std::move(t->loop);
        return t;
    }

private:
    std::mutex mutex_;
    std::list<std::shared_ptr<ticket>> waiting_;
};

parking_lot lot;

task<response> park(request&) {
    auto t = std::make_shared<parking_lot::ticket>();
    t->loop = snow::io::event_loop::current().handle();
    auto parked = t->promise.get_future();
    auto place = lot.park(t);
    auto value = co_await parked; // cancelled when the client goes away
    lot.leave(place, t);
    if (!value) co_return snow::http::text(value.error().message(), 503);
    co_return snow::http::text(std::move(*value));
}

/// Resolves the oldest parked request that is still there; answers whether one was.
task<response> stop(request&) {
    for (;;) {
        std::shared_ptr<snow::io::loop_handle> owner;
        auto t = lot.take_oldest(owner);
        if (!t) co_return snow::http::text("nothing to stop", 404);
        // Resolve it on its own loop and hear back whether its client was still there.
        auto ack = std::make_shared<snow::promise<bool>>();
        auto delivered = ack->get_future();
        auto here = snow::io::event_loop::current().handle();
        bool posted = owner->post([t, ack, here] {
            bool alive = !t->promise.abandoned();
            if (alive) t->promise.set_value("done");
            here->post([ack, alive] { ack->set_value(alive); });
        });
        if (!posted) continue; // its loop is gone
        auto ok = co_await delivered;
        if (ok && *ok) co_return snow::http::text("stop");
    }
}

// ---------------------------------------------------------------------------------------
// GET /agg/: snow's client inside snow's server. Fetches /index/ and /home/ from this same
// server concurrently (when_all), each under a 1 s deadline, and answers with both bodies
// ("OK\nhome"), or 502 saying which fetch failed. The port is the one in the request's Host
// header (the client reached us there); the host is always loopback (127.0.0.1, or ::1 when
// Host is an IPv6 literal), so the route cannot be made to fetch from other machines.

task<response> aggregate(request& req) {
    auto host = req.header("Host");
    auto self = snow::http::url::parse(fmt::format("http://{}/", host.value_or("")));
    if (!self) co_return snow::http::text("/agg/ needs a Host header with this server's port", 400);
    const std::string base =
        fmt::format("http://{}:{}", self->is_ipv6() ? "[::1]" : "127.0.0.1", self->port());
    // A client belongs to one loop; each server thread has its own loop, so its own client.
    thread_local snow::http::client http;
    auto both = co_await snow::when_all(http.get(base + "/index/", {.timeout = 1s}),
                                        http.get(base + "/home/", {.timeout = 1s}));
    auto& index = std::get<0>(both);
    auto& home = std::get<1>(both);
    if (!index || !home)
        co_return snow::http::text(fmt::format("/index/: {}\n/home/: {}",
                                               index ? "ok" : index.error().message(),
                                               home ? "ok" : home.error().message()),
                                   502);
    co_return snow::http::text(index->body + "\n" + home->body);
}

// ---------------------------------------------------------------------------------------
// GET /events/: Server-Sent Events. Each stream sends "tick N" once a second, with id N, so a
// browser that reconnects (with Last-Event-ID) counts on from where it was; and every
// stream, on every loop, receives what POST /events/ broadcasts through the hub.

snow::http::event_hub news; // thread-safe: POST on one loop reaches streams on all of them

snow::task<snow::result<void>> ticks(snow::http::event_stream& events) {
    auto member = news.subscribe(events); // leaves the hub when the stream ends
    std::uint64_t tick = 0;
    if (const auto& last = events.last_event_id()) {
        tick = std::strtoull(last->c_str(), nullptr, 10);
    }
    for (;;) {
        ++tick;
        const std::string id = std::to_string(tick);
        const std::string text = fmt::format("tick {}", tick);
        auto sent = co_await events.send({.id = id, .event = "tick", .data = text});
        if (!sent) co_return sent;
        // Cut short when the stream ends (the client left, the server stops).
        const bool slept = co_await snow::sleep(1s);
        if (!slept) co_return snow::result<void>{};
    }
}

response broadcast(request& req) {
    if (req.body().empty()) return snow::http::text("POST a body to broadcast it\n", 400);
    auto sent = news.publish({.data = req.body()});
    if (!sent) return snow::http::text(sent.error().message() + "\n", 400);
    return snow::http::text(fmt::format("sent to {} streams\n", news.size()));
}

// GET /ws/echo and /ws/chat: WebSocket, the two-way form of the same idea. An idle socket
// holds no receive buffer; the hub frames each chat message once for every member.
// permessage-deflate is accepted when offered (zlib's streams come with the first compressed
// message); the chat room's server side compresses each message afresh, so a broadcast is
// compressed once per loop for every member instead of once per member.
snow::http::websocket_hub chat_room; // thread-safe, like the event hub

snow::http::websocket_options chat_options() {
    snow::http::websocket_options o;
    o.deflate.server_no_context_takeover = true;
    return o;
}

task<void> echo_messages(snow::http::websocket& ws) {
    for (;;) {
        auto m = co_await ws.recv(); // a message, or how the connection ended
        if (!m) co_return;
        auto sent = co_await ws.send(*m);
        if (!sent) co_return;
    }
}

task<void> chat(snow::http::websocket& ws) {
    auto member = chat_room.subscribe(ws); // leaves the room when this returns
    for (;;) {
        auto m = co_await ws.recv();
        if (!m) co_return;
        if (m->is_text()) (void)chat_room.publish(m->text());
    }
}

// ---------------------------------------------------------------------------------------
// POST /upload/: the body hashed piece by piece as it arrives, never held whole.

task<response> upload(request& req) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> hash(EVP_MD_CTX_new(),
                                                                 &EVP_MD_CTX_free);
    if (!hash || EVP_DigestInit_ex(hash.get(), EVP_sha256(), nullptr) != 1)
        co_return snow::http::status_page(500);
    std::uint64_t length = 0;
    for (;;) {
        auto piece = co_await req.body_stream().next();
        // A failed body is answered by the server itself (413, 400, 408) or nobody is left.
        if (!piece) co_return snow::http::status_page(400);
        if (piece->empty()) break;
        length += piece->size();
        EVP_DigestUpdate(hash.get(), piece->data(), piece->size());
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_size = 0;
    EVP_DigestFinal_ex(hash.get(), digest, &digest_size);
    std::string hex;
    for (unsigned int i = 0; i < digest_size; ++i)
        fmt::format_to(std::back_inserter(hex), "{:02x}", digest[i]);
    co_return snow::http::text(fmt::format("{} {}\n", length, hex));
}

// ---------------------------------------------------------------------------------------

snow::http::router routes() {
    using snow::http::method;
    snow::http::router r;
    // snow's own additions match exactly, and first: /plaintext is the benchmark's route,
    // answered by a plain function (no coroutine frame) after one comparison.
    r.get("/plaintext", [](const request&) { return snow::http::text("Hello, World!"); });
    // The bulk-send benchmark's route: N bytes of 'x' (at most 1 GiB), 400 for anything else.
    r.get("/bytes/{n}", [](const request& req) {
        const std::string_view digits = req.param("n");
        std::uint64_t n = 0;
        const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
        if (error != std::errc{} || end != digits.data() + digits.size() || n > (1ULL << 30))
            return snow::http::text("want /bytes/N, N at most 1073741824\n", 400);
        return snow::http::text(std::string(n, 'x'));
    });
    // The original app's routes, as it meant them: regexes that match at the start of the
    // path (Python's re.match), so /index/anything answers like /index/. get_regex anchors
    // at the start in the same way.
    r.get_regex("/index/", [](const request&) { return snow::http::text("OK"); });
    r.get_regex("/home/", [](const request&) { return snow::http::text("home"); });
    r.get_regex("/async/", [](request&) -> task<response> {
        (void)co_await snow::ready_after(5s); // the original's TimeoutFuture
        co_return snow::http::text("async");
    });
    r.get_regex("/req/", park);
    r.get_regex("/stop/", stop);
    r.get_regex("/agg/", aggregate);
    r.get_regex("/events/",
                [](request& req) { return snow::http::event_stream_response(req, ticks); });
    r.add_regex(method::post, "/events/", broadcast);
    r.get("/ws/echo", [](request& req) {
        snow::http::websocket_options o;
        o.deflate.enabled = true; // the default, spelled out: set false to decline compression
        return snow::http::websocket_response(req, echo_messages, o);
    });
    r.get("/ws/chat",
          [](request& req) { return snow::http::websocket_response(req, chat, chat_options()); });
    r.get("/realtime/", [](const request&) {
        return snow::http::html(std::string(snow::examples::realtime_page));
    });
    // Streamed: the body reaches the handler as it arrives (PUT too, for curl -T).
    r.add_regex(method::post, "/upload/", snow::http::streamed(upload));
    r.add_regex(method::put, "/upload/", snow::http::streamed(upload));
    r.post("/echo", [](request& req) -> task<response> {
        auto type = req.header("Content-Type");
        auto resp = snow::http::text(std::string(req.body()));
        if (type) resp.headers.set("Content-Type", *type);
        co_return resp;
    });
    return r;
}

/// --tls-sni-cert's CERT,KEY: the two file names, or nothing if either is missing. A comma
/// in a file name is not supported: the first comma splits.
std::optional<snow::net::tls_identity> split_pair(std::string_view value) {
    const auto comma = value.find(',');
    if (comma == std::string_view::npos || comma == 0 || comma + 1 == value.size())
        return std::nullopt;
    return snow::net::tls_identity{.certificate_file = std::string(value.substr(0, comma)),
                                   .key_file = std::string(value.substr(comma + 1))};
}

} // namespace

int main(int argc, char** argv) {
    snow::examples::command_line cli("snow_demo",
                                     "The Snow framework's demo app on snow's HTTP server.");
    snow::http::server_options options;
    options.announce = true; // the tests and scripts read the port from this line
    options.port = 8012;
    cli.text("--host", options.host, "Address to listen on", "ADDRESS");
    cli.number("--port", options.port, 0, 65535, "TCP port; 0 picks a free one", "PORT");
    cli.number("--threads", options.threads, 1, 256, "Event loops, one per thread");
    unsigned pin = 0;
    cli.number("--pin", pin, 0, 1, "1: a CPU per loop, connections steered by CPU", "0|1");
    // Opt-in ring modes (io::ring_options): measured in bench/README.md, off by default.
    unsigned sqpoll = 0;
    cli.number("--sqpoll", sqpoll, 0, 1, "1: a kernel thread per loop polls its submissions",
               "0|1");
    cli.number("--napi-busy-poll-us", options.loop.ring.napi_busy_poll_us, 0, 1'000'000,
               "Busy-poll the NIC this long while waiting (Linux 6.9); 0: off", "US");
    cli.number("--max-body", options.limits.max_body_bytes, 0, 1ULL << 32,
               "Largest request body (413 beyond)", "BYTES");
    std::uint64_t header_timeout_ms = 10'000;
    std::uint64_t idle_timeout_ms = 60'000;
    std::uint64_t shutdown_timeout_ms = 10'000;
    cli.number("--header-timeout-ms", header_timeout_ms, 1, 30'000, "Time to send a request head",
               "MS");
    cli.number("--idle-timeout-ms", idle_timeout_ms, 1, 3'600'000,
               "Time an idle keep-alive connection waits", "MS");
    cli.number("--shutdown-timeout-ms", shutdown_timeout_ms, 0, 600'000,
               "Time requests get to finish on a graceful stop", "MS");
    // Operations. The access log: "-" is stderr, "1" stdout (as this flag meant before),
    // anything else a file that SIGHUP or SIGUSR1 reopens after logrotate.
    std::string level;
    cli.text("--log-level", level,
             "error, warn, info or debug (default: SNOW_LOG_LEVEL, else info)", "LEVEL")
        ->check(CLI::Validator(
            [](std::string& value) -> std::string {
                return value.empty() || snow::log::parse_level(value)
                           ? std::string{}
                           : fmt::format("unknown level '{}'", value);
            },
            ""));
    cli.text("--access-log", options.access_log, "Log requests to - (stderr), 1 (stdout) or FILE",
             "-|1|FILE");
    std::string format = "combined";
    cli.text("--access-log-format", format, "combined or json", "FORMAT")
        ->check(CLI::Validator(
            [](std::string& value) -> std::string {
                return snow::http::parse_access_log_format(value)
                           ? std::string{}
                           : fmt::format("unknown format '{}'", value);
            },
            ""));
    cli.text("--metrics", options.metrics_path, "Serve Prometheus metrics at this path", "PATH");
    cli.text("--metrics-address", options.metrics_address,
             "Serve the metrics on a port of their own", "HOST:PORT");
    unsigned health = 0;
    unsigned systemd = 0;
    cli.number("--health", health, 0, 1, "1: answer /livez and /readyz", "0|1");
    // Under systemd: the socket of a .socket unit (fd 3), and READY=1 / STOPPING=1.
    cli.number("--systemd", systemd, 0, 1,
               "1: serve a systemd socket unit's socket, notify systemd", "0|1");
    // Behind a load balancer: each connection begins with a PROXY protocol header (v1 or v2).
    unsigned proxy_protocol = 0;
    cli.number("--proxy-protocol", proxy_protocol, 0, 1,
               "1: each connection begins with a PROXY protocol header", "0|1");
    // HTTPS on --port instead of HTTP: the certificate chain and the key, PEM files.
    cli.text("--tls-cert", options.tls_certificate_file,
             "Serve HTTPS with this certificate chain (PEM)", "FILE");
    cli.text("--tls-key", options.tls_key_file, "The private key of --tls-cert (PEM)", "FILE");
    // More certificates, each shown to the clients that name it by SNI (the names are read
    // from the certificate); a pair per flag, as the two files only make sense together.
    std::vector<std::string> sni_pairs;
    cli.repeated_text(
           "--tls-sni-cert", sni_pairs,
           "Also serve this certificate and key (PEM) to the names it is for; repeatable",
           "CERT,KEY")
        ->check(CLI::Validator(
            [](std::string& value) -> std::string {
                return split_pair(value) ? std::string{}
                                         : fmt::format("wants CERT,KEY, not '{}'", value);
            },
            ""));
    cli.number("--max-handshakes", options.max_concurrent_handshakes, 1, 1'000'000,
               "TLS handshakes under way at once on each loop; the rest wait", "N");
    cli.parse(argc, argv);

    options.header_timeout = std::chrono::milliseconds(header_timeout_ms);
    options.idle_timeout = std::chrono::milliseconds(idle_timeout_ms);
    options.shutdown_timeout = std::chrono::milliseconds(shutdown_timeout_ms);
    if (!level.empty()) options.log_level = snow::log::parse_level(level);
    if (options.access_log == "0") options.access_log.clear();
    if (options.access_log == "1") options.access_log = "/dev/stdout";
    options.access_log_format = *snow::http::parse_access_log_format(format);
    options.pin_threads = pin == 1;
    options.loop.ring.sqpoll = sqpoll == 1;
    options.health_checks = health == 1;
    options.proxy_protocol = proxy_protocol == 1;
    options.systemd = systemd == 1;
    if (options.tls_certificate_file.empty() != options.tls_key_file.empty())
        cli.fail("--tls-cert and --tls-key go together");
    for (const std::string& pair : sni_pairs) options.tls_identities.push_back(*split_pair(pair));

    // Signals are the server's (server_options::handle_signals): the first SIGINT or SIGTERM
    // drains, a second stops at once, SIGHUP and SIGUSR1 reopen the access log.
    return snow::examples::guard_main([&] {
        snow::http::server server(routes());
        return server.run(options);
    });
}
