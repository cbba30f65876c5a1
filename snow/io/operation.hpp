// snow/io/operation.hpp: the base of every single-shot io_uring request awaited by a
// coroutine (or started with a callback, for waits that should cost no frame). The operation
// lives in the awaiting frame and its address is the user_data.
// Lifecycle: prepared → in flight → completed. Whatever ends it early (a linked timeout, a
// cancellation, destruction of the awaiting task) still waits for the request's own CQE, so
// the kernel never writes into memory that is gone.
#pragma once

#include <cerrno>
#include <chrono>
#include <coroutine>
#include <cstdint>
#include <optional>
#include <system_error>
#include <utility>

#include "snow/core/result.hpp"
#include "snow/io/completion.hpp"
#include "snow/io/detail/planted_bug.hpp"
#include "snow/io/event_loop.hpp"

namespace snow::io {

/// Ends one wait from outside the task that awaits it, without touching the task's other
/// operations: a server closes its idle keep-alive connections at a graceful stop this
/// way, while requests already under way carry on. It costs two pointers, where a
/// cancel_source of its own would cost a parent link and a list. A handle refers to at most
/// one request in flight; `interrupt()` when none is does nothing. Loop thread only.
class wait_handle {
public:
    /// What the handle asks of the request it holds: to end, or only to forget the handle.
    enum class action : bool { interrupt, forget };

    wait_handle() noexcept = default;
    wait_handle(const wait_handle&) = delete;
    wait_handle& operator=(const wait_handle&) = delete;
    ~wait_handle() { act(action::forget); }

    /// True while a request awaited with `.interruptible(*this)` is in flight.
    bool waiting() const noexcept { return op_ != nullptr; }

    /// Cancels that request: it ends with operation_canceled, unless its own completion
    /// got there first, in which case its result stands (bytes received are not lost).
    void interrupt() noexcept { act(action::interrupt); }

private:
    template <typename Derived>
    friend class operation;
    using function = void (*)(void* op, action what) noexcept;

    void hold(void* op, function fn) noexcept {
        op_ = op;
        fn_ = fn;
    }
    void release() noexcept { op_ = nullptr; }
    void act(action what) noexcept {
        if (op_ != nullptr) fn_(std::exchange(op_, nullptr), what);
    }

    void* op_ = nullptr;
    function fn_ = nullptr;
};

/// `Derived` provides `void prepare(io_uring_sqe&)` and `result<T> finish(int res)`.
template <typename Derived>
class operation : private completion {
public:
    operation() noexcept : completion{&operation::complete} {}
    operation(const operation&) = delete;
    operation& operator=(const operation&) = delete;

    ~operation() { (void)settle_unclaimed(); }

    /// Awaits a temporary operation by reference: the operation stays where it was made
    /// (its address is the user_data) for the whole co_await expression.
    class [[nodiscard]] ref {
    public:
        /// Refers to `op`, which must outlive the co_await expression.
        explicit ref(Derived& op) noexcept : op_(op) {}
        bool await_ready() const noexcept { return false; }
        template <typename Promise>
        bool await_suspend(std::coroutine_handle<Promise> waiter) noexcept {
            return op_.await_suspend(waiter);
        }
        auto await_resume() { return op_.await_resume(); }

    private:
        Derived& op_;
    };

    /// Ends the request with std::errc::timed_out if it has not completed after `timeout`;
    /// done in the kernel with a linked timeout: `co_await s.recv(b).timeout(2s)`.
    ref timeout(std::chrono::nanoseconds timeout) && noexcept {
        timeout_ = to_kernel_timespec(timeout);
        timed_ = true;
        return ref{static_cast<Derived&>(*this)};
    }

