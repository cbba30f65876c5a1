// snow-fetch: fetches every URL given, all at once, and prints one JSON line per URL as
// each finishes: the original AsyncRequest client, on snow::http::fetch_all.
//   {"url": "http://127.0.0.1:8012/index/", "status": 200, "bytes": 2, "ms": 0.4, "error": null}
// Needs Linux 5.19+ (io_uring). Run: build/examples/snow-fetch [--follow] [--timeout SECONDS]
//   [--concurrency N] [--cacert FILE] [-k] URL...   Poke: start snow_demo, then snow-fetch
//   http://127.0.0.1:8012/home/
// Exit status: 0 when every URL succeeded, 1 when one failed, 2 for a usage error.
#include <sys/resource.h>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "snow/http/client/fetch_all.hpp"
#include "snow/http/json.hpp"
#include "snow/io/run.hpp"

#include "cli.hpp"

namespace {

constexpr std::string_view usage =
    "usage: snow-fetch [--follow] [--timeout SECONDS] [--concurrency N] [--cacert FILE]\n"
    "                  [-k | --insecure] URL...\n"
    "  --timeout SECONDS   total deadline per URL: connect, send and the whole response\n"
    "                      (fractional; default 5)\n"
    "  --concurrency N     URLs in flight at once (default: all of them)\n"
    "  --follow            follow up to 5 redirects (301, 302, 303, 307, 308)\n"
    "  --cacert FILE       trust the CAs in this PEM file for https (default: the system's)\n"
    "  -k, --insecure      accept any https certificate and name (unsafe)\n";

struct settings {
    bool follow = false;
    double timeout_seconds = 5;
    std::optional<std::size_t> concurrency;
    std::string ca_file;
    bool insecure = false;
    std::vector<std::string> urls;
};

[[noreturn]] void usage_error(std::string_view why) {
    // Nothing on stdout: a script reading the JSON lines sees none.
    fmt::print(stderr, "snow-fetch: {}\n{}", why, usage);
    std::exit(2);
}

std::optional<double> parse_seconds(const std::string& text) {
    char* end = nullptr;
    errno = 0;
    const double value = std::strtod(text.c_str(), &end);
    // A deadline beyond a year is a typo, and would overflow the clock arithmetic anyway.
    if (text.empty() || *end != '\0' || errno != 0 || !std::isfinite(value) || value <= 0 ||
        value > 365.0 * 24 * 3600)
        return std::nullopt;
    return value;
}

std::optional<std::size_t> parse_count(const std::string& text) {
    char* end = nullptr;
    errno = 0;
    const unsigned long long value = std::strtoull(text.c_str(), &end, 10);
    if (text.empty() || text.front() == '-' || *end != '\0' || errno != 0 || value == 0 ||
        value > 1'000'000)
        return std::nullopt;
    return static_cast<std::size_t>(value);
}

settings parse_arguments(int argc, char** argv) {
    settings s;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--") {
            for (++i; i < argc; ++i) s.urls.emplace_back(argv[i]);
            break;
        }
        if (arg == "--help" || arg == "-h") {
            fmt::print("{}", usage);
            std::exit(0);
        }
        if (!arg.starts_with("-") || arg == "-") {
            s.urls.emplace_back(arg);
            continue;
        }
        // --name VALUE or --name=VALUE
        std::string_view name = arg;
        std::optional<std::string> value;
        if (const auto eq = arg.find('='); eq != std::string_view::npos) {
            name = arg.substr(0, eq);
            value = std::string(arg.substr(eq + 1));
        }
        if (name == "--follow" && !value) {
            s.follow = true;
            continue;
        }
        if ((name == "-k" || name == "--insecure") && !value) {
            s.insecure = true;
            continue;
        }
        if (name != "--timeout" && name != "--concurrency" && name != "--cacert")
            usage_error(fmt::format("unknown option '{}'", arg));
        if (!value) {
            if (i + 1 >= argc) usage_error(fmt::format("{} needs a value", name));
            value = argv[++i];
        }
        if (name == "--cacert") {
            s.ca_file = *value;
        } else if (name == "--timeout") {
            auto seconds = parse_seconds(*value);
            if (!seconds) usage_error(fmt::format("--timeout wants seconds > 0, not '{}'", *value));
            s.timeout_seconds = *seconds;
        } else {
            auto count = parse_count(*value);
            if (!count)
                usage_error(
                    fmt::format("--concurrency wants a whole number > 0, not '{}'", *value));
            s.concurrency = *count;
        }
    }
    if (s.urls.empty()) usage_error("no URL given");
    return s;
}

