// examples/fetch/retry_policy.hpp: when snow-fetch tries a request again, and how long it waits
// first: exponential backoff with full jitter, or the server's Retry-After on 429 and 503.
// Pure functions of their arguments (the random source and the clock are passed in), so the
// tests can check the bounds without a server.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string_view>

#include "snow/http/method.hpp"

namespace snow::examples::fetch {

/// How many times to try, and which requests.
struct retry_policy {
    /// Retries after the first attempt; 0: none.
    std::uint32_t retries = 0;
    /// Retry every method, not only the idempotent ones.
    bool all_methods = false;
    /// The first backoff's ceiling; each retry doubles it, up to `cap`.
    std::chrono::nanoseconds base = std::chrono::milliseconds(100);
    std::chrono::nanoseconds cap = std::chrono::seconds(5);
    /// The longest Retry-After honoured; a server asking for more is not retried.
    std::chrono::nanoseconds max_retry_after = std::chrono::seconds(60);
};

/// RFC 9110 §9.2.2: methods a server may receive twice without harm.
constexpr bool is_idempotent(http::method m) noexcept {
    switch (m) {
    case http::method::get:
    case http::method::head:
    case http::method::put:
    case http::method::delete_:
    case http::method::options:
    case http::method::trace:
        return true;
    default:
        return false;
    }
}

/// Statuses that say "try later" rather than "no": too many requests, and the gateway and
/// availability failures a restart or a deploy produces. 500 is left out: it usually
/// repeats.
constexpr bool is_retryable_status(int status) noexcept {
    return status == 429 || status == 502 || status == 503 || status == 504;
}

/// The wait before retry number `retry` (1 for the first): "full jitter", uniform in
/// [0, min(cap, base * 2^(retry-1))], so that clients failing together do not come back
/// together.
inline std::chrono::nanoseconds backoff(const retry_policy& p, std::uint32_t retry,
                                        std::mt19937_64& random) {
    auto ceiling = p.base;
    for (std::uint32_t i = 1; i < retry && ceiling < p.cap; ++i) ceiling *= 2;
    ceiling = std::min(ceiling, p.cap);
    if (ceiling.count() <= 0) return {};
    std::uniform_int_distribution<std::int64_t> pick(0, ceiling.count());
    return std::chrono::nanoseconds(pick(random));
}

/// A Retry-After value as a wait from `now`: delay-seconds ("120") or an IMF-fixdate ("Sun, 06
/// Nov 1994 08:49:37 GMT", RFC 9110 §5.6.7; the obsolete date forms are not read). A date in
/// the past is a wait of zero. Nothing for any other text.
inline std::optional<std::chrono::nanoseconds>
parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now) {
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (value.empty()) return std::nullopt;
    auto digits = [](std::string_view text, std::int64_t& out) {
        if (text.empty() || text.size() > 10) return false;
        out = 0;
        for (char c : text) {
            if (c < '0' || c > '9') return false;
            out = out * 10 + (c - '0');
        }
        return true;
    };
    std::int64_t seconds = 0;
    if (digits(value, seconds)) return std::chrono::seconds(seconds);

    // "Sun, 06 Nov 1994 08:49:37 GMT": fixed width, 29 characters.
    if (value.size() != 29 || value.substr(3, 2) != ", " || value[7] != ' ' || value[11] != ' ' ||
        value[16] != ' ' || value[19] != ':' || value[22] != ':' || value.substr(25) != " GMT")
        return std::nullopt;
    static constexpr std::array<std::string_view, 12> months = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const auto month = std::find(months.begin(), months.end(), value.substr(8, 3));
    std::int64_t day = 0;
    std::int64_t year = 0;
    std::int64_t hour = 0;
    std::int64_t minute = 0;
    std::int64_t second = 0;
    if (month == months.end() || !digits(value.substr(5, 2), day) ||
        !digits(value.substr(12, 4), year) || !digits(value.substr(17, 2), hour) ||
        !digits(value.substr(20, 2), minute) || !digits(value.substr(23, 2), second) || day < 1 ||
        day > 31 || hour > 23 || minute > 59 || second > 60)
        return std::nullopt;
    using namespace std::chrono;
    const year_month_day date{std::chrono::year(static_cast<int>(year)),
                              std::chrono::month(static_cast<unsigned>(month - months.begin() + 1)),
                              std::chrono::day(static_cast<unsigned>(day))};
    if (!date.ok()) return std::nullopt;
    const auto at = sys_days(date) + hours(hour) + minutes(minute) + std::chrono::seconds(second);
    if (at <= now) return nanoseconds(0);
    return duration_cast<nanoseconds>(at - now);
}

} // namespace snow::examples::fetch
