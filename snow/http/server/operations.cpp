// snow/http/server/operations.cpp: what server_options can switch on for running a server in
// production: the log level, the access log, metrics, health checks. Each is middleware put
// in front of the user's, so the router itself is never changed once loops run.
#include <utility>

#include "snow/http/server/server.hpp"

namespace snow::http {

namespace {

/// A GET or HEAD of exactly `path`: the built-in endpoints answer only those.
bool asks_for(const request& req, std::string_view path) noexcept {
    return (req.method() == method::get || req.method() == method::head) && req.path() == path;
}

} // namespace

result<void> server::prepare(const server_options& options) {
    std::lock_guard lock(prepare_mutex_);
    if (prepared_) return {};
    prepared_ = true;
    if (options.log_level) log::set_level(*options.log_level);
    if (auto loaded = load_tls(options); !loaded) {
        prepared_ = false; // every later start fails the same way
        return loaded.error();
    }

    std::vector<middleware> builtin;
    if (options.health_checks) {
        // The route label is set so that metrics and logs name the endpoint, not "unmatched".
        builtin.push_back({.before = [this](request& req) -> std::optional<response> {
                               if (asks_for(req, "/livez")) {
                                   req.set_route({}, {}, "/livez");
                                   return text("ok\n");
                               }
                               if (asks_for(req, "/readyz")) {
                                   req.set_route({}, {}, "/readyz");
                                   if (stopping()) return text("draining\n", 503);
                                   return text("ready\n");
                               }
                               return std::nullopt;
                           },
                           .after = nullptr,
                           .finish = nullptr});
    }
    if (!options.metrics_path.empty() || !options.metrics_address.empty()) {
        metrics_ = std::make_unique<http::metrics>();
        metrics_path_ = options.metrics_path.empty() ? "/metrics" : options.metrics_path;
        if (!options.metrics_path.empty()) {
            builtin.push_back({.before = [this, endpoint = metrics_->endpoint(&stats_)](
                                             request& req) -> std::optional<response> {
                                   if (!asks_for(req, metrics_path_)) return std::nullopt;
                                   req.set_route({}, {}, metrics_path_);
                                   return endpoint.answer(req);
                               },
                               .after = nullptr,
                               .finish = nullptr});
        }
        builtin.push_back(metrics_->counter());
    }
    if (!options.access_log.empty()) {
        auto opened = io::log_file::open(options.access_log);
        if (!opened) {
            log::error("cannot open the access log {}: {}", options.access_log,
                       opened.error().message());
            prepared_ = false; // every later start fails the same way
            return opened.error();
        }
        access_log_ = std::move(*opened);
        builtin.push_back(http::access_log(access_log_, options.access_log_format));
    }
    middlewares_.insert(middlewares_.begin(), std::make_move_iterator(builtin.begin()),
                        std::make_move_iterator(builtin.end()));
    return {};
}

task<result<void>> server::reopen_logs() {
    if (!access_log_) co_return result<void>{};
    co_return co_await access_log_->reopen();
}

} // namespace snow::http
