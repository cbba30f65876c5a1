// snow/core/when_all.hpp: run tasks concurrently on the current loop and wait for all of them.
// Children share the caller's cancellation; an exception is rethrown after every child ends.
#pragma once

#include <tuple>
#include <vector>

#include "snow/core/detail/join.hpp"

namespace snow {

/// Each child's value in argument order; a task<void> contributes std::monostate.
template <typename... T>
task<std::tuple<detail::value_or_monostate<T>...>> when_all(task<T>... tasks) {
    std::tuple<detail::outcome<T>...> outcomes;
    std::vector<detail::join_child> children;
    children.reserve(sizeof...(T));
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (children.push_back(detail::run_child(std::move(tasks), std::get<I>(outcomes))), ...);
    }
    (std::index_sequence_for<T...>{});
    co_await detail::join_all(children, nullptr);
    co_return std::apply([](auto&... out) { return std::tuple{out.take()...}; }, outcomes);
}

/// Every child's value in order (for task<void>, nothing).
template <typename T>
task<std::conditional_t<std::is_void_v<T>, void, std::vector<detail::value_or_monostate<T>>>>
when_all(std::vector<task<T>> tasks) {
    std::vector<detail::outcome<T>> outcomes(tasks.size());
    std::vector<detail::join_child> children;
    children.reserve(tasks.size());
    for (std::size_t i = 0; i < tasks.size(); ++i)
        children.push_back(detail::run_child(std::move(tasks[i]), outcomes[i]));
    co_await detail::join_all(children, nullptr);
    if constexpr (std::is_void_v<T>) {
        for (auto& out : outcomes) out.take();
    } else {
        std::vector<T> values;
        values.reserve(outcomes.size());
        for (auto& out : outcomes) values.push_back(out.take());
        co_return values;
    }
}

} // namespace snow
