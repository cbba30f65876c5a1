// snow-fetch: fetches URLs (arguments, a file, stdin, or JSON lines carrying a method, headers,
// a body and a timeout each) with a bounded number in flight, prints one JSON line per request
// as it finishes, and a summary with latency percentiles at the end:
//   {"v": 1, "url": "http://127.0.0.1:8012/index/", "status": 200, "bytes": 2, "ms": 0.4,
//    "error": null}
// Needs Linux 5.19+ (io_uring). Run: build/examples/snow-fetch --help. Poke: start snow_demo,
// then `snow-fetch -n 1000 --summary json http://127.0.0.1:8012/index/`.
// Exit status: 0 when every request succeeded, 1 when one failed, 2 for a usage error.
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fcntl.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "snow/core/cancel.hpp"
#include "snow/core/task_group.hpp"
#include "snow/core/when_all.hpp"
#include "snow/http/client/client.hpp"
#include "snow/http/json.hpp"
#include "snow/io/ops.hpp"
#include "snow/io/run.hpp"
#include "snow/sync/event.hpp"
#include "snow/time/sleep.hpp"

#include "cli.hpp"
#include "fetch/input_line.hpp"
#include "fetch/input_source.hpp"
#include "fetch/record_writer.hpp"
#include "fetch/retry_policy.hpp"
#include "fetch/summary.hpp"
#include "stop_signal.hpp"

namespace {

namespace fetch = snow::examples::fetch;
namespace http = snow::http;
using std::chrono::nanoseconds;

constexpr std::string_view footer = R"(Input:
  Each URL argument, then each line of -i FILE (-i - reads stdin, streamed), is one request.
  Blank lines and lines starting with '#' are skipped. A line starting with '{' is a JSON
  object; only "url" is required, and the rest override -X, -H (by name), -d and --timeout:
    {"url": "http://h/p", "method": "PUT", "headers": {"Name": "value"}, "body": "text",
     "timeout": 2.5}
  A line that is neither gives a record with "error": "input" and a reason on stderr.
  -n N repeats the list N times (a file, not a pipe). -z DURATION repeats it until the time
  is up (a pipe is read once), then cuts off the requests in flight ("aborted"); with -n,
  whichever ends first. SIGINT and SIGTERM stop a run the same way.

Requests:
  URLs are http://, https:// or http+unix://, the last naming a Unix socket by its
  percent-encoded path (http+unix://%2Frun%2Fapp.sock/status; Host: localhost unless -H
  sets one). Methods: GET, HEAD, POST, PUT, DELETE, OPTIONS, TRACE, PATCH. -d and
  --data-binary send Content-Type application/x-www-form-urlencoded unless -H sets one.
  --timeout covers connecting, sending and the whole response, from the moment the request
  leaves the queue: once it has one of the --concurrency slots and, under --per-host N
  (a cap on the connections to one host:port), a connection slot. The wait for either is
  its "queue" phase, reported but not counted against --timeout. It applies to each
  attempt. Bodies are read and counted, not kept.

Retries (--retries N): a request is tried again, up to N more times, when it fails with
  timeout, connect, dns or truncated, or is answered 429, 502, 503 or 504 (its body is read
  first). Only GET, HEAD, PUT, DELETE, OPTIONS and TRACE are retried, unless --retry-all.
  The wait before retry k is random in [0, min(5 s, 100 ms * 2^(k-1))] ("full jitter"); a
  429 or 503 with Retry-After (seconds or an HTTP date) waits that long instead, and is not
  retried when it asks for more than 60 s or for more than -z has left. The record is the
  last attempt's, its "ms" counts from the first attempt's start, waits included.

Pacing (--rate R): request k starts at k/R seconds into the run, whatever the latency of
  the others (an open loop), with at most --concurrency in flight. Its latency ("ms",
  "total", the summary) counts from that scheduled start, so a request that had to wait for
  a free slot behind a slow one reports the wait (as part of its "queue" phase): coordinated
  omission is corrected.

Saving bodies: -o FILE saves the body of the one URL given (one URL argument, no -i, -n or
  -z). --output-dir DIR saves the body of each request to DIR/INDEX, where INDEX counts the
  request lines of the input from 0 in the order read (an input record takes its number
  too), over every pass. A body is written a chunk at a time through io_uring as it
  arrives, so memory does not grow with its size, and the writing is part of the request's
  "body" phase; a failure to write makes the record's error io. A retried request's file
  holds the last attempt's body. Without either flag bodies are counted, not kept.

Progress: when stderr is a terminal and stdout is not, a line on stderr (done, in flight,
  errors, requests per second) is redrawn ten times a second, and cleared at the end.

Output (stdout): one JSON line per request, in completion order, written by a thread of its
own so that a slow reader does not show in the timings (when --output-queue records wait, no
new request starts until some are written; none is dropped):
  {"v": 1, "url": "...", "status": 200, "bytes": 2, "ms": 0.4, "error": null}
  v       the record format's version, 1
  url     the URL as given (JSON-escaped; bytes that are not UTF-8 become U+FFFD)
  status  the final status; null when no status line arrived
  bytes   body bytes received, de-chunked
  ms      milliseconds from the request's start to its end
  error   null, or the failure's class: timeout, connect, dns, url, truncated, protocol,
          redirects, io, tls; aborted (cut off by -z or a signal); input (not a request)
  phase   for a failure, the phase it happened in (queue, dns, connect, tls, send, ttfb,
          body); null otherwise
  remote  the server's address, "IP:port"; null when no connection was made, or for a
          Unix socket
  reused  true when the request went over a pooled keep-alive connection
  attempts  the attempts made (more than 1 only with --retries); 0 for an input record
  file    with -o or --output-dir, where the body was saved; null when none was (no
          response, or neither flag)
  phases  microseconds spent in each phase, from the loop's clock: queue (waiting for a
          connection slot to the host, and with --rate for a free slot), dns, connect, tls
          (zero on a reused connection), send, ttfb (request written to response head
          read), body, and total
