// snow/core/detail/join.hpp: the machinery under when_all and when_any: a small coroutine per
// child that records the child's outcome and, when the last child finishes, resumes the
// awaiting combinator by symmetric transfer.
#pragma once

#include <coroutine>
#include <cstddef>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "snow/core/task.hpp"

namespace snow::detail {

struct join_counter {
    std::size_t remaining = 0;
    std::coroutine_handle<> waiter;
};

class join_child_promise;

class [[nodiscard]] join_child {
public:
    using promise_type = join_child_promise;
    explicit join_child(std::coroutine_handle<join_child_promise> h) noexcept : handle_(h) {}
    join_child(join_child&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
    join_child& operator=(join_child&&) = delete;
    ~join_child() {
        if (handle_) handle_.destroy();
    }
    std::coroutine_handle<join_child_promise> handle() const noexcept { return handle_; }

private:
    std::coroutine_handle<join_child_promise> handle_;
};

class join_child_promise : public promise_base {
public:
    join_child get_return_object() noexcept {
        return join_child{std::coroutine_handle<join_child_promise>::from_promise(*this)};
    }
    struct final_awaiter {
        bool await_ready() noexcept { return false; }
        std::coroutine_handle<>
        await_suspend(std::coroutine_handle<join_child_promise> self) noexcept {
            join_counter& shared = *self.promise().counter;
            if (--shared.remaining == 0) return shared.waiter;
            return std::noop_coroutine();
        }
        void await_resume() noexcept {}
    };
    final_awaiter final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); } // join bodies catch everything

    join_counter* counter = nullptr;
};

/// Awaiting starts every child and resumes once all have finished. Children that finish
/// while being started count too; the extra count held during start-up keeps the waiter
/// from being resumed from inside its own await_suspend.
class join_all {
public:
    join_all(std::vector<join_child>& children, cancel_source* inherited) noexcept
        : children_(children)
        , inherited_(inherited) {}

    bool await_ready() const noexcept { return children_.empty(); }

    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) noexcept {
        counter_.waiter = waiter;
        counter_.remaining = children_.size() + 1;
        cancel_source* parent = cancellation_of(waiter);
        for (auto& child : children_) {
            auto& promise = child.handle().promise();
            promise.counter = &counter_;
            promise_access::bind_if_unbound(promise, inherited_ ? inherited_ : parent);
            child.handle().resume();
        }
        return --counter_.remaining != 0;
    }
    void await_resume() const noexcept {}

private:
    std::vector<join_child>& children_;
    cancel_source* inherited_;
    join_counter counter_;
};

/// A child's outcome: its value (std::monostate for void), or the exception it threw.
template <typename T>
using value_or_monostate = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

template <typename T>
struct outcome {
    std::optional<value_or_monostate<T>> value;
    std::exception_ptr error;

    value_or_monostate<T> take() {
        if (error) std::rethrow_exception(error);
        return std::move(*value);
    }
};

/// Runs `child` to its end, recording its value or exception in `out`.
template <typename T>
task<void> capture(task<T> child, outcome<T>& out) {
    try {
        if constexpr (std::is_void_v<T>) {
            co_await std::move(child);
            out.value.emplace();
        } else {
            out.value.emplace(co_await std::move(child));
        }
    } catch (...) {
        out.error = std::current_exception();
    }
}

template <typename T>
join_child run_child(task<T> child, outcome<T>& out) {
    co_await capture(std::move(child), out);
}

/// A when_any child: the first to finish records its index and cancels its siblings.
template <typename T>
join_child run_race_child(task<T> child, outcome<T>& out, std::size_t index, std::size_t* winner,
                          cancel_source* siblings, std::size_t count) {
    co_await capture(std::move(child), out);
    if (*winner == count) {
        *winner = index;
        for (std::size_t i = 0; i < count; ++i)
            if (i != index) siblings[i].request();
    }
}

} // namespace snow::detail
