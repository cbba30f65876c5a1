// snow/sync/future.hpp: promise<T> / future<T>, the one-shot hand-off between tasks on one loop
// (the original framework's Future). A task awaits the future; another resolves the promise
// with a value, an error code or an exception. Resolution schedules the waiter on the loop:
// set_value never runs the waiter's code inside the caller.
#pragma once

#include <cassert>
#include <chrono>
#include <coroutine>
#include <exception>
#include <system_error>
#include <utility>
#include <variant>

#include "snow/core/cancel.hpp"
#include "snow/core/detail/join.hpp"
#include "snow/core/result.hpp"
#include "snow/core/scheduler.hpp"

namespace snow {

template <typename T>
class future;
template <typename T>
class promise;

namespace detail {

template <typename T>
struct future_state {
    // empty, value, error code, exception
    std::variant<std::monostate, value_or_monostate<T>, std::error_code, std::exception_ptr>
        outcome;
    std::coroutine_handle<> waiter;        // set while suspended and not yet woken
    std::coroutine_handle<> waiter_handle; // the awaiting coroutine until it resumes
    scheduler* loop = nullptr;
    cancel_callback on_cancel;
    int references = 2; // the promise's and the future's
    bool future_alive = true;
    bool cancelled = false;
    bool scheduled = false; // the waiter is queued on the loop but has not run yet

    void wake() {
        on_cancel.reset();
        scheduled = true;
        loop->schedule(std::exchange(waiter, {}));
    }

    bool ready() const noexcept { return outcome.index() != 0; }

    template <typename... Args>
    void resolve(Args&&... args) {
        assert(!ready() && "a promise is resolved once");
        outcome = decltype(outcome)(std::forward<Args>(args)...);
        if (waiter) wake();
    }

    void release() noexcept {
        if (--references == 0) delete this;
    }
};

} // namespace detail

/// The reading end. Move-only; at most one task awaits it. Awaiting yields result<T>: the
/// value, the error the promise was resolved with, errc::broken_promise if the promise was
/// destroyed unresolved, or operation_canceled if the awaiting task was cancelled. An
/// exception set on the promise is rethrown.
template <typename T>
class [[nodiscard]] future {
public:
    /// Takes the state of `other`, which is left empty.
    future(future&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
    /// Drops the current state and takes `other`'s.
    future& operator=(future&& other) noexcept {
        if (this != &other) {
            drop();
            state_ = std::exchange(other.state_, nullptr);
        }
        return *this;
    }
    future(const future&) = delete;
    future& operator=(const future&) = delete;
    ~future() { drop(); }

    /// Whether the promise has been resolved (or destroyed), so awaiting will not suspend.
    bool ready() const noexcept { return state_ && state_->ready(); }

    bool await_ready() const noexcept { return state_->ready(); }

    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) noexcept {
        assert(!state_->waiter && "a future is awaited by one task at a time");
        cancel_source* source = detail::cancellation_of(waiter);
        if (source != nullptr && source->requested()) {
            state_->cancelled = true;
            return false;
        }
        state_->loop = &scheduler::current();
        state_->waiter = waiter;
        state_->waiter_handle = waiter;
        state_->on_cancel.attach(
            source,
            [](void* self) noexcept {
                auto* state = static_cast<detail::future_state<T>*>(self);
                state->cancelled = true;
                state->wake();
            },
            state_);
        return true;
    }

    result<T> await_resume() {
        state_->scheduled = false;
        state_->waiter_handle = {};
        auto& outcome = state_->outcome;
        switch (outcome.index()) {
        case 1:
            if constexpr (std::is_void_v<T>) {
                return {};
            } else {
                return std::move(std::get<1>(outcome));
            }
        case 2:
            return std::get<2>(outcome);
        case 3:
            std::rethrow_exception(std::get<3>(outcome));
        default:
            assert(state_->cancelled);
            state_->cancelled = false;
            return std::make_error_code(std::errc::operation_canceled);
        }
    }

private:
    friend class promise<T>;
    explicit future(detail::future_state<T>* state) noexcept : state_(state) {}

    void drop() noexcept {
        if (!state_) return;
        state_->future_alive = false;
        state_->waiter = {};
        if (state_->scheduled) state_->loop->unschedule(state_->waiter_handle);
        state_->on_cancel.reset();
        std::exchange(state_, nullptr)->release();
    }

    detail::future_state<T>* state_;
};

/// The writing end. Resolve it once; destroying it unresolved wakes the waiter with
/// errc::broken_promise.
template <typename T>
class promise {
public:
    promise() : state_(new detail::future_state<T>) {}
    /// Takes the state of `other`, which is left empty.
    promise(promise&& other) noexcept
        : state_(std::exchange(other.state_, nullptr))
        , future_taken_(other.future_taken_) {}
    /// Drops the current state (breaking its promise if unresolved) and takes `other`'s.
    promise& operator=(promise&& other) noexcept {
        if (this != &other) {
            drop();
            state_ = std::exchange(other.state_, nullptr);
            future_taken_ = other.future_taken_;
        }
        return *this;
    }
    promise(const promise&) = delete;
    promise& operator=(const promise&) = delete;
    ~promise() { drop(); }

    /// The future of this promise; call once.
    future<T> get_future() {
        assert(!future_taken_ && "get_future is called once");
        future_taken_ = true;
        return future<T>(state_);
    }

    /// Resolves with a value made from `args` and wakes the waiting task, if any.
    template <typename... Args>
    void set_value(Args&&... args) {
        state_->resolve(std::in_place_index<1>, std::forward<Args>(args)...);
    }
    /// Resolves with `error`: the awaiting task gets it as its result's error.
    void set_error(std::error_code error) { state_->resolve(std::in_place_index<2>, error); }
    /// Resolves with an exception, rethrown in the awaiting task.
    void set_exception(std::exception_ptr error) { state_->resolve(std::in_place_index<3>, error); }

    /// Whether a value, error or exception has been set.
    bool resolved() const noexcept { return state_->ready(); }
    /// True once the future is gone: nobody will read a value set now.
    bool abandoned() const noexcept { return !future_taken_ ? false : !state_->future_alive; }

private:
    void drop() noexcept {
        if (!state_) return;
        if (!state_->ready())
            state_->resolve(std::in_place_index<2>, make_error_code(errc::broken_promise));
        if (!future_taken_) --state_->references; // the future's reference was never handed out
        std::exchange(state_, nullptr)->release();
    }

    detail::future_state<T>* state_;
    bool future_taken_ = false;
};

} // namespace snow
