// snow/http/server/metrics.hpp: Prometheus metrics for the server, in the text exposition format
// 0.0.4: requests by method, route and status, a request-duration histogram, the server's
// connection counters, and each loop's ring counters. Counting happens in the `after` hook
// on the loop that served the request, in counters of that thread alone (a relaxed load and
// store, no lock, no shared cache line); a scrape adds the threads' counters up.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "snow/core/export.hpp"
#include "snow/http/server/middleware.hpp"
#include "snow/http/server/router.hpp"

namespace snow::http {

struct server_stats;

/// The server's Prometheus metrics: a counting middleware, and an endpoint that renders
/// what every loop thread has counted.
class SNOW_API metrics {
public:
    metrics();
    metrics(const metrics&) = delete;
    metrics& operator=(const metrics&) = delete;
    ~metrics();

    /// The counting hook: server.use(m.counter()). The route label is the pattern that
    /// matched (request::route()), "unmatched" when none did; methods snow does not know
    /// count as "other", so no client can add series at will.
    middleware counter();

    /// A handler answering with render(stats): srv.get("/metrics", m.endpoint(&srv.stats())).
    /// `stats` (may be null) must outlive the handler.
    handler endpoint(const server_stats* stats);

    /// The exposition text: the counters of every thread that has counted, and `stats`.
    std::string render(const server_stats* stats) const;

    /// Upper bounds of the duration histogram's buckets, in seconds (+Inf is implied).
    static constexpr double bucket_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                               0.1,    0.25,  0.5,    1,     2.5,  5,     10};

    /// The Content-Type of render()'s text.
    static constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

private:
    struct shard;
    struct registry;
    shard& local_shard() const;
    std::shared_ptr<registry> registry_; // shared with the hooks, which may outlive this
};

} // namespace snow::http
