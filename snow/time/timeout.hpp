// snow/time/timeout.hpp: with_timeout(x, duration). For a single io_uring operation the
// deadline is a linked timeout in the kernel; for a task (any chain of awaits) it is a timer
// that cancels the task's cancellation scope, which cancels whatever operation is in flight.
// Either way the result is std::errc::timed_out, delivered only after the kernel has
// returned the cancelled operation's completion.
#pragma once

#include <chrono>
#include <system_error>
#include <type_traits>

#include "snow/core/task.hpp"
#include "snow/io/operation.hpp"
#include "snow/time/sleep.hpp"

namespace snow {

namespace detail {
template <typename T>
struct is_result : std::false_type {};
template <typename T>
struct is_result<result<T>> : std::true_type {};

/// A timer that cancels `source` when it expires.
class cancel_timer {
public:
    cancel_timer(cancel_source& source, clock::time_point deadline)
        : loop_(&io::event_loop::current())
        , source_(&source) {
        node_.deadline = deadline;
        node_.context = this;
        node_.on_expire = [](io::timer_node* node) noexcept {
            auto* self = static_cast<cancel_timer*>(node->context);
            self->fired_ = true;
            self->source_->request();
        };
        loop_->timers().push(node_);
    }
    cancel_timer(const cancel_timer&) = delete;
    cancel_timer& operator=(const cancel_timer&) = delete;
    ~cancel_timer() {
        if (node_.queued()) loop_->timers().remove(node_);
    }
    bool fired() const noexcept { return fired_; }

private:
    io::event_loop* loop_;
    cancel_source* source_;
    io::timer_node node_;
    bool fired_ = false;
};
} // namespace detail

/// A single operation with a kernel-side deadline: `co_await with_timeout(s.recv(b), 2s)`.
template <typename Op, typename Rep, typename Period>
requires std::is_base_of_v<io::operation<std::remove_cvref_t<Op>>, std::remove_cvref_t<Op>>
auto with_timeout(Op&& op, std::chrono::duration<Rep, Period> duration) {
    return std::move(op).timeout(io::saturating_duration(duration));
}

/// A task under a deadline. When it expires the task is cancelled; a result<T> task whose
/// outcome is then operation_canceled reports timed_out instead. The task still runs to
/// its end (it sees cancellation everywhere it waits), so nothing is left in flight.
template <typename T, typename Rep, typename Period>
task<T> with_timeout(task<T> body, std::chrono::duration<Rep, Period> duration) {
    cancel_source scope(co_await current_cancellation{});
    detail::cancel_timer timer(scope, io::deadline_after(clock::now(), duration));
    // Moved into a local declared after the scope: if this frame is destroyed mid-flight,
    // the task (and the operations listening to the scope) goes first. A parameter would
    // outlive every local.
    task<T> t = with_cancellation(std::move(body), scope);
    if constexpr (std::is_void_v<T>) {
        co_await std::move(t);
    } else if constexpr (detail::is_result<T>::value) {
        T outcome = co_await std::move(t);
        if (!outcome && timer.fired() && outcome.error() == std::errc::operation_canceled)
            co_return T(std::make_error_code(std::errc::timed_out));
        co_return outcome;
    } else {
        co_return co_await std::move(t);
    }
}

} // namespace snow
