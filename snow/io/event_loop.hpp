// snow/io/event_loop.hpp: one per thread. Owns the ring, the ready queue and the timers; each
// turn resumes ready coroutines, then submits everything they queued and waits for
// completions in a single io_uring_enter.
#pragma once

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "snow/core/detail/join.hpp"
#include "snow/core/detail/task_set.hpp"
#include "snow/core/export.hpp"
#include "snow/core/scheduler.hpp"
#include "snow/core/task.hpp"
#include "snow/io/buffer_pool.hpp"
#include "snow/io/completion.hpp"
#include "snow/io/ready_queue.hpp"
#include "snow/io/ring.hpp"
#include "snow/io/timer_queue.hpp"

namespace snow::io {

/// Everything a loop counts; a benchmark or a user reads them through event_loop::stats().
struct loop_stats {
    /// The ring's counters.
    ring_stats ring;
    std::uint64_t turns = 0;       ///< loop iterations
    std::uint64_t resumptions = 0; ///< coroutines resumed from the ready queue
    /// Timers that reached their deadline.
    std::uint64_t timers_fired = 0;
    /// Turns in which a timer fired and a completion arrived too: the two raced, and the
    /// turn's order (timers first, then completions) decided between them.
    std::uint64_t timer_completion_turns = 0;
    /// Tasks given to spawn().
    std::uint64_t spawned = 0;
    /// Pooled receives that completed with -ENOBUFS because every receive buffer was taken
    /// (their owners try again on a later turn): how often receive_buffers.count was too few.
    std::uint64_t receive_buffers_exhausted = 0;
};

/// The loop's provided buffers (see receive_buffers()). They are held only from a
/// completion until its owner copies the bytes out, so `count` bounds how many receives can
/// complete in one turn, not how many can wait. A count of 0 turns pooled receives off.
struct receive_buffer_options {
    unsigned count = 512; ///< a power of two, or 0
    /// The size of each buffer in bytes.
    std::size_t size = 2048;
};

/// SNOW_RING_ENTRIES and SNOW_RECEIVE_BUFFERS, when set, override `ring.entries` and
/// `receive_buffers.count` of every loop: for squeezing a deployment or a test suite into
/// tiny rings without rebuilding it.
struct loop_options {
    /// The ring's queue sizes and its opt-in kernel modes (SQPOLL, NAPI busy polling).
    ring_options ring;
    /// The provided receive buffers.
    receive_buffer_options receive_buffers;
};

/// Something a layer above keeps once per loop (the name resolver's channel, say), found by
/// event_loop::service<T>(). It is destroyed with the loop: after the loop's own tasks (which
/// may still use it) and before the ring (which its operations need to end).
class SNOW_API loop_service {
public:
    virtual ~loop_service();
};

class event_loop;
/// A thread-safe way to reach a loop that may have been destroyed meanwhile: post() returns
/// false once the loop is gone. Hand it to worker threads.
class SNOW_API loop_handle {
public:
    /// A handle to `loop`; made by the loop, obtained with event_loop::handle().
    explicit loop_handle(event_loop* loop) noexcept : loop_(loop) {}
    /// Runs `fn` on the loop's thread, as event_loop::post() does, and returns true; returns
    /// false, dropping `fn`, when the loop is gone. Thread-safe.
    bool post(std::function<void()> fn);

private:
    friend class event_loop;
    std::mutex mutex_;
    event_loop* loop_;
};

/// One io_uring loop bound to one thread. Each turn resumes the coroutines that are ready,
/// expires timers, then submits everything they queued and waits for completions in a single
/// `io_uring_enter`. snow::run() and snow::run_threads() create and drive loops; use it
/// directly to run several tasks on a loop you manage.
class SNOW_API event_loop final : public scheduler {
public:
    /// Creates a loop bound to the calling thread. Errors: the ring's (no io_uring, …).
    static result<std::unique_ptr<event_loop>> create(loop_options options = {});
    ~event_loop() override;
    event_loop(const event_loop&) = delete;
    event_loop& operator=(const event_loop&) = delete;

    /// The loop of the calling thread; there must be one.
    static event_loop& current() noexcept;
    /// The loop of the calling thread, or null when there is none.
    static event_loop* current_or_null() noexcept;

    /// Drives the loop until `t` completes and returns its value or rethrows its exception.
    /// Tasks spawned meanwhile keep running while the loop runs; the ones still suspended
    /// when the loop is destroyed are destroyed with it (their operations cancelled).
    template <typename T>
    T run(task<T> t);

    /// Starts `t` detached on the next turn. An exception escaping it is reported on stderr
    /// and does not stop the loop. The loop owns it: one still suspended when the loop is
    /// destroyed is destroyed then, after the newer ones. A task that others depend on
    /// belongs in a task_group owned by them instead.
    void spawn(task<void> t);

    /// Resumes `handle` on a later turn of this loop. Loop thread only.
    void schedule(std::coroutine_handle<> handle) override { ready_.push(handle); }
    /// Takes back a schedule() whose coroutine is being destroyed before it ran.
    void unschedule(std::coroutine_handle<> handle) noexcept override { ready_.remove(handle); }

