// snow/io/clock.hpp: the loop's clock, and the one place a duration becomes a deadline.
// The clock is steady_clock, except on a thread that runs a simulated kernel
// (io::sim::kernel), where it reads that kernel's virtual time instead: every timer, sleep
// and deadline in snow takes its "now" from here, so a simulation controls time entirely.
// Both conversions saturate: a duration too long to represent ("forever",
// seconds::max()) means the far end of time, never a signed overflow that wraps into
// the past and fires at once.
#pragma once

#include <chrono>
#include <ratio>

#include "snow/core/export.hpp"

namespace snow::io {

/// steady_clock with one seam: its time_point type is steady_clock's, so values mix freely
/// with code that names steady_clock, and outside a simulation now() is steady_clock::now()
/// after one well-predicted test of a thread-local pointer.
struct clock {
    ///@{
    /// The standard Clock requirements, as steady_clock has them; now() is the current time
    /// (virtual time in a simulation).
    using duration = std::chrono::steady_clock::duration;
    using rep = duration::rep;
    using period = duration::period;
    using time_point = std::chrono::steady_clock::time_point;
    static constexpr bool is_steady = true;
    static time_point now() noexcept;
    ///@}
};

namespace detail {
/// The virtual time of the simulated kernel running on this thread, or null. Set and
/// cleared only by io::sim::kernel; constinit, so reading it needs no TLS init guard, and
/// initial-exec, so that position-independent code (a shared libsnow) reads it with one
/// %fs-relative load instead of a __tls_get_addr call.
SNOW_API extern thread_local constinit const clock::time_point* virtual_now
    __attribute__((tls_model("initial-exec")));
} // namespace detail

inline clock::time_point clock::now() noexcept {
    if (const clock::time_point* simulated = detail::virtual_now; simulated != nullptr) [[unlikely]]
        return *simulated;
    return std::chrono::steady_clock::now();
}

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
