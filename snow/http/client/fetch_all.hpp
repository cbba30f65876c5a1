// snow/http/client/fetch_all.hpp: many requests at once with a cap on how many are in flight, and a
// callback as each one finishes: the shape of the original AsyncRequest client, where every
// request carries its own timeout and a slow one holds up none of the others.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "snow/core/export.hpp"
#include "snow/http/client/client.hpp"

namespace snow::http {

/// One request for fetch_all(): what request() would take.
struct fetch_request {
    /// The request method.
    http::method method = http::method::get;
    /// The absolute URL to fetch: `http://`, `https://` or `http+unix://`.
    std::string url{};
    /// Header fields sent as given, as for client::request().
    http::headers headers{};
    /// The request body; empty sends none.
    std::string body{};
    /// Its timeout starts once the request has a connection slot (see request_options):
    /// neither the wait for a fetch_options::concurrency worker nor the one for a slot
    /// counts.
    request_options options{};
};

/// How one request of fetch_all() ended, handed to the callback as it does.
struct fetch_result {
    std::size_t index; ///< the request's position in the list
    /// The response, its body empty unless fetch_options::keep_bodies; or why it failed.
    result<client_response> response;
    /// The final status whenever a final head arrived, even when the body then failed or
    /// a redirect could not be followed; none when no status line arrived.
    std::optional<int> status{};
    std::uint64_t body_bytes = 0;       ///< body bytes received (de-chunked), kept or not
    std::chrono::nanoseconds elapsed{}; ///< from the request's start to its end
    /// Where the time went, phase by phase; for a failure, the phase it failed in.
    request_timings timings{};
};

/// How fetch_all() runs its list.
struct fetch_options {
    /// Requests in flight at once; the others start, in list order, as those finish.
    std::size_t concurrency = 64;
    /// Keep each body in the response (up to client_options::limits.max_body_bytes); off,
    /// bodies are read and counted but not held, whatever their size.
    bool keep_bodies = true;
};

/// Runs every request on `http`, at most `options.concurrency` at a time, and calls
/// `on_done` once per request as each finishes (completion order, on the loop thread).
/// Returns when all have finished. An exception thrown by `on_done` stops nothing; it is
/// rethrown once every request has ended. `http` must outlive the call.
SNOW_API task<void> fetch_all(client& http, std::vector<fetch_request> requests,
                              std::function<void(fetch_result&)> on_done,
                              fetch_options options = {});

} // namespace snow::http