    /// Calls `fn(arg)` at the start of a later turn, before the coroutines scheduled for it:
    /// for a request started with no coroutine awaiting it (operation::start), whose
    /// completion must not run its owner's code inside a reap. Loop thread only.
    void defer(void (*fn)(void*) noexcept, void* arg) { deferred_.push_back({fn, arg}); }
    /// Takes back the defer() calls for `arg`, whose object is being destroyed first.
    void undefer(void* arg) noexcept;

    /// Runs `fn` on the loop thread. The one call that is safe from any thread.
    void post(std::function<void()> fn);

    /// Makes the innermost run() return after the current turn. Thread-safe.
    void stop();

    /// For other threads that must post back to this loop after doing work (the resolver).
    std::shared_ptr<loop_handle> handle() const noexcept { return handle_; }

    // --- for operations ---
    /// The loop's ring, for operations to take submission entries from.
    ring& io() noexcept { return ring_; }
    /// The loop's timers, for sleeps and deadlines.
    timer_queue& timers() noexcept { return timers_; }
    /// The loop's provided buffers for receives that wait without a buffer of their own
    /// (recv_pooled_op), set up on first use; null where the kernel lacks them (< 5.19) or
    /// the loop's options turned them off.
    buffer_pool* receive_buffers();
    /// The time taken at the start of this turn; timers compare against it.
    clock::time_point now() const noexcept { return now_; }

    /// Asks the kernel to cancel the request whose user_data is `target`; its completion
    /// then arrives with -ECANCELED (or as it was, if it had already finished).
    void cancel(completion* target);

    /// Cancels `target` and reaps completions (queueing, not resuming, their waiters) until
    /// `finished()` holds. For destructors of operations the kernel still owns: their memory
    /// must not be freed while the kernel may write to it.
    template <typename Predicate>
    void cancel_and_wait(completion* target, Predicate finished) {
        if (finished()) return;
        cancel(target);
        while (!finished()) {
            ring_.submit_and_wait(std::nullopt);
            reap();
        }
    }

    /// This loop's `T` (a loop_service made by `T()` on first use). Loop thread only.
    template <typename T>
    T& service() {
        static const char key = 0; // one address per service type
        if (loop_service* found = find_service(&key)) return *static_cast<T*>(found);
        return static_cast<T&>(add_service(&key, std::make_unique<T>()));
    }

    /// The loop's counters so far: submissions, completions, enters, overflows, turns...
    loop_stats stats() const noexcept {
        loop_stats s = stats_;
        s.ring = ring_.stats();
        if (receive_buffers_) s.receive_buffers_exhausted = receive_buffers_->exhausted();
        return s;
    }

private:
    explicit event_loop(ring r);

    void run_until(const bool& done);
    void turn(const bool& done);
    unsigned reap();
    void arm_wakeup();
    void drain_posted();
    loop_service* find_service(const void* key) noexcept;
    loop_service& add_service(const void* key, std::unique_ptr<loop_service> s);

    struct deferred_call {
        void (*fn)(void*) noexcept; // null once taken back
        void* arg;
    };
    void run_deferred();

    ring ring_;
    ready_queue ready_;
    // defer()'s calls: the ones queued for the next turn, and the ones of this turn while
    // they run (two vectors that swap, so neither allocates once grown).
    std::vector<deferred_call> deferred_;
    std::vector<deferred_call> running_;
    timer_queue timers_;
    clock::time_point now_ = clock::now();
    loop_stats stats_;
    bool stop_requested_ = false;

    // Cross-thread hand-off: other threads push under the mutex and write the eventfd once;
    // a read on the eventfd is always armed in the ring.
    struct wakeup_read : completion {
        event_loop* loop;
        std::uint64_t value = 0;
        bool armed = false;
        bool fired = false;
        bool closing = false;
    };
    int wakeup_fd_ = -1;
    wakeup_read wakeup_{};
    std::mutex posted_mutex_;
    std::vector<std::function<void()>> posted_;
    std::atomic<bool> wakeup_pending_{false};
    std::atomic<bool> stop_posted_{false};

    receive_buffer_options receive_buffer_options_;
    std::unique_ptr<buffer_pool> receive_buffers_;
    bool receive_buffers_tried_ = false;

    // Every task the loop owns: spawn()ed ones and run()'s root, destroyed newest first.
    snow::detail::task_set detached_;
    // Services in the order they were made; destroyed newest first, after detached_.
    std::vector<std::pair<const void*, std::unique_ptr<loop_service>>> services_;
    std::shared_ptr<loop_handle> handle_;
};

namespace detail {

template <typename T>
struct run_state {
    bool done = false;
    snow::detail::outcome<T> result; // the task's value or exception
};

template <typename T>
task<void> run_root(task<T> t, run_state<T>& state) {
    co_await snow::detail::capture(std::move(t), state.result);
    state.done = true;
}

} // namespace detail

template <typename T>
T event_loop::run(task<T> t) {
    detail::run_state<T> state;
    auto root = detail::run_root(std::move(t), state).release();
    detached_.adopt(root);
    schedule(root);
    run_until(state.done);
    if (!state.done) {
        // stop() came first: the root refers to `state`, so it cannot outlive this call.
        detached_.destroy(root);
        throw std::runtime_error("snow: the loop was stopped before the task finished");
    }
    if constexpr (std::is_void_v<T>) {
        (void)state.result.take(); // rethrows the task's exception
    } else {
        return state.result.take();
    }
}

} // namespace snow::io
