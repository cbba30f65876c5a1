// snow/http/server/metrics.cpp: per-thread counters and the exposition text.
#include "snow/http/server/metrics.hpp"

#include <fmt/format.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <iterator>
#include <map>
#include <mutex>
#include <tuple>
#include <utility>
#include <vector>

#include "snow/http/server/server.hpp"
#include "snow/io/event_loop.hpp"

namespace snow::http {

namespace {

/// Written by one thread only, read by scrapes on any: a relaxed load and store is a plain
/// move on x86, and keeps the read well-defined.
struct tally {
    std::atomic<std::uint64_t> value{0};
    void add(std::uint64_t n = 1) noexcept {
        value.store(value.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    void set(std::uint64_t n) noexcept { value.store(n, std::memory_order_relaxed); }
    std::uint64_t get() const noexcept { return value.load(std::memory_order_relaxed); }
};

constexpr std::size_t bucket_count = std::size(metrics::bucket_bounds) + 1; // and +Inf

/// The bucket bounds in nanoseconds, so a request's duration is placed without floating point.
constexpr std::array<std::int64_t, std::size(metrics::bucket_bounds)> bucket_bounds_ns = [] {
    std::array<std::int64_t, std::size(metrics::bucket_bounds)> ns{};
    for (std::size_t i = 0; i < ns.size(); ++i)
        ns[i] = static_cast<std::int64_t>(metrics::bucket_bounds[i] * 1e9 + 0.5);
    return ns;
}();

/// The loop's ring counters are copied into the shard on a thread's first request, then once
/// per this many, and by every scrape on its own loop: copying costs more than counting.
constexpr std::uint32_t loop_snapshot_every = 64;

struct series_key {
    std::string method;
    std::string route;
    int status;
};
struct series_probe {
    std::string_view method;
    std::string_view route;
    int status;
};
struct series_less {
    using is_transparent = void;
    static std::tuple<int, std::string_view, std::string_view> view(const series_key& k) noexcept {
        return {k.status, k.method, k.route};
    }
    static std::tuple<int, std::string_view, std::string_view>
    view(const series_probe& p) noexcept {
        return {p.status, p.method, p.route};
    }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const noexcept {
        return view(a) < view(b);
    }
};

std::atomic<std::uint64_t> next_registry_id{1};

/// The method as one byte: the enum's value, or `no_method` for a request rejected before
/// its method was read. Compared on every request, where a label's text would cost a memcmp.
constexpr std::uint8_t no_method = 0xff;
std::uint8_t method_code(const request& req) noexcept {
    return req.method_name().empty() ? no_method : static_cast<std::uint8_t>(req.method());
}

std::string_view method_label(std::uint8_t code) noexcept {
    if (code == no_method) return "none";
    const std::string_view known = to_string(static_cast<http::method>(code));
    return known.empty() ? std::string_view("other") : known;
}

/// Label values escape backslash, double quote and line feed (exposition format 0.0.4).
void append_label_value(std::string& out, std::string_view value) {
    for (const char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out.push_back(c);
    }
}

void append_family(std::string& out, std::string_view name, std::string_view type,
                   std::string_view help) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

} // namespace

struct metrics::shard {
    std::size_t index = 0;
    std::mutex mutex; // taken by this thread only to add a series, and by scrapes
    std::map<series_key, tally, series_less> requests;
    // Series used lately, in slots chosen by the route's address and the status. A request
    // finds its series by integers alone: the route pattern's address and length (patterns
    // live in the router, so one route's label always has the same address), the status
    // and the method's code. The cache is emptied when a server using it stops (the
    // `finish` hook), before its router, and so those addresses, can go away.
    struct recent {
        const char* route = nullptr;
        std::uint64_t labels = 0; // length << 32 | status << 8 | method code
        tally* series = nullptr;
    };
    std::array<recent, 32> cache{};
    std::uint32_t until_snapshot = 0;
    std::array<tally, bucket_count> buckets;
    tally duration_ns;
    bool has_loop = false; // guarded by mutex; set once
    tally ring_submissions, ring_completions, ring_enters, ring_overflows, loop_turns;

    void snapshot_loop() {
        io::event_loop* loop = io::event_loop::current_or_null();
        if (loop == nullptr) return;
        const io::loop_stats st = loop->stats();
        ring_submissions.set(st.ring.submissions);
        ring_completions.set(st.ring.completions);
        ring_enters.set(st.ring.enters);
        ring_overflows.set(st.ring.overflows);
        loop_turns.set(st.turns);
        if (!has_loop) {
            std::lock_guard lock(mutex);
            has_loop = true;
        }
    }
};

struct metrics::registry {
    const std::uint64_t id = next_registry_id.fetch_add(1, std::memory_order_relaxed);
    mutable std::mutex mutex; // guards shards; taken on a thread's first count and by scrapes
    std::vector<std::unique_ptr<shard>> shards;

