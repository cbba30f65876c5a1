// snow/http/client/fetch_all.cpp: a fixed set of workers, each taking the next request in the list
// when its last one ends, so the cap holds and no request waits behind a slow one for
// longer than it takes some worker to come free.
#include "snow/http/client/fetch_all.hpp"

#include <algorithm>

#include "snow/core/when_all.hpp"

namespace snow::http {
namespace {

/// What the workers share; lives in fetch_all's frame, which awaits them all.
struct fetch_run {
    client& http;
    std::vector<fetch_request> requests;
    std::function<void(fetch_result&)> on_done;
    fetch_options options;
    std::size_t next = 0;
};

task<fetch_result> fetch_one(client& http, fetch_request request, std::size_t index,
                             bool keep_body) {
    const auto start = io::clock::now();
    auto outcome =
        co_await http.open_traced(request.method, std::move(request.url), std::move(request.body),
                                  std::move(request.headers), std::move(request.options));
    fetch_result done{.index = index,
                      .response = std::make_error_code(std::errc::operation_canceled),
                      .status = outcome.last_status,
                      .body_bytes = 0,
                      .elapsed = {},
                      .timings = outcome.timings};
    if (!outcome.stream) {
        done.response = outcome.stream.error();
    } else if (keep_body) {
        response_stream& stream = *outcome.stream;
        done.response = co_await stream.read_all(http.options().limits.max_body_bytes);
        done.body_bytes = stream.body_bytes();
        done.timings = stream.timings();
    } else {
        response_stream& stream = *outcome.stream;
        std::error_code failed;
        for (;;) {
            auto chunk = co_await stream.next_chunk();
            if (!chunk) {
                failed = chunk.error();
                break;
            }
            if (chunk->empty()) break;
        }
        done.body_bytes = stream.body_bytes();
        done.timings = stream.timings();
        if (failed) {
            done.response = failed;
        } else {
            client_response r;
            r.status = stream.status();
            r.reason = std::string(stream.reason());
            r.version_minor = stream.version_minor();
            r.headers = stream.headers();
            r.trailers = stream.trailers();
            r.url = stream.url();
            r.redirects = stream.redirects();
            r.timings = stream.timings();
            done.response = std::move(r);
        }
    }
    done.elapsed = io::clock::now() - start;
    co_return done;
}

task<void> fetch_worker(fetch_run& run) {
    while (run.next < run.requests.size()) {
        const std::size_t index = run.next++;
        fetch_result done = co_await fetch_one(run.http, std::move(run.requests[index]), index,
                                               run.options.keep_bodies);
        run.on_done(done);
    }
}

} // namespace

task<void> fetch_all(client& http, std::vector<fetch_request> requests,
                     std::function<void(fetch_result&)> on_done, fetch_options options) {
    fetch_run run{http, std::move(requests), std::move(on_done), options};
    const std::size_t workers_wanted =
        std::min(std::max<std::size_t>(options.concurrency, 1), run.requests.size());
    std::vector<task<void>> workers;
    workers.reserve(workers_wanted);
    for (std::size_t i = 0; i < workers_wanted; ++i) workers.push_back(fetch_worker(run));
    co_await when_all(std::move(workers));
}

} // namespace snow::http
