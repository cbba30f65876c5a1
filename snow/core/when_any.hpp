// snow/core/when_any.hpp: run tasks concurrently and keep the first to finish. The others are
// cancelled (their in-flight operations cancelled in the kernel) and joined before
// when_any returns: no loser is ever left running or abandoned.
#pragma once

#include <cassert>
#include <memory>
#include <optional>
#include <vector>

#include "snow/core/detail/join.hpp"

namespace snow {

/// What when_any() returns: which task finished first, its value, and what the others
/// finished with.
template <typename T>
struct any_result {
    std::size_t index; ///< which task finished first
    /// The winner's value (std::monostate for a task<void>).
    detail::value_or_monostate<T> value;
    /// What each other task finished with, by position: empty at `index` and for a task
    /// that threw. A loser whose operation had already completed when the winner cancelled
    /// it (a recv that took bytes in the same turn as a timer fired) keeps that value here,
    /// so nothing it consumed is lost.
    std::vector<std::optional<detail::value_or_monostate<T>>> others;
};

/// The first task to finish, by position, with its value; if it threw, rethrows that.
/// Losers see cancellation and should return promptly (operations end with
/// std::errc::operation_canceled).
template <typename T>
task<any_result<T>> when_any(std::vector<task<T>> tasks) {
    assert(!tasks.empty() && "when_any needs at least one task");
    cancel_source* parent = co_await current_cancellation{};
    const std::size_t n = tasks.size();
    auto sources = std::make_unique<cancel_source[]>(n);
    std::vector<detail::outcome<T>> outcomes(n);
    std::size_t winner = n;

    std::vector<detail::join_child> children;
    children.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        sources[i].link_to(parent);
        children.push_back(
            detail::run_race_child(std::move(tasks[i]), outcomes[i], i, &winner, sources.get(), n));
        detail::promise_access::bind(children.back().handle().promise(), &sources[i]);
    }
    co_await detail::join_all(children, nullptr);
    std::vector<std::optional<detail::value_or_monostate<T>>> others(n);
    for (std::size_t i = 0; i < n; ++i)
        if (i != winner && outcomes[i].value) others[i] = std::move(*outcomes[i].value);
    co_return any_result<T>{winner, outcomes[winner].take(), std::move(others)};
}

/// when_any over a fixed list of tasks of one type.
template <typename T, typename... More>
requires(std::is_same_v<task<T>, More>&&...) task<any_result<T>> when_any(task<T> first,
                                                                          More... more) {
    std::vector<task<T>> tasks;
    tasks.reserve(1 + sizeof...(More));
    tasks.push_back(std::move(first));
    (tasks.push_back(std::move(more)), ...);
    return when_any(std::move(tasks));
}

} // namespace snow
