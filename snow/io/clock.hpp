// snow/io/clock.hpp: the loop's clock, and the one place a duration becomes a deadline.
// Both conversions saturate: a duration too long to represent ("forever",
// seconds::max()) means the far end of time, never a signed overflow that wraps into
// the past and fires at once.
#pragma once

#include <chrono>
#include <ratio>

namespace snow::io {

using clock = std::chrono::steady_clock;

/// `d` in the clock's resolution, rounded up, clamped to what that type can hold.
template <typename Rep, typename Period>
constexpr clock::duration saturating_duration(std::chrono::duration<Rep, Period> d) noexcept {
    using source = std::chrono::duration<Rep, Period>;
    using target = clock::duration;
    if constexpr (std::ratio_greater_equal<Period, target::period>::value) {
        // Coarser units: the target's extremes, truncated into them, are where it overflows.
        constexpr auto most = std::chrono::duration_cast<source>(target::max());
        constexpr auto least = std::chrono::duration_cast<source>(target::min());
        if (d >= most) return target::max();
        if (d <= least) return target::min();
    }
    return std::chrono::ceil<target>(d);
}

/// `now + d`, clamped to the clock's range: an overlong duration gives time_point::max().
template <typename Rep, typename Period>
constexpr clock::time_point deadline_after(clock::time_point now,
                                           std::chrono::duration<Rep, Period> d) noexcept {
    const clock::duration step = saturating_duration(d);
    if (step > clock::duration::zero() && step > clock::time_point::max() - now)
        return clock::time_point::max();
    if (step < clock::duration::zero() && step < clock::time_point::min() - now)
        return clock::time_point::min();
    return now + step;
}

} // namespace snow::io
