// snow/time/ready_after.hpp: a future that becomes ready after a duration, the original
// framework's TimeoutFuture: a sleeping task resolves it, so a handler can hand the future
// on or await it beside others.
#pragma once

#include <chrono>

#include "snow/io/run.hpp"
#include "snow/sync/future.hpp"
#include "snow/time/sleep.hpp"

namespace snow {

namespace detail {
inline task<void> resolve_after(promise<void> p, clock::duration duration) {
    co_await sleep(duration);
    p.set_value();
}
} // namespace detail

/// A future that becomes ready after `duration`.
template <typename Rep, typename Period>
future<void> ready_after(std::chrono::duration<Rep, Period> duration) {
    promise<void> p;
    future<void> f = p.get_future();
    spawn(detail::resolve_after(std::move(p), io::saturating_duration(duration)));
    return f;
}

} // namespace snow
