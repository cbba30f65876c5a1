// snow/http/server/middleware.hpp: hooks around every handler. `before` may answer a request itself
// (authentication, rate limits); `after` sees the response and how long the request took.
#pragma once

#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>

#include "snow/core/export.hpp"
#include "snow/core/task.hpp"
#include "snow/http/server/request.hpp"
#include "snow/http/server/response.hpp"

namespace snow::http {

/// Hooks around every handler, added with server::use(): logging, metrics, authentication.
struct middleware {
    /// Return a response to answer without calling the handler (later hooks are skipped).
    std::function<std::optional<response>(request&)> before;
    /// Runs after the handler (or the answering `before`) with the final response. Also for
    /// requests the server rejects (400, 408, 413, 431…), with the error response and, when
    /// the head never parsed, an empty method_name(); and with status 499 (nginx's "client
    /// closed request") when the client left before its answer.
    std::function<void(const request&, response&, std::chrono::nanoseconds elapsed)> after;
    /// Runs on each loop once serve() has joined its connections, for hooks that hold output
    /// still to be written (the access log waits for its lines to reach the file).
    /// (Given a default so that `{.before = ..., .after = ...}` stays complete.)
    std::function<task<void>()> finish = nullptr;
};

/// One line per request through fmt: `127.0.0.1:50312 "GET /index/ HTTP/1.1" 200 2 0.031ms`.
/// It writes with stdio, which can wait on a slow file: for a quick look while developing. The
/// access log for production is in snow/http/server/access_log.hpp.
SNOW_API middleware access_log(std::FILE* out = stderr);

} // namespace snow::http
