// snow/net/happy_eyeballs.cpp: the attempts of connect_first() run as children of one
// task_group; the parent wakes on each attempt's end or on the attempt delay, starts the
// next address when RFC 8305 says to, and joins every attempt before it returns.
#include "snow/net/happy_eyeballs.hpp"

#include <optional>
#include <utility>

#include "snow/core/error.hpp"
#include "snow/core/task_group.hpp"
#include "snow/sync/event.hpp"
#include "snow/time/timeout.hpp"

namespace snow::net {
namespace {

/// What the attempts report to the parent.
struct race {
    std::optional<tcp_stream> winner;
    std::size_t failed = 0;
    std::error_code last;
    event changed; // set whenever an attempt ends
};

bool more_telling(const std::error_code& candidate, const std::error_code& current) {
    // "Refused" says the host is there and the port is not; a timeout says less.
    if (!current) return true;
    return !(current == std::errc::connection_refused && candidate == std::errc::timed_out);
}

task<void> attempt(race& state, address peer, connect_options options) {
    auto connected = co_await tcp_stream::connect(peer, options);
    if (connected) {
        // A second connection completing in the same turn loses, and closes here.
        if (!state.winner) state.winner = std::move(*connected);
    } else {
        ++state.failed;
        if (more_telling(connected.error(), state.last)) state.last = connected.error();
    }
    state.changed.set();
}

task<result<void>> changed(event& e) {
    const bool set = co_await e.wait();
    if (!set) co_return std::make_error_code(std::errc::operation_canceled);
    co_return result<void>{};
}

} // namespace

std::vector<address> interleave_families(std::vector<address> addresses) {
    std::vector<address> v6;
    std::vector<address> v4;
    for (address& a : addresses) (a.is_ipv6() ? v6 : v4).push_back(std::move(a));
    std::vector<address> out;
    out.reserve(v6.size() + v4.size());
    for (std::size_t i = 0; i < std::max(v6.size(), v4.size()); ++i) {
        if (i < v6.size()) out.push_back(std::move(v6[i]));
        if (i < v4.size()) out.push_back(std::move(v4[i]));
    }
    return out;
}

task<result<tcp_stream>> connect_first(std::vector<address> addresses, connect_options options,
                                       std::chrono::nanoseconds attempt_delay) {
    if (addresses.empty()) co_return make_error_code(errc::resolve_failed);
    const std::vector<address> order = interleave_families(std::move(addresses));
    race state;
    task_group attempts;
    std::size_t started = 0;
    bool cancelled = false;
    attempts.spawn(attempt(state, order[started++], options));
    while (!state.winner && state.failed < order.size()) {
        const std::size_t failed_before = state.failed;
        bool delay_passed = false;
        if (state.failed < started) {
            // Something is still trying: wait for it to end, or for the delay when there
            // is another address to start.
            state.changed.reset();
            result<void> woke;
            if (started < order.size()) {
                woke = co_await with_timeout(changed(state.changed), attempt_delay);
            } else {
                woke = co_await changed(state.changed);
            }
            if (!woke && woke.error() == std::errc::timed_out) {
                delay_passed = true;
            } else if (!woke) {
                cancelled = true;
                break;
            }
        }
        if (state.winner) break;
        if (started < order.size() &&
            (delay_passed || state.failed > failed_before || state.failed == started))
            attempts.spawn(attempt(state, order[started++], options));
    }
    // The losers are cancelled in the kernel and joined: nothing outlives this call.
    attempts.cancel();
    co_await attempts.join();
    if (state.winner) co_return std::move(*state.winner);
    if (cancelled) co_return std::make_error_code(std::errc::operation_canceled);
    co_return state.last;
}

} // namespace snow::net