Summary: --summary text writes a few lines on stderr; json writes, as the last line on stdout,
  {"summary": {"v": 1, "requests": N, "ok": N, "failed": N, "aborted": N, "seconds": S,
   "rate": R, "bytes": N, "bytes_per_second": R, "status": {"200": N, ...},
   "errors": {"timeout": N, ...}, "total_ms": {"count": N, "mean": MS, "p50": MS, "p90": MS,
   "p99": MS, "p99.9": MS, "max": MS}, "ttfb_ms": {...the same...}, "max_rss_kib": N}}
  total_ms and ttfb_ms cover the requests that completed (error null); percentiles are
  within 1/64.
  auto (the default) is text when stderr is a terminal, none otherwise.

Exit status:
  0  every request succeeded (with --fail: and had a status below 400)
  1  some request failed; aborted ones do not count
  2  usage error: one line and a hint on stderr, nothing on stdout
)";

struct settings {
    std::vector<std::string> urls;
    std::string input_file;
    std::uint64_t repeat = 1;
    bool repeat_given = false;
    std::optional<nanoseconds> duration;
    std::string method_name;
    std::vector<std::string> header_lines;
    std::optional<std::string> data;
    std::optional<std::string> data_binary;
    std::optional<std::string> user_agent;
    bool follow = false;
    bool http_1_0 = false;
    double timeout_seconds = 5;
    std::optional<double> connect_timeout_seconds;
    std::size_t concurrency = 64;
    std::optional<std::size_t> per_host;
    std::uint32_t retries = 0;
    bool retry_all = false;
    std::optional<double> rate;
    std::string output_file;
    std::string output_dir;
    std::string ca_file;
    bool insecure = false;
    bool fail = false;
    std::string summary_mode = "auto";
    std::size_t output_queue = 4096;
};

/// What every request starts from, worked out once from the settings.
struct request_defaults {
    http::method method = http::method::get;
    http::headers headers{};
    std::string body{};
    nanoseconds timeout{};
    std::optional<nanoseconds> connect_timeout{};
};

[[noreturn]] void usage_error(std::string_view why) {
    // Nothing on stdout: a script reading the JSON lines sees none.
    fmt::print(stderr, "snow-fetch: {}\nRun 'snow-fetch --help' for the flags and formats.\n", why);
    std::exit(2);
}

/// A number of seconds in (0, one year]: a longer deadline is a typo, and would overflow the
/// clock arithmetic anyway.
std::optional<double> parse_seconds(std::string_view text) {
    const std::string copy(text);
    char* end = nullptr;
    errno = 0;
    const double value = std::strtod(copy.c_str(), &end);
    if (copy.empty() || *end != '\0' || errno != 0 || !std::isfinite(value) || value <= 0 ||
        value > 365.0 * 24 * 3600)
        return std::nullopt;
    return value;
}

/// A duration for -z: a number with an optional unit, ms, s (the default), m or h.
std::optional<double> parse_duration(std::string_view text) {
    double scale = 1;
    if (text.ends_with("ms")) {
        scale = 0.001;
        text.remove_suffix(2);
    } else if (text.ends_with("s")) {
        text.remove_suffix(1);
    } else if (text.ends_with("m")) {
        scale = 60;
        text.remove_suffix(1);
    } else if (text.ends_with("h")) {
        scale = 3600;
        text.remove_suffix(1);
    }
    auto value = parse_seconds(text);
    if (!value) return std::nullopt;
    return parse_seconds(fmt::format("{}", *value * scale));
}

