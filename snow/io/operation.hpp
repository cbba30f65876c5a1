// snow/io/operation.hpp: the base of every single-shot io_uring request awaited by a
// coroutine. The operation lives in the awaiting frame and its address is the user_data.
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

#include "snow/core/result.hpp"
#include "snow/io/completion.hpp"
#include "snow/io/event_loop.hpp"

namespace snow::io {

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
        timeout_.emplace(to_kernel_timespec(timeout));
        return ref{static_cast<Derived&>(*this)};
    }

    /// Listens to `source` instead of the awaiting task's cancellation, for a wait that
    /// one party may end without touching the task's other operations (a server closing
    /// idle connections): `co_await s.recv(b).cancelled_by(idle)`.
    ref cancelled_by(cancel_source& source) && noexcept {
        cancel_by_ = &source;
        return ref{static_cast<Derived&>(*this)};
    }

    bool await_ready() const noexcept { return false; }

    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) noexcept {
        cancel_source* source =
            cancel_by_ != nullptr ? cancel_by_ : snow::detail::cancellation_of(waiter);
        if (source != nullptr && source->requested()) {
            result_ = -ECANCELED;
            cancelled_ = true;
            return false;
        }
        loop_ = &event_loop::current();
        ring& r = loop_->io();
        // A linked pair must reach the kernel in one submission: next_sqe() flushes a full
        // SQ, which would split it, so room for both is made before either is taken.
        r.reserve(timeout_ ? 2 : 1);
        io_uring_sqe& sqe = r.next_sqe();
        static_cast<Derived*>(this)->prepare(sqe);
        io_uring_sqe_set_data(&sqe, static_cast<completion*>(this));
        if (timeout_) {
            sqe.flags |= IOSQE_IO_LINK;
            io_uring_sqe& link = r.next_sqe();
            io_uring_prep_link_timeout(&link, &*timeout_, 0);
            io_uring_sqe_set_data64(&link, 0);
        }
        waiter_ = waiter;
        state_ = state::in_flight;
        on_cancel_.attach(source, &operation::request_cancel, this);
        return true;
    }

    auto await_resume() {
        state_ = state::idle;
        using value = decltype(static_cast<Derived*>(this)->finish(0));
        if (result_ == -ECANCELED) {
            if (cancelled_) return value(std::make_error_code(std::errc::operation_canceled));
            if (timeout_) return value(std::make_error_code(std::errc::timed_out));
        }
        return static_cast<Derived*>(this)->finish(result_);
    }

protected:
    std::uint32_t cqe_flags() const noexcept { return flags_; }

    /// For the destructor of an operation whose completion can carry a resource (a provided
    /// buffer): ends the request as the base destructor would, and returns the CQE flags of
    /// a completion that nobody will claim because the awaiting task is being destroyed.
    std::optional<std::uint32_t> settle_unclaimed() noexcept {
        if (state_ == state::in_flight) {
            abandoned_ = true;
            on_cancel_.reset();
            loop_->cancel_and_wait(this, [this] { return state_ != state::in_flight; });
        } else if (state_ == state::done) {
            loop_->unschedule(waiter_);
        } else {
            return std::nullopt;
        }
        state_ = state::idle;
        return flags_;
    }

private:
    enum class state : std::uint8_t { idle, in_flight, done };

    static void complete(completion* self, const io_uring_cqe& cqe) noexcept {
        auto* op = static_cast<operation*>(self);
        op->result_ = cqe.res;
        op->flags_ = cqe.flags;
        op->state_ = state::done;
        op->on_cancel_.reset();
        if (!op->abandoned_) op->loop_->schedule(op->waiter_);
    }

    static void request_cancel(void* self) noexcept {
        auto* op = static_cast<operation*>(self);
        op->cancelled_ = true;
        op->loop_->cancel(op);
    }

    event_loop* loop_ = nullptr;
    std::coroutine_handle<> waiter_;
    cancel_callback on_cancel_;
    cancel_source* cancel_by_ = nullptr;
    std::optional<__kernel_timespec> timeout_;
    int result_ = 0;
    std::uint32_t flags_ = 0;
    state state_ = state::idle;
    bool abandoned_ = false;
    bool cancelled_ = false;
};

/// The one place a CQE result becomes a C++ value: negative results are errno values.
inline result<std::size_t> size_from_cqe(int res) noexcept {
    if (res < 0) return system_error_code(-res);
    return static_cast<std::size_t>(res);
}
inline result<void> void_from_cqe(int res) noexcept {
    if (res < 0) return system_error_code(-res);
    return {};
}

} // namespace snow::io
