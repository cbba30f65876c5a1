// examples/fetch/summary.hpp: snow-fetch's tally of a run: requests by outcome, by status and by
// error class, body bytes, and the latency histogram; rendered at the end as text for a
// terminal or as the one-line JSON {"summary": {...}}. Its size does not grow with the run.
#pragma once

#include <cstdint>
#include <iterator>
#include <map>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "histogram.hpp"

namespace snow::examples::fetch {

/// How one record ended, as the summary counts it.
enum class outcome { ok, failed, aborted };

class summary {
public:
    /// Counts one record. `status` is 0 when no status line arrived; `error` is empty when
    /// the request completed. Only completed requests (no error) feed the latency histogram:
    /// a timeout's latency is the timeout.
    void add(outcome o, int status, std::string_view error, std::uint64_t bytes,
             std::uint64_t total_us, std::uint64_t ttfb_us) {
        ++requests_;
        ++(o == outcome::ok ? ok_ : o == outcome::failed ? failed_ : aborted_);
        if (status != 0) ++by_status_[status];
        if (!error.empty()) ++by_error_[std::string(error)];
        bytes_ += bytes;
        if (error.empty()) {
            total_.record(total_us);
            ttfb_.record(ttfb_us);
        }
    }

    std::uint64_t requests() const noexcept { return requests_; }
    const histogram& total() const noexcept { return total_; }
    const histogram& ttfb() const noexcept { return ttfb_; }

    /// The summary as one JSON line (with its "\n"); `seconds` is the run's wall time and
    /// `max_rss_kib` the process's peak resident set.
    std::string json(double seconds, long max_rss_kib) const {
        std::string out =
            fmt::format("{{\"summary\": {{\"v\": 1, \"requests\": {}, \"ok\": {}, \"failed\": {}, "
                        "\"aborted\": {}, \"seconds\": {:.3f}, \"rate\": {:.1f}, \"bytes\": {}, "
                        "\"bytes_per_second\": {:.0f}, \"status\": {{",
                        requests_, ok_, failed_, aborted_, seconds, per_second(requests_, seconds),
                        bytes_, per_second(bytes_, seconds));
        const char* comma = "";
        for (const auto& [status, count] : by_status_) {
            fmt::format_to(std::back_inserter(out), "{}\"{}\": {}", comma, status, count);
            comma = ", ";
        }
        out += "}, \"errors\": {";
        comma = "";
        for (const auto& [error, count] : by_error_) {
            fmt::format_to(std::back_inserter(out), "{}\"{}\": {}", comma, error, count);
            comma = ", ";
        }
        out += "}, \"total_ms\": ";
        append_percentiles(out, total_);
        out += ", \"ttfb_ms\": ";
        append_percentiles(out, ttfb_);
        fmt::format_to(std::back_inserter(out), ", \"max_rss_kib\": {}}}}}\n", max_rss_kib);
        return out;
    }

    /// The summary as a few lines for a person at a terminal.
    std::string text(double seconds) const {
        std::string out = fmt::format(
            "snow-fetch: {} requests in {:.3f} s, {:.1f}/s: {} ok, {} failed, {} aborted\n",
            requests_, seconds, per_second(requests_, seconds), ok_, failed_, aborted_);
        fmt::format_to(std::back_inserter(out), "  body bytes {} ({:.1f} MB/s)\n", bytes_,
                       per_second(bytes_, seconds) / 1e6);
        if (!by_status_.empty()) {
            out += "  status    ";
            for (const auto& [status, count] : by_status_)
                fmt::format_to(std::back_inserter(out), " {}: {}", status, count);
            out += '\n';
        }
        if (!by_error_.empty()) {
            out += "  errors    ";
            for (const auto& [error, count] : by_error_)
                fmt::format_to(std::back_inserter(out), " {}: {}", error, count);
            out += '\n';
        }
        if (total_.count() > 0)
            fmt::format_to(std::back_inserter(out),
                           "  total ms   p50 {:.3f}  p90 {:.3f}  p99 {:.3f}  p99.9 {:.3f}  "
                           "max {:.3f}\n",
                           ms(total_.percentile(50)), ms(total_.percentile(90)),
                           ms(total_.percentile(99)), ms(total_.percentile(99.9)),
                           ms(total_.max()));
        if (ttfb_.count() > 0)
            fmt::format_to(std::back_inserter(out),
                           "  ttfb ms    p50 {:.3f}  p90 {:.3f}  p99 {:.3f}  p99.9 {:.3f}  "
                           "max {:.3f}\n",
                           ms(ttfb_.percentile(50)), ms(ttfb_.percentile(90)),
                           ms(ttfb_.percentile(99)), ms(ttfb_.percentile(99.9)), ms(ttfb_.max()));
        return out;
    }

private:
    static void append_percentiles(std::string& out, const histogram& h) {
        fmt::format_to(std::back_inserter(out),
                       "{{\"count\": {}, \"mean\": {:.3f}, \"p50\": {:.3f}, \"p90\": {:.3f}, "
                       "\"p99\": {:.3f}, \"p99.9\": {:.3f}, \"max\": {:.3f}}}",
                       h.count(), h.mean() / 1000.0, ms(h.percentile(50)), ms(h.percentile(90)),
                       ms(h.percentile(99)), ms(h.percentile(99.9)), ms(h.max()));
    }
    static double ms(std::uint64_t us) noexcept { return static_cast<double>(us) / 1000.0; }
    static double per_second(std::uint64_t n, double seconds) noexcept {
        return seconds > 0 ? static_cast<double>(n) / seconds : 0.0;
    }

    std::uint64_t requests_ = 0;
    std::uint64_t ok_ = 0;
    std::uint64_t failed_ = 0;
    std::uint64_t aborted_ = 0;
    std::uint64_t bytes_ = 0;
    std::map<int, std::uint64_t> by_status_;        // at most the 500 status codes
    std::map<std::string, std::uint64_t> by_error_; // at most the error classes
    histogram total_;
    histogram ttfb_; // request written to response head read
};

} // namespace snow::examples::fetch
