// snow/http/server/middleware.hpp: hooks around every handler. `before` may answer a request itself
// (authentication, rate limits); `after` sees the response and how long the request took.
#pragma once

#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>

#include "snow/http/server/request.hpp"
#include "snow/http/server/response.hpp"

namespace snow::http {

struct middleware {
    /// Return a response to answer without calling the handler (later hooks are skipped).
    std::function<std::optional<response>(request&)> before;
    /// Runs after the handler (or the answering `before`) with the final response.
    std::function<void(const request&, response&, std::chrono::nanoseconds elapsed)> after;
};

/// One line per request through fmt: `127.0.0.1:50312 "GET /index/ HTTP/1.1" 200 2 0.031ms`.
middleware access_log(std::FILE* out = stderr);

} // namespace snow::http