nanoseconds to_nanoseconds(double seconds) {
    return std::chrono::duration_cast<nanoseconds>(std::chrono::duration<double>(seconds));
}

CLI::Validator seconds_check() {
    return CLI::Validator(
        [](std::string& value) -> std::string {
            return parse_seconds(value) ? std::string{}
                                        : fmt::format("wants seconds > 0, not '{}'", value);
        },
        "");
}

/// The method named `name` if the client can send it: the standard ones but CONNECT.
std::optional<http::method> sendable_method(std::string_view name) {
    const http::method m = http::parse_method(name);
    if (m == http::method::other || m == http::method::connect) return std::nullopt;
    return m;
}

std::optional<std::string> read_whole_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream bytes;
    bytes << in.rdbuf();
    if (in.bad()) return std::nullopt;
    return std::move(bytes).str();
}

settings parse_arguments(int argc, char** argv) {
    settings s;
    CLI::App app("Fetches URLs concurrently over io_uring and prints one JSON line per request, "
                 "then a summary.",
                 "snow-fetch");
    app.set_version_flag("--version", fmt::format("snow-fetch {}", snow::examples::version),
                         "Print the version");
    app.footer(std::string(footer));
    app.get_formatter()->column_width(28);

    // Validators carry no description: the type name column says what a value is.
    auto range = [](std::size_t low, std::size_t high) {
        return CLI::Range(low, high).description("");
    };
    app.add_option("URL", s.urls, "http://, https:// or http+unix:// URL to fetch");
    app.add_option("-i,--input", s.input_file, "More URLs or JSON lines, one a line ('-': stdin)")
        ->type_name("FILE");
    app.add_option("-n,--repeat", s.repeat, "Fetch the whole list N times (default 1)")
        ->check(range(1, 1'000'000'000))
        ->type_name("N");
    std::string duration_text;
    app.add_option("-z,--duration", duration_text,
                   "Repeat the list until the time is up (10s, 500ms, 2m)")
        ->check(CLI::Validator(
            [](std::string& value) -> std::string {
                return parse_duration(value)
                           ? std::string{}
                           : fmt::format("wants a duration such as 10s, not '{}'", value);
            },
            ""))
        ->type_name("DURATION");
    app.add_option("-X,--request", s.method_name, "Method (default GET; POST with a body)")
        ->type_name("METHOD");
    app.add_option("-H,--header", s.header_lines, "Send this header field (repeatable)")
        ->allow_extra_args(false)
        ->type_name("'NAME: VALUE'");
    auto* data = app.add_option("-d,--data", s.data, "Send DATA as the body")->type_name("DATA");
    app.add_option("--data-binary", s.data_binary, "Send the bytes of FILE as the body")
        ->type_name("@FILE")
        ->excludes(data);
    app.add_option("-A,--user-agent", s.user_agent, "User-Agent (default snow/0.1; '' for none)")
        ->type_name("AGENT");
    app.add_flag("--follow", s.follow, "Follow up to 5 redirects")->disable_flag_override();
    app.add_flag("--http1.0", s.http_1_0, "Send HTTP/1.0 requests, one per connection")
        ->disable_flag_override();
    app.add_option("--timeout", s.timeout_seconds,
                   "Deadline per request, from leaving the queue (default 5)")
        ->check(seconds_check())
        ->type_name("SECONDS");
    app.add_option("--connect-timeout", s.connect_timeout_seconds,
                   "Deadline per TCP handshake (default: --timeout)")
        ->check(seconds_check())
        ->type_name("SECONDS");
    app.add_option("-c,--concurrency", s.concurrency, "Requests in flight at once (default 64)")
        ->check(range(1, 1'000'000))
        ->type_name("N");
    app.add_option("--per-host", s.per_host, "Connections to one host:port at once (default -c)")
        ->check(range(1, 1'000'000))
        ->type_name("N");
    app.add_option("--retries", s.retries, "Try a failed request again up to N times (default 0)")
        ->check(range(0, 100))
        ->type_name("N");
    app.add_flag("--retry-all", s.retry_all, "Retry every method, not only idempotent ones")
        ->disable_flag_override();
    app.add_option("--rate", s.rate, "Start R requests a second, whatever the latency")
        ->check(CLI::Range(0.001, 10'000'000.0).description(""))
        ->type_name("R");
    auto* output_file =
        app.add_option("-o,--output", s.output_file, "Save the body of the one URL given to FILE")
            ->type_name("FILE");
    app.add_option("--output-dir", s.output_dir, "Save each body to DIR/INDEX (see \"file\")")
        ->type_name("DIR")
        ->excludes(output_file);
    app.add_flag("--fail", s.fail, "An HTTP status >= 400 fails the run (exit 1)")
        ->disable_flag_override();
    app.add_option("--summary", s.summary_mode, "auto, text, json or none (default auto)")
        ->check(CLI::IsMember({"auto", "text", "json", "none"}).description(""))
        ->type_name("MODE");
    app.add_option("--output-queue", s.output_queue, "Records waiting for stdout (default 4096)")
        ->check(range(1, 1'000'000))
        ->type_name("N");
    app.add_option("--cacert", s.ca_file, "Trust the CAs in this PEM file for https")
        ->type_name("FILE");
    app.add_flag("-k,--insecure", s.insecure, "Accept any https certificate and name (unsafe)")
        ->disable_flag_override();

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) std::exit(app.exit(e)); // --help, --version: stdout
        usage_error(e.what());
    }
    if (!duration_text.empty()) s.duration = to_nanoseconds(*parse_duration(duration_text));
    s.repeat_given = app.count("--repeat") > 0;
    if (s.urls.empty() && s.input_file.empty()) usage_error("no URL given (arguments or -i FILE)");
    if (!s.output_file.empty() &&
        (s.urls.size() != 1 || !s.input_file.empty() || s.repeat_given || s.duration))
        usage_error("-o saves the body of one URL argument; --output-dir saves many");
    return s;
}