    shard& local() {
        // Nearly always the registry this thread counted for last.
        thread_local std::pair<std::uint64_t, shard*> last{0, nullptr};
        if (last.first == id) return *last.second;
        last = {id, &known_shard()};
        return *last.second;
    }

    shard& known_shard() {
        // A handful of registries per process at most: a short list searched in order. Ids
        // are never reused, so an entry of a destroyed registry never matches a new one.
        thread_local std::vector<std::pair<std::uint64_t, shard*>> known;
        for (const auto& [known_id, s] : known)
            if (known_id == id) return *s;
        std::lock_guard lock(mutex);
        shards.push_back(std::make_unique<shard>());
        shards.back()->index = shards.size() - 1;
        known.emplace_back(id, shards.back().get());
        return *shards.back();
    }

    void count(const request& req, const response& resp, std::chrono::nanoseconds elapsed) {
        shard& s = local();
        const std::string_view route = req.route().empty() ? "unmatched" : req.route();
        const std::uint8_t method = method_code(req);
        const std::uint64_t labels = std::uint64_t{route.size()} << 32 |
                                     std::uint64_t{static_cast<std::uint16_t>(resp.status)} << 8 |
                                     method;
        const auto slot = (reinterpret_cast<std::uintptr_t>(route.data()) >> 3 ^
                           static_cast<std::uintptr_t>(resp.status)) %
                          s.cache.size();
        shard::recent& hit = s.cache[slot];
        if (hit.route != route.data() || hit.labels != labels) [[unlikely]]
            remember(hit, s, route, labels, method, resp.status);
        hit.series->add();
        const std::int64_t ns = elapsed.count() < 0 ? 0 : elapsed.count();
        std::size_t bucket = 0;
        while (bucket < bucket_bounds_ns.size() && ns > bucket_bounds_ns[bucket]) ++bucket;
        s.buckets[bucket].add();
        s.duration_ns.add(static_cast<std::uint64_t>(ns));
        if (s.until_snapshot-- == 0) {
            s.until_snapshot = loop_snapshot_every - 1;
            s.snapshot_loop();
        }
    }

    /// A series not in the cache: found or added in the map, then kept in `hit`. Out of
    /// line, so the common path above stays short.
    [[gnu::noinline]] static void remember(shard::recent& hit, shard& s, std::string_view route,
                                           std::uint64_t labels, std::uint8_t method, int status) {
        hit = {route.data(), labels, &series(s, method_label(method), route, status).second};
    }

    /// Forgets this thread's cached series addresses (the series themselves stay).
    void forget_routes() { local().cache = {}; }

    /// One series of `s` (its labels and tally), added if new. Map nodes never move.
    static std::pair<const series_key, tally>& series(shard& s, std::string_view method,
                                                      std::string_view route, int status) {
        // Only this thread changes its map, so finding needs no lock; a new series is added
        // under the lock, which a scrape reading the map holds.
        const series_probe probe{method, route, status};
        auto it = s.requests.find(probe);
        if (it == s.requests.end()) {
            std::lock_guard lock(s.mutex);
            it = s.requests.try_emplace(series_key{std::string(method), std::string(route), status})
                     .first;
        }
        return *it;
    }