/// Descriptors this process may use for connections: the hard limit, once raised to it,
/// less a few for stdio, the ring and the resolver.
std::size_t connection_budget() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1000;
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        (void)::setrlimit(RLIMIT_NOFILE, &limit);
        (void)::getrlimit(RLIMIT_NOFILE, &limit);
    }
    return limit.rlim_cur > 128 ? static_cast<std::size_t>(limit.rlim_cur - 64) : 64;
}

/// `s` as a JSON string literal. Bytes that are not UTF-8 become U+FFFD: JSON text is
/// Unicode, and a command-line argument need not be.
std::string json_string(std::string_view s) {
    std::string out;
    snow::http::append_json_string(out, s, snow::http::json_bytes::utf8);
    return out;
}

void print_result(const std::string& url, const snow::http::fetch_result& done) {
    const double ms = std::chrono::duration<double, std::milli>(done.elapsed).count();
    const std::string status = done.status ? fmt::format("{}", *done.status) : "null";
    const std::string error =
        done.response
            ? std::string("null")
            : fmt::format("\"{}\"",
                          snow::http::to_string(snow::http::classify(done.response.error())));
    fmt::print("{{\"url\": {}, \"status\": {}, \"bytes\": {}, \"ms\": {:.1f}, \"error\": {}}}\n",
               json_string(url), status, done.body_bytes, ms, error);
    // A refused certificate says why (hostname mismatch, expired, unknown CA) beside the
    // JSON line, which only gives the class.
    if (!done.response && done.response.error() == snow::http::client_failure::tls)
        fmt::print(stderr, "snow-fetch: {}: {}\n", url, done.response.error().message());
    // One line per URL as it finishes, visible at once to whatever reads the pipe.
    std::fflush(stdout);
}

snow::task<int> fetch(settings s) {
    const auto timeout = std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::duration<double>(s.timeout_seconds));
    const std::size_t budget = connection_budget();
    const std::size_t concurrency = std::min(s.concurrency.value_or(s.urls.size()), budget);

    // One connection slot per request in flight, so no URL waits behind a slow one to the
    // same server; keep-alive lets a slot serve URL after URL.
    snow::http::client_options options{.max_connections_per_host = concurrency,
                                       .connect_timeout = timeout};
    options.tls.ca_file = s.ca_file;
    options.tls.insecure_skip_verify = s.insecure;
    snow::http::client http(options);
    std::vector<snow::http::fetch_request> requests;
    requests.reserve(s.urls.size());
    for (const auto& url : s.urls)
        requests.push_back(
            {.url = url,
             .options = {.timeout = timeout, .follow_redirects = s.follow, .max_redirects = 5}});

    bool failed = false;
    co_await snow::http::fetch_all(http, std::move(requests),
                                   [&](snow::http::fetch_result& done) {
                                       failed = failed || !done.response;
                                       print_result(s.urls[done.index], done);
                                   },
                                   {.concurrency = concurrency, .keep_bodies = false});
    co_return failed ? 1 : 0;
}

} // namespace

int main(int argc, char** argv) {
    settings s = parse_arguments(argc, argv);
    return snow::examples::run_main(fetch(std::move(s)));
}