/// Checks before any request that the bodies can be saved where asked, so that a typo is a
/// usage error rather than a failure per request.
void check_output(const settings& s) {
    if (!s.output_file.empty()) {
        const int fd = ::open(s.output_file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            usage_error(
                fmt::format("-o: cannot write '{}': {}", s.output_file, std::strerror(errno)));
        ::close(fd);
    }
    if (!s.output_dir.empty()) {
        struct stat info {};
        if (::stat(s.output_dir.c_str(), &info) != 0 || !S_ISDIR(info.st_mode))
            usage_error(fmt::format("--output-dir: '{}' is not a directory", s.output_dir));
        if (::access(s.output_dir.c_str(), W_OK | X_OK) != 0)
            usage_error(fmt::format("--output-dir: cannot write in '{}': {}", s.output_dir,
                                    std::strerror(errno)));
    }
}

request_defaults make_defaults(const settings& s) {
    request_defaults d;
    if (s.data) d.body = *s.data;
    if (s.data_binary) {
        if (s.data_binary->starts_with('@')) {
            auto bytes = read_whole_file(s.data_binary->substr(1));
            if (!bytes)
                usage_error(fmt::format("--data-binary: cannot read '{}': {}",
                                        s.data_binary->substr(1), std::strerror(errno)));
            d.body = std::move(*bytes);
        } else {
            d.body = *s.data_binary;
        }
    }
    const bool has_body = s.data || s.data_binary;
    if (!s.method_name.empty()) {
        auto m = sendable_method(s.method_name);
        if (!m) usage_error(fmt::format("-X: cannot send method '{}'", s.method_name));
        d.method = *m;
    } else if (has_body) {
        d.method = http::method::post;
    }
    for (const auto& line : s.header_lines) {
        const auto colon = line.find(':');
        std::string_view name = std::string_view(line).substr(0, colon);
        std::string_view value = colon == std::string::npos
                                     ? std::string_view{}
                                     : std::string_view(line).substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
            value.remove_prefix(1);
        while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
            value.remove_suffix(1);
        if (colon == std::string::npos || !d.headers.add(name, value))
            usage_error(fmt::format("-H wants 'Name: value', not '{}'", line));
    }
    if (has_body && !d.headers.contains("Content-Type"))
        d.headers.add("Content-Type", "application/x-www-form-urlencoded");
    d.timeout = to_nanoseconds(s.timeout_seconds);
    if (s.connect_timeout_seconds) d.connect_timeout = to_nanoseconds(*s.connect_timeout_seconds);
    return d;
}

/// Descriptors this process may use for connections: the hard limit, once raised to it,
/// less a few for stdio, the ring, the input and the resolver.
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

/// One request, ready for the client.
struct job {
    http::method method = http::method::get;
    std::string url{};
    http::headers headers{};
    std::string body{};
    nanoseconds timeout{};
    std::string save_to{}; ///< where the body goes (-o, --output-dir); empty: nowhere
};

/// The request an input line asks for, or why it is none.
std::variant<job, std::string> make_job(const request_defaults& d, fetch::line_kind kind,
                                        std::string_view text) {
    job j{
        .method = d.method, .url = {}, .headers = d.headers, .body = d.body, .timeout = d.timeout};
    if (kind == fetch::line_kind::url) {
        j.url = std::string(text);
        return j;
    }
    auto parsed = fetch::json_request_reader::read(text);
    if (auto* error = std::get_if<fetch::input_error>(&parsed)) return std::move(error->reason);
    auto& in = std::get<fetch::input_request>(parsed);
    j.url = std::move(in.url);
    if (in.body) {
        j.body = std::move(*in.body);
        if (!in.method && j.method == http::method::get) j.method = http::method::post;
    }
    if (in.method) {
        auto m = sendable_method(*in.method);
        if (!m) return fmt::format("cannot send method '{}'", *in.method);
        j.method = *m;
    }
    // A name given on the line replaces every -H field of that name.
    for (const auto& [name, value] : in.headers) j.headers.remove(name);
    for (const auto& [name, value] : in.headers)
        if (!j.headers.add(name, value)) return fmt::format("bad header field '{}'", name);
    if (in.timeout_seconds) j.timeout = to_nanoseconds(*in.timeout_seconds);
    return j;
}

/// How one request ended.
struct fetched {
    std::error_code error{};
    std::optional<int> status{};
    std::uint64_t bytes = 0;
    nanoseconds elapsed{};
    http::request_timings timings{};
    std::optional<std::string> retry_after{}; ///< the response's Retry-After, if it had one
    std::uint32_t attempts = 1;
    bool saved = false; ///< the body went to job::save_to
};

/// Writes all of `bytes` to `fd` through the ring: the kernel does a regular file's write on
/// its own workers, so the loop thread never waits on the disk.
snow::task<std::error_code> write_all(int fd, std::string_view bytes) {
    auto rest = std::as_bytes(std::span(bytes.data(), bytes.size()));
    while (!rest.empty()) {
        auto n = co_await snow::io::write_op(fd, rest);
        if (!n) co_return n.error();
        if (*n == 0) co_return std::make_error_code(std::errc::io_error);
        rest = rest.subspan(*n);
    }
    co_return std::error_code{};
}

/// Runs `j` and reads its body without keeping it.
snow::task<fetched> fetch_one(http::client& client, job j, http::request_options options) {
    const auto start = snow::io::clock::now();
    options.timeout = j.timeout;
    auto outcome = co_await client.open_traced(j.method, std::move(j.url), std::move(j.body),
                                               std::move(j.headers), options);
    fetched done{.error = {},
                 .status = outcome.last_status,
                 .bytes = 0,
                 .elapsed = {},
                 .timings = outcome.timings,
                 .retry_after = {},
                 .attempts = 1};
    if (!outcome.stream) {
        done.error = outcome.stream.error();
    } else {
        http::response_stream& stream = *outcome.stream;
        done.status = stream.status();
        if (auto value = stream.headers().get("Retry-After"))
            done.retry_after = std::string(*value);
        // The body is saved a chunk at a time, each written before the next is read: memory
        // stays one chunk whatever the body's size.
        int fd = -1;
        std::error_code save_error;
        if (!j.save_to.empty()) {
            auto opened = co_await snow::io::openat_op(
                j.save_to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            if (opened) {
                fd = *opened;
                done.saved = true;
            } else {
                save_error = opened.error();
            }
        }
        while (!save_error) {
            auto chunk = co_await stream.next_chunk();
            if (!chunk) {
                done.error = chunk.error();
                break;
            }
            if (chunk->empty()) break;
            if (fd >= 0) save_error = co_await write_all(fd, *chunk);
        }
        if (fd >= 0) {
            auto closed = co_await snow::io::close_op(fd);
            if (!closed && !save_error) save_error = closed.error();
        }
        done.bytes = stream.body_bytes();
        done.timings = stream.timings();
        if (save_error && !done.error) {
            done.error = save_error;
            done.timings.failed_in = "body";
        }
    }
    done.elapsed = snow::io::clock::now() - start;
    co_return done;
}

/// What the workers share; lives in run_all's frame, which awaits them all.
struct fetch_run {
    const settings& s;
    const request_defaults& defaults;
    http::client& client;
    fetch::input_source& input;
    fetch::record_writer& writer;
    fetch::summary& tally;
    http::request_options options{};
    fetch::retry_policy retry{};
    snow::io::clock::time_point started{};
    std::optional<snow::io::clock::time_point> ends_at{}; // -z: when the run stops
    std::uint64_t next_index = 0;                         // of the next request line read
    std::uint64_t scheduled = 0;                          // --rate: requests given a start time
    std::mt19937_64 random{};                             // backoff jitter
    snow::cancel_source abort{}; // cancels the requests in flight and the input read
    bool stopping = false;       // no new request starts
    bool reading = false;        // a worker is reading the input; the others wait
    snow::event read_idle{};
    bool failed = false;
    std::uint64_t in_flight = 0; // for the progress line
    std::uint64_t done = 0;
    std::uint64_t errors = 0;
};

void stop(fetch_run& run) {
    run.stopping = true;
    run.abort.request();
}

/// The next input line. One worker reads at a time, since the reader's buffer is shared.
snow::task<std::optional<fetch::input_line>> next_line(fetch_run& run) {
    for (;;) {
        if (run.stopping) co_return std::nullopt;
        if (!run.reading) break;
        const bool idle = co_await run.read_idle.wait();
        (void)idle; // the loop re-checks either way
    }
    run.reading = true;
    run.read_idle.reset();
    auto line = co_await snow::with_cancellation(run.input.next(), run.abort);
    run.reading = false;
    run.read_idle.set();
    co_return line;
}

/// `s` as a JSON string literal. Bytes that are not UTF-8 become U+FFFD: JSON text is
/// Unicode, and a command-line argument need not be.
std::string json_string(std::string_view s) {
    std::string out;
    http::append_json_string(out, s, http::json_bytes::utf8);
    return out;
}

std::int64_t micros(nanoseconds d) {
    return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

std::string record_line(std::string_view url, std::optional<int> status, std::uint64_t bytes,
                        nanoseconds elapsed, std::string_view error, const http::request_timings& t,
                        std::uint32_t attempts, std::string_view file) {
    const double ms = std::chrono::duration<double, std::milli>(elapsed).count();
    const bool connected = t.remote.port() != 0;
    return fmt::format(
        "{{\"v\": 1, \"url\": {}, \"status\": {}, \"bytes\": {}, \"ms\": {:.1f}, \"error\": {}, "
        "\"phase\": {}, \"remote\": {}, \"reused\": {}, \"attempts\": {}, \"file\": {}, "
        "\"phases\": {{\"queue\": {}, \"dns\": {}, \"connect\": {}, \"tls\": {}, \"send\": {}, "
        "\"ttfb\": {}, \"body\": {}, \"total\": {}}}}}\n",
        json_string(url), status ? fmt::format("{}", *status) : "null", bytes, ms,
        error.empty() ? "null" : fmt::format("\"{}\"", error),
        error.empty() || t.failed_in.empty() ? "null" : fmt::format("\"{}\"", t.failed_in),
        connected ? json_string(t.remote.to_string()) : "null", t.reused_connection, attempts,
        file.empty() ? "null" : json_string(file), micros(t.queue), micros(t.dns),
        micros(t.connect), micros(t.tls), micros(t.send), micros(t.ttfb), micros(t.body),
        micros(elapsed));
}

/// How long to wait before trying `done` again, or nothing when it is final: it succeeded,
/// failed for good, or the server asks for a wait longer than the run has left.
std::optional<nanoseconds> retry_wait(fetch_run& run, const fetched& done, std::uint32_t retry) {
    if (done.error) {
        if (run.abort.requested()) return std::nullopt;
        const auto failure = http::classify(done.error);
        if (failure != http::client_failure::timeout && failure != http::client_failure::connect &&
            failure != http::client_failure::dns && failure != http::client_failure::truncated)
            return std::nullopt;
    } else if (!done.status || !fetch::is_retryable_status(*done.status)) {
        return std::nullopt;
    }
    nanoseconds wait = fetch::backoff(run.retry, retry, run.random);
    if (!done.error && done.retry_after && (*done.status == 429 || *done.status == 503)) {
        auto asked = fetch::parse_retry_after(*done.retry_after, std::chrono::system_clock::now());
        if (asked) {
            if (*asked > run.retry.max_retry_after) return std::nullopt;
            wait = *asked;
        }
    }
    if (run.ends_at && snow::io::clock::now() + wait >= *run.ends_at) return std::nullopt;
    return wait;
}

/// Runs `j`, and again while it fails in a way worth retrying and retries are left; the
/// outcome is the last attempt's. Inherits the caller's cancellation: a stop during the
/// backoff ends it with the previous attempt's outcome.
snow::task<fetched> fetch_with_retries(fetch_run& run, job j) {
    const bool may_retry =
        run.retry.retries > 0 && (run.retry.all_methods || fetch::is_idempotent(j.method));
    for (std::uint32_t attempt = 1;; ++attempt) {
        const bool last = !may_retry || attempt > run.retry.retries;
        job this_try = last ? std::move(j) : j;
        fetched done = co_await fetch_one(run.client, std::move(this_try), run.options);
        done.attempts = attempt;
        if (last) co_return done;
        const auto wait = retry_wait(run, done, attempt);
        if (!wait) co_return done;
        const bool waited = co_await snow::sleep(*wait);
        if (!waited) co_return done;
    }
}

snow::task<bool> wait_until(snow::io::clock::time_point when) {
    co_return co_await snow::sleep_until(when);
}

/// Takes input lines and runs them one after another until the input ends or the run stops.
snow::task<void> worker(fetch_run& run) {
    for (;;) {
        auto line = co_await next_line(run);
        if (!line) co_return;
        std::string_view text = line->text;
        const auto kind = fetch::classify_line(text);
        if (kind == fetch::line_kind::skip) continue;
        // Read one at a time, so the index is the line's place among the requests.
        const std::uint64_t index = run.next_index++;

        auto prepared = line->too_long
                            ? std::variant<job, std::string>(fmt::format(
                                  "longer than {} bytes", fetch::input_source::max_line_bytes))
                            : make_job(run.defaults, kind, text);
        if (auto* why = std::get_if<std::string>(&prepared)) {
            run.failed = true;
            ++run.done;
            ++run.errors;
            run.tally.add(fetch::outcome::failed, 0, "input", 0, 0, 0);
            const std::string where =
                line->number ? fmt::format("input line {}", line->number) : "argument";
            co_await run.writer.write(fmt::format("snow-fetch: {}: {}\n", where, *why),
                                      fetch::record_writer::stream::err);
            co_await run.writer.write(
                record_line(text, std::nullopt, 0, {}, "input", http::request_timings{}, 0, {}),
                fetch::record_writer::stream::out);
            continue;
        }

        job& j = std::get<job>(prepared);
        if (!run.s.output_file.empty()) j.save_to = run.s.output_file;
        if (!run.s.output_dir.empty()) j.save_to = fmt::format("{}/{}", run.s.output_dir, index);
        const std::string url = j.url;
        const std::string save_to = j.save_to;
        // With --rate, request number k starts at started + k/R whatever happened before it,
        // and its latency counts from then: a request that had to wait for a worker (every
        // one busy behind a slow response) reports that wait too, so coordinated omission
        // does not hide it.
        auto start = snow::io::clock::now();
        nanoseconds late{};
        if (run.s.rate) {
            const auto slot =
                run.started + to_nanoseconds(static_cast<double>(run.scheduled++) / *run.s.rate);
            const bool due = co_await snow::with_cancellation(wait_until(slot), run.abort);
            if (!due) co_return; // stopped before its time: never started
            start = slot;
            late = std::max(nanoseconds{}, snow::io::clock::now() - slot);
        }
        ++run.in_flight;
        fetched done =
            co_await snow::with_cancellation(fetch_with_retries(run, std::move(j)), run.abort);
        --run.in_flight;
        done.elapsed = snow::io::clock::now() - start;
        done.timings.queue += late;
        std::string_view error;
        auto o = fetch::outcome::ok;
        if (done.error) {
            if (run.abort.requested() && done.error == std::errc::operation_canceled) {
                error = "aborted";
                o = fetch::outcome::aborted;
            } else {
                error = http::to_string(http::classify(done.error));
                o = fetch::outcome::failed;
            }
        } else if (run.s.fail && done.status && *done.status >= 400) {
            o = fetch::outcome::failed;
        }
        if (o == fetch::outcome::failed) {
            run.failed = true;
            ++run.errors;
        }
        ++run.done;
        run.tally.add(o, done.status.value_or(0), error, done.bytes,
                      static_cast<std::uint64_t>(micros(done.elapsed)),
                      static_cast<std::uint64_t>(micros(done.timings.ttfb)));
        // A refused certificate says why (hostname mismatch, expired, unknown CA) beside the
        // JSON line, which only gives the class.
        if (done.error && http::classify(done.error) == http::client_failure::tls)
            co_await run.writer.write(
                fmt::format("snow-fetch: {}: {}\n", url, done.error.message()),
                fetch::record_writer::stream::err);
        co_await run.writer.write(record_line(url, done.status, done.bytes, done.elapsed, error,
                                              done.timings, done.attempts,
                                              done.saved ? std::string_view(save_to) : ""),
                                  fetch::record_writer::stream::out);
    }
}

snow::task<void> stop_after(fetch_run& run, nanoseconds duration) {
    const bool reached = co_await snow::sleep(duration);
    if (reached) stop(run);
}

snow::task<void> stop_on_signal(fetch_run& run, snow::examples::stop_signal& signals) {
    const int received = co_await signals.wait();
    if (received == 0) stop(run);
}

/// Redraws the progress line on stderr (a terminal) ten times a second, until cancelled.
snow::task<void> show_progress(fetch_run& run) {
    for (;;) {
        const bool slept = co_await snow::sleep(std::chrono::milliseconds(100));
        if (!slept) co_return;
        const double seconds =
            std::chrono::duration<double>(snow::io::clock::now() - run.started).count();
        // "\033[K" clears what a longer previous line left on the right.
        co_await run.writer.write(
            fmt::format("\rsnow-fetch: {} done, {} in flight, {} errors, {:.0f}/s\033[K", run.done,
                        run.in_flight, run.errors,
                        seconds > 0 ? static_cast<double>(run.done) / seconds : 0.0),
            fetch::record_writer::stream::err);
    }
}

long max_rss_kib() {
    rusage usage{};
    return ::getrusage(RUSAGE_SELF, &usage) == 0 ? usage.ru_maxrss : 0;
}

snow::task<int> run_all(settings s, request_defaults defaults, int input_fd) {
    // -n bounds the passes; -z alone repeats until the time is up.
    std::optional<std::uint64_t> passes = s.repeat;
    if (s.duration && !s.repeat_given) passes.reset();
    fetch::input_source input(s.urls, input_fd, passes);
    // Before the writer thread starts, so that SIGINT and SIGTERM reach only the signalfd.
    auto signals = snow::examples::stop_signal::install();
    const std::size_t concurrency = std::min(s.concurrency, connection_budget());
    // One connection slot per request in flight, so no URL waits behind a slow one to the
    // same server (unless --per-host asks for fewer); keep-alive lets a slot serve URL after
    // URL. The client queues the requests beyond the cap, and reports the wait as `queue`.
    const std::size_t per_host = std::min(s.per_host.value_or(concurrency), concurrency);
    http::client_options options{.max_connections_per_host = per_host,
                                 .connect_timeout =
                                     defaults.connect_timeout.value_or(defaults.timeout)};
    options.tls.ca_file = s.ca_file;
    options.tls.insecure_skip_verify = s.insecure;
    if (s.user_agent) options.user_agent = *s.user_agent;
    http::client client(options);
    fetch::record_writer writer(s.output_queue);
    fetch::summary tally;
    fetch_run run{.s = s,
                  .defaults = defaults,
                  .client = client,
                  .input = input,
                  .writer = writer,
                  .tally = tally,
                  .options = {.timeout = {},
                              .connect_timeout = defaults.connect_timeout,
                              .follow_redirects = s.follow,
                              .max_redirects = 5,
                              .version_minor = s.http_1_0 ? 0 : 1}};
    run.retry.retries = s.retries;
    run.retry.all_methods = s.retry_all;
    run.random.seed(std::random_device{}());

    // One round trip through the ring first: the phases are timed from the loop's clock,
    // taken when a turn begins, and this first turn began before the setup above.
    snow::io::nop_op round_trip;
    auto fresh_turn = co_await round_trip;
    (void)fresh_turn;
    const auto started = snow::io::clock::now();
    run.started = started;
    if (s.duration) run.ends_at = snow::io::deadline_after(started, *s.duration);
    snow::task_group helpers;
    if (s.duration) helpers.spawn(stop_after(run, *s.duration));
    helpers.spawn(stop_on_signal(run, signals));
    // A progress line would garble records written to the same terminal.
    const bool progress = ::isatty(2) && !::isatty(1);
    if (progress) helpers.spawn(show_progress(run));
    std::vector<snow::task<void>> workers;
    workers.reserve(concurrency);
    for (std::size_t i = 0; i < concurrency; ++i) workers.push_back(worker(run));
    co_await snow::when_all(std::move(workers));
    helpers.cancel();
    co_await helpers.join();
    if (progress) co_await writer.write("\r\033[K", fetch::record_writer::stream::err);
    const double seconds = std::chrono::duration<double>(snow::io::clock::now() - started).count();

    const bool text = s.summary_mode == "text" || (s.summary_mode == "auto" && ::isatty(2));
    if (s.summary_mode == "json")
        co_await writer.write(tally.json(seconds, max_rss_kib()),
                              fetch::record_writer::stream::out);
    writer.close(); // everything written, in order, before the text summary
    if (text) fmt::print(stderr, "{}", tally.text(seconds));
    co_return run.failed ? 1 : 0;
}

int open_input(const settings& s) {
    if (s.input_file.empty()) return -1;
    if (s.input_file == "-") return STDIN_FILENO;
    const int fd = ::open(s.input_file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        usage_error(fmt::format("-i: cannot open '{}': {}", s.input_file, std::strerror(errno)));
    return fd;
}

} // namespace

int main(int argc, char** argv) {
    settings s = parse_arguments(argc, argv);
    request_defaults defaults = make_defaults(s);
    check_output(s);
    const int input_fd = open_input(s);
    if (s.repeat > 1 && input_fd >= 0 && !fetch::input_source::rewindable(input_fd))
        usage_error("-n repeats the list, and this input cannot be read twice (a pipe?)");
    return snow::examples::run_main(run_all(std::move(s), std::move(defaults), input_fd));
}