    std::string render(const server_stats* stats) {
        local().snapshot_loop(); // the scraping loop's own counters are fresh
        std::map<series_key, std::uint64_t, series_less> requests;
        std::array<std::uint64_t, bucket_count> buckets{};
        std::uint64_t duration_ns = 0;
        struct loop_row {
            std::size_t index;
            std::uint64_t submissions, completions, enters, overflows, turns;
        };
        std::vector<loop_row> loops;
        {
            std::lock_guard lock(mutex);
            for (const auto& s : shards) {
                std::lock_guard shard_lock(s->mutex);
                for (const auto& [key, c] : s->requests) requests[key] += c.get();
                for (std::size_t i = 0; i < bucket_count; ++i) buckets[i] += s->buckets[i].get();
                duration_ns += s->duration_ns.get();
                if (s->has_loop)
                    loops.push_back({s->index, s->ring_submissions.get(), s->ring_completions.get(),
                                     s->ring_enters.get(), s->ring_overflows.get(),
                                     s->loop_turns.get()});
            }
        }

        std::string out;
        auto sink = std::back_inserter(out);
        append_family(out, "snow_http_requests_total", "counter",
                      "Requests answered, by method, route pattern and status code.");
        for (const auto& [key, n] : requests) {
            out += "snow_http_requests_total{method=\"";
            append_label_value(out, key.method);
            out += "\",route=\"";
            append_label_value(out, key.route);
            fmt::format_to(sink, "\",status=\"{}\"}} {}\n", key.status, n);
        }

        append_family(out, "snow_http_request_duration_seconds", "histogram",
                      "Time from a request's complete head to its response, handler included.");
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < bucket_count; ++i) {
            cumulative += buckets[i];
            if (i < std::size(bucket_bounds))
                fmt::format_to(sink, "snow_http_request_duration_seconds_bucket{{le=\"{}\"}} {}\n",
                               bucket_bounds[i], cumulative);
            else
                fmt::format_to(sink,
                               "snow_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {}\n",
                               cumulative);
        }
        fmt::format_to(sink, "snow_http_request_duration_seconds_sum {:.9f}\n",
                       static_cast<double>(duration_ns) / 1e9);
        fmt::format_to(sink, "snow_http_request_duration_seconds_count {}\n", cumulative);

        if (stats != nullptr) {
            auto value = [](const std::atomic<std::uint64_t>& a) {
                return a.load(std::memory_order_relaxed);
            };
            append_family(out, "snow_http_connections_open", "gauge", "Connections open now.");
            fmt::format_to(sink, "snow_http_connections_open {}\n", value(stats->connections_open));
            append_family(out, "snow_http_connections_accepted_total", "counter",
                          "Connections accepted.");
            fmt::format_to(sink, "snow_http_connections_accepted_total {}\n",
                           value(stats->connections_accepted));
            append_family(
                out, "snow_http_requests_rejected_total", "counter",
                "Requests malformed or over a limit, answered 4xx/5xx and closed, and connections "
                "closed for want of a valid PROXY protocol header.");
            fmt::format_to(sink, "snow_http_requests_rejected_total {}\n", value(stats->rejected));
            append_family(out, "snow_http_timeouts_total", "counter",
                          "Connections cut off by a deadline.");
            fmt::format_to(sink, "snow_http_timeouts_total {}\n", value(stats->timeouts));
            append_family(out, "snow_http_handler_errors_total", "counter", "Handlers that threw.");
            fmt::format_to(sink, "snow_http_handler_errors_total {}\n",
                           value(stats->handler_errors));
            append_family(out, "snow_http_handshakes_waiting", "gauge",
                          "TLS connections waiting for a place under max_concurrent_handshakes.");
            fmt::format_to(sink, "snow_http_handshakes_waiting {}\n",
                           value(stats->handshakes_waiting));
        }

        struct loop_family {
            std::string_view name;
            std::string_view help;
            std::uint64_t loop_row::*field;
        };
        const loop_family families[] = {
            {"snow_io_ring_submissions_total", "SQEs handed to the kernel, per loop.",
             &loop_row::submissions},
            {"snow_io_ring_completions_total", "CQEs reaped, per loop.", &loop_row::completions},
            {"snow_io_ring_enters_total", "io_uring_enter system calls, per loop.",
             &loop_row::enters},
            {"snow_io_ring_overflows_total", "Enters that found the completion queue overflowed.",
             &loop_row::overflows},
            {"snow_io_loop_turns_total", "Event loop iterations.", &loop_row::turns},
        };
        if (!loops.empty()) {
            for (const auto& f : families) {
                append_family(out, f.name, "counter", f.help);
                for (const auto& row : loops)
                    fmt::format_to(sink, "{}{{loop=\"{}\"}} {}\n", f.name, row.index,
                                   row.*(f.field));
            }
        }
        return out;
    }
};

metrics::metrics() : registry_(std::make_shared<registry>()) {}
metrics::~metrics() = default;

metrics::shard& metrics::local_shard() const {
    return registry_->local();
}

middleware metrics::counter() {
    return {.before = nullptr,
            .after = [reg = registry_](
                         const request& req, response& resp,
                         std::chrono::nanoseconds elapsed) { reg->count(req, resp, elapsed); },
            .finish = [reg = registry_]() -> task<void> {
                reg->forget_routes();
                co_return;
            }};
}

handler metrics::endpoint(const server_stats* stats) {
    return [reg = registry_, stats](const request&) {
        response r;
        r.body = reg->render(stats);
        r.headers.add("Content-Type", content_type);
        return r;
    };
}

std::string metrics::render(const server_stats* stats) const {
    return registry_->render(stats);
}

} // namespace snow::http
