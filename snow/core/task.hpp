// snow/core/task.hpp: task<T>, the lazy coroutine every snow program is written in. Awaiting a
// task starts it; a task that finishes at once lets its awaiter continue without suspending,
// and one that finishes later resumes it by symmetric transfer, so chains of awaits run in
// constant stack. Exceptions travel to the awaiter.
#pragma once

#include <cassert>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <type_traits>
#include <utility>
#include <variant>

#include "snow/core/cancel.hpp"
#include "snow/core/detail/frame_allocator.hpp"
#include "snow/core/export.hpp"

namespace snow {

/// A lazy coroutine producing a T (see task<T> below).
template <typename T = void>
class task;

namespace detail {

template <typename T>
class task_promise;

class task_set;
class promise_base;

/// Called by a task that belongs to a task_set (spawned on the loop or into a task_group)
/// when it finishes: reports an escaping exception and frees the frame. See task_set.hpp.
/// Exported: the inline final_awaiter below calls it.
SNOW_API void finish_owned(std::coroutine_handle<task_promise<void>> task) noexcept;

/// What every snow coroutine promise shares: the continuation to resume at the end, and the
/// cancellation source that operations awaited inside it listen to.
class promise_base {
public:
    static void* operator new(std::size_t size) { return allocate_frame(size); }
    static void operator delete(void* frame, std::size_t size) noexcept { free_frame(frame, size); }

    std::suspend_always initial_suspend() noexcept { return {}; }

    struct final_awaiter {
        bool await_ready() noexcept { return false; }
        template <typename Promise>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> self) noexcept {
            promise_base& promise = self.promise();
            if (promise.owned_) {
                // Nobody awaits it: it frees itself (only task<void> can be owned by a set).
                if constexpr (std::is_same_v<Promise, task_promise<void>>) finish_owned(self);
                return std::noop_coroutine();
            }
            if (promise.starting_) {
                // Finished while its awaiter is still starting it: the awaiter carries on
                // by returning false from await_suspend, so nothing is resumed here.
                promise.finished_while_starting_ = true;
                return std::noop_coroutine();
            }
            auto next = promise.link_.continuation;
            return next ? next : std::noop_coroutine();
        }
        void await_resume() noexcept {}
    };
    final_awaiter final_suspend() noexcept { return {}; }

    cancel_source* cancellation() const noexcept { return cancellation_; }

private:
    template <typename>
    friend class snow::task;
    friend struct promise_access;
    friend class task_set;

    void set_continuation(std::coroutine_handle<> next) noexcept {
        assert(!owned_ && "a task owned by a set is never awaited");
        link_.continuation = next;
    }
    /// Starts the coroutine `self` on behalf of an awaiter. Returns true if it finished
    /// synchronously, so the awaiter continues without suspending. This keeps the stack
    /// flat for chains of immediately-completing awaits even where the compiler does not
    /// turn symmetric transfer into a tail call (GCC at -O0, sanitizer builds).
    bool start_inline(std::coroutine_handle<> self) noexcept {
        starting_ = true;
        self.resume();
        starting_ = false;
        return finished_while_starting_;
    }

    friend void finish_owned(std::coroutine_handle<task_promise<void>> task) noexcept;
    // An awaited task resumes its continuation; a task in a task_set (spawned, or a
    // task_group's child) is never awaited and reports to its set instead.
    union link {
        std::coroutine_handle<> continuation{};
        task_set* owner;
    } link_;
    cancel_source* cancellation_ = nullptr;
    bool owned_ = false;
    bool starting_ = false;
    bool finished_while_starting_ = false;
};

/// The promise internals that snow/core's own awaiters and combinators use.
struct promise_access {
    /// Binds the task to `source` (null: unbound, it inherits its awaiter's).
    static void bind(promise_base& promise, cancel_source* source) noexcept {
        promise.cancellation_ = source;
    }
    /// Binds the task to `source` unless it is bound already.
    static void bind_if_unbound(promise_base& promise, cancel_source* source) noexcept {
        if (promise.cancellation_ == nullptr) promise.cancellation_ = source;
    }
};

/// The cancellation source of the coroutine behind `handle`, if it is a snow coroutine.
template <typename Promise>
cancel_source* cancellation_of(std::coroutine_handle<Promise> handle) noexcept {
    if constexpr (std::is_base_of_v<promise_base, Promise>) {
        return handle.promise().cancellation();
    } else {
        return nullptr;
    }
}

template <typename T>
class task_promise final : public promise_base {
public:
    task<T> get_return_object() noexcept;
    void unhandled_exception() noexcept { state_.template emplace<2>(std::current_exception()); }

    template <typename U>
    requires std::is_convertible_v<U&&, T>
    void return_value(U&& value) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
        state_.template emplace<1>(std::forward<U>(value));
    }

    T take() {
        if (state_.index() == 2) std::rethrow_exception(std::get<2>(state_));
        assert(state_.index() == 1 && "task result taken before it completed");
        return std::move(std::get<1>(state_));
    }

private:
    std::variant<std::monostate, T, std::exception_ptr> state_;
};