    /// Lets `handle` end this request while it is in flight, besides the awaiting task's
    /// cancellation: `co_await s.recv(b).interruptible(idle)`, then `idle.interrupt()`.
    ref interruptible(wait_handle& handle) && noexcept {
        handle_ = &handle;
        return ref{static_cast<Derived&>(*this)};
    }
    /// The same for an optional handle: null leaves the request as it is.
    ref interruptible(wait_handle* handle) && noexcept {
        handle_ = handle;
        return ref{static_cast<Derived&>(*this)};
    }

    /// What start() calls once the request has completed: the operation itself, whose
    /// result take() yields. It runs on a later turn of the loop, never inside a reap, and
    /// may destroy the operation.
    using on_done = void (*)(Derived& op) noexcept;

    /// Starts the request with no coroutine awaiting it, for a wait that should cost no
    /// coroutine frame (an idle keep-alive connection): `done` runs when it completes.
    /// `source` and `handle` (each may be null) end it early as they would an awaited
    /// request. False, with nothing started, when `source` is already cancelled.
    bool start(cancel_source* source, wait_handle* handle, on_done done) noexcept {
        if (source != nullptr && source->requested()) return false;
        loop_ = &event_loop::current();
        cancelled_ = false;
        submit();
        done_ = done;
        detached_ = true;
        state_ = state::in_flight;
        on_cancel_.attach(source, &operation::request_cancel, this);
        handle_ = handle;
        if (handle_ != nullptr) handle_->hold(this, &operation::from_handle);
        return true;
    }
    /// The result of a request begun with start(), for its on_done.
    auto take() { return await_resume(); }

    bool await_ready() const noexcept { return false; }

    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) noexcept {
        cancel_source* source = snow::detail::cancellation_of(waiter);
        if (source != nullptr && source->requested()) {
            result_ = -ECANCELED;
            cancelled_ = true;
            return false;
        }
        loop_ = &event_loop::current();
        submit();
        waiter_ = waiter;
        detached_ = false;
        state_ = state::in_flight;
        on_cancel_.attach(source, &operation::request_cancel, this);
        if (handle_ != nullptr) handle_->hold(this, &operation::from_handle);
        return true;
    }

    auto await_resume() {
        state_ = state::idle;
        using value = decltype(static_cast<Derived*>(this)->finish(0));
        if (result_ == -ECANCELED) {
            if (cancelled_) return value(std::make_error_code(std::errc::operation_canceled));
            if (timed_) return value(std::make_error_code(std::errc::timed_out));
        }
        return static_cast<Derived*>(this)->finish(result_);
    }

protected:
    /// The flags of the completion (a provided buffer's id, IORING_CQE_F_MORE).
    std::uint32_t cqe_flags() const noexcept { return flags_; }
    /// Whether the awaiting task (or a wait_handle) asked for this request to end early.
    bool cancel_requested() const noexcept { return cancelled_; }

    /// For the destructor of an operation whose completion can carry a resource (a provided
    /// buffer): ends the request as the base destructor would, and returns the CQE flags of
    /// a completion that nobody will claim because the awaiting task is being destroyed.
    std::optional<std::uint32_t> settle_unclaimed() noexcept {
        if (state_ == state::in_flight) {
            abandoned_ = true;
            on_cancel_.reset();
            release_handle();
            loop_->cancel_and_wait(this, [this] { return state_ != state::in_flight; });
        } else if (state_ == state::done) {
            if (detached_)
                loop_->undefer(this);
            else
                loop_->unschedule(waiter_);
        } else {
            return std::nullopt;
        }
        state_ = state::idle;
        return flags_;
    }

private:
    enum class state : std::uint8_t { idle, in_flight, done };

    void submit() noexcept {
        ring& r = loop_->io();
        // A linked pair must reach the kernel in one submission: next_sqe() flushes a full
        // SQ, which would split it, so room for both is made before either is taken.
        r.reserve(timed_ ? 2 : 1);
        io_uring_sqe& sqe = r.next_sqe();
        static_cast<Derived*>(this)->prepare(sqe);
        io_uring_sqe_set_data(&sqe, static_cast<completion*>(this));
        if (timed_) {
            sqe.flags |= IOSQE_IO_LINK;
            io_uring_sqe& link = r.next_sqe();
            io_uring_prep_link_timeout(&link, &timeout_, 0);
            io_uring_sqe_set_data64(&link, 0);
        }
    }