template <>
class task_promise<void> final : public promise_base {
public:
    task<void> get_return_object() noexcept;
    void unhandled_exception() noexcept { exception_ = std::current_exception(); }
    void return_void() noexcept {}
    void take() {
        if (exception_) std::rethrow_exception(exception_);
    }
    const std::exception_ptr& exception() const noexcept { return exception_; }

private:
    friend class task_set;
    std::exception_ptr exception_;
    // The owning set's intrusive list, newest first, so teardown order is the set's. Only
    // task<void> is ever owned, so only its frames carry the links.
    task_promise* newer_ = nullptr;
    task_promise* older_ = nullptr;
};

} // namespace detail

template <typename T>
class [[nodiscard]] task {
public:
    using promise_type = detail::task_promise<T>;            ///< for the compiler
    using handle_type = std::coroutine_handle<promise_type>; ///< the coroutine itself
    using value_type = T;                                    ///< what awaiting it yields

    /// An empty task: valid() is false.
    task() noexcept = default;
    /// Takes ownership of a coroutine (the promise makes tasks this way).
    explicit task(handle_type handle) noexcept : handle_(handle) {}
    /// Moves the coroutine out of `other`, which becomes empty.
    task(task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
    /// Destroys the coroutine held, then takes `other`'s.
    task& operator=(task&& other) noexcept {
        if (this != &other) {
            destroy();
            handle_ = std::exchange(other.handle_, {});
        }
        return *this;
    }
    task(const task&) = delete;
    task& operator=(const task&) = delete;
    /// Destroying a task that is suspended inside an operation cancels that operation and
    /// waits for the kernel to let go of its buffers (see io::operation).
    ~task() { destroy(); }

    /// Whether it holds a coroutine.
    bool valid() const noexcept { return static_cast<bool>(handle_); }
    /// Whether it holds a coroutine that has finished.
    bool done() const noexcept { return handle_ && handle_.done(); }

    /// What `co_await std::move(t)` uses: starts the task, resumes the awaiter with its
    /// value (or exception) when it finishes.
    class awaiter {
    public:
        /// Awaits the coroutine `handle`.
        explicit awaiter(handle_type handle) noexcept : handle_(handle) {}
        bool await_ready() noexcept { return false; }
        template <typename Promise>
        bool await_suspend(std::coroutine_handle<Promise> caller) noexcept {
            auto& promise = handle_.promise();
            promise.set_continuation(caller);
            detail::promise_access::bind_if_unbound(promise, detail::cancellation_of(caller));
            return !promise.start_inline(handle_);
        }
        T await_resume() { return handle_.promise().take(); }

    private:
        handle_type handle_;
    };

    /// Awaiting a task (an rvalue: `co_await std::move(t)` or a call) starts it.
    awaiter operator co_await() && noexcept {
        assert(handle_ && "awaiting an empty or moved-from task");
        return awaiter{handle_};
    }

    /// For combinators and the loop: the coroutine itself.
    handle_type handle() const noexcept { return handle_; }
    /// Gives up ownership of the coroutine, for the loop and task sets that take it over.
    handle_type release() noexcept { return std::exchange(handle_, {}); }

private:
    void destroy() noexcept {
        if (handle_) std::exchange(handle_, {}).destroy();
    }

    handle_type handle_;
};

namespace detail {
template <typename T>
task<T> task_promise<T>::get_return_object() noexcept {
    return task<T>{std::coroutine_handle<task_promise>::from_promise(*this)};
}
inline task<void> task_promise<void>::get_return_object() noexcept {
    return task<void>{std::coroutine_handle<task_promise>::from_promise(*this)};
}
} // namespace detail

/// Binds `t` to `source`: the operations it awaits are cancelled when `source` is. The same
/// task comes back, so this costs no frame: `co_await with_cancellation(flush(), scope)`.
/// A task left unbound inherits the cancellation of whoever awaits it.
template <typename T>
task<T> with_cancellation(task<T> t, cancel_source& source) noexcept {
    detail::promise_access::bind(t.handle().promise(), &source);
    return t;
}

namespace detail {
/// Awaits `t` as `co_await` does and, only if `t` suspends instead of finishing at once,
/// calls `on_suspend()` before the awaiting coroutine suspends in turn. The server starts a
/// handler's watcher this way, so a handler that answers at once pays nothing for it.
template <typename T, typename OnSuspend>
class hooked_awaiter : public task<T>::awaiter {
public:
    hooked_awaiter(task<T>& t, OnSuspend& on_suspend) noexcept
        : task<T>::awaiter(t.handle())
        , on_suspend_(on_suspend) {}
    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> caller) {
        if (!task<T>::awaiter::await_suspend(caller)) return false;
        on_suspend_();
        return true;
    }

private:
    OnSuspend& on_suspend_;
};
} // namespace detail

namespace detail {
/// A source that is never cancelled, one per thread: binding a task to it shields the task
/// from its awaiter's cancellation.
inline cancel_source& never_cancelled() noexcept {
    thread_local cancel_source source;
    return source;
}
} // namespace detail

/// `t`, unaffected by the cancellation of whoever awaits it: for work that must finish, such
/// as a drain or a join. Its own deadlines still apply.
template <typename T>
task<T> shielded(task<T> t) noexcept {
    return with_cancellation(std::move(t), detail::never_cancelled());
}

/// Awaiting this yields the cancellation source of the current task (null when none).
struct current_cancellation {
    cancel_source* source = nullptr; ///< filled in when awaited
    bool await_ready() noexcept { return false; }
    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> caller) noexcept {
        source = detail::cancellation_of(caller);
        return false;
    }
    cancel_source* await_resume() noexcept { return source; }
};

} // namespace snow