    static void complete(completion* self, const io_uring_cqe& cqe) noexcept {
        auto* op = static_cast<operation*>(self);
        int res = cqe.res;
        if (res == -EINTR) [[unlikely]] {
            // Only a cancel interrupts a request: the kernel signals the worker that runs a
            // blocking one, for our cancel, a linked timeout or the ring's exit. It ends
            // here as cancelled; submitted again, it would outlive the cancel.
            if (io::detail::planted_bug == io::detail::plant::retry_interrupted) [[unlikely]] {
                if (!op->abandoned_) {
                    op->submit();
                    return;
                }
            }
            res = -ECANCELED;
        }
        op->result_ = res;
        op->flags_ = cqe.flags;
        op->state_ = state::done;
        op->on_cancel_.reset();
        op->release_handle();
        if (!op->abandoned_) op->wake();
    }

    /// Resumes the awaiting coroutine, or calls a started request's on_done, on a later turn.
    void wake() noexcept {
        if (detached_)
            loop_->defer(&operation::call_done, this);
        else
            loop_->schedule(waiter_);
    }
    static void call_done(void* self) noexcept {
        auto* op = static_cast<operation*>(self);
        op->done_(static_cast<Derived&>(*op));
    }

    static void request_cancel(void* self) noexcept {
        auto* op = static_cast<operation*>(self);
        op->cancelled_ = true;
        op->loop_->cancel(op);
        // The waiter resumes from complete() alone: until the kernel's completion arrives,
        // the request may still write into its buffer, which the waiter owns again then.
        if (io::detail::planted_bug == io::detail::plant::resume_at_cancel) [[unlikely]] {
            op->result_ = -ECANCELED;
            op->abandoned_ = true; // the completion, when it comes, resumes nobody
            op->state_ = state::done;
            op->release_handle();
            op->wake();
        }
    }

    static void from_handle(void* self, wait_handle::action what) noexcept {
        auto* op = static_cast<operation*>(self);
        op->handle_ = nullptr; // the handle lets go either way
        if (what == wait_handle::action::interrupt) request_cancel(op);
    }

    void release_handle() noexcept {
        if (handle_ != nullptr) std::exchange(handle_, nullptr)->release();
    }

    event_loop* loop_ = nullptr;
    union {
        std::coroutine_handle<> waiter_{}; ///< the coroutine awaiting it
        on_done done_;                     ///< what to call instead, when begun by start()
    };
    cancel_callback on_cancel_;
    wait_handle* handle_ = nullptr;
    // Every awaiting frame holds its operation, so the flag that says whether a timeout is
    // set sits with the others rather than in a std::optional of its own (8 bytes less).
    __kernel_timespec timeout_{};
    int result_ = 0;
    std::uint32_t flags_ = 0;
    // One byte for the state and one for the flags: with the result and the CQE flags they
    // fill one 8-byte word, which every operation in every frame pays for.
    state state_ = state::idle;
    bool abandoned_ : 1 = false;
    bool cancelled_ : 1 = false;
    bool timed_ : 1 = false;    // timeout_ is set
    bool detached_ : 1 = false; // begun with start(): done_ rather than waiter_
};

/// The one place a CQE result becomes a C++ value: negative results are errno values.
inline result<std::size_t> size_from_cqe(int res) noexcept {
    if (res < 0) return system_error_code(-res);
    return static_cast<std::size_t>(res);
}
/// The same for requests whose success carries no value.
inline result<void> void_from_cqe(int res) noexcept {
    if (res < 0) return system_error_code(-res);
    return {};
}

} // namespace snow::io
