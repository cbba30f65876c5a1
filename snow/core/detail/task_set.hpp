// snow/core/detail/task_set.hpp: the tasks one owner started and nobody awaits: the loop's
// spawned tasks, or a task_group's children. A task in a set frees itself when it finishes;
// the set destroys those still suspended when it goes, newest first, so teardown order is
// the set's and never depends on which unrelated task happened to finish first.
#pragma once

#include <coroutine>
#include <cstddef>

#include "snow/core/export.hpp"
#include "snow/core/task.hpp"

#include "snow/core/scheduler.hpp"

namespace snow::detail {

class task_set {
public:
    using handle = std::coroutine_handle<task_promise<void>>;
    using empty_callback = void (*)(void* context) noexcept;

    task_set() noexcept = default;
    task_set(const task_set&) = delete;
    task_set& operator=(const task_set&) = delete;
    ~task_set() { destroy_all(); }

    /// Takes ownership of `t`, which must not have started. The caller starts it.
    SNOW_API void adopt(handle t) noexcept;
    /// Destroys one task of the set, started or not (see destroy_all).
    SNOW_API void destroy(handle t) noexcept;
    /// Destroys every task still in the set, newest first; their operations are cancelled
    /// and reaped first (see io::operation), and a wake-up queued for a task that never ran
    /// is taken back from the scheduler.
    SNOW_API void destroy_all() noexcept;

    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    /// Run each time the last task finishes (for a join).
    void on_empty(empty_callback fn, void* context) noexcept {
        on_empty_ = fn;
        on_empty_context_ = context;
    }
    /// The scheduler the set's tasks were scheduled on, for destroy_all's take-back.
    void set_scheduler(scheduler* s) noexcept { scheduler_ = s; }

private:
    friend void finish_owned(handle task) noexcept;
    void unlink(task_promise<void>& p) noexcept;

    task_promise<void>* newest_ = nullptr;
    std::size_t size_ = 0;
    scheduler* scheduler_ = nullptr;
    empty_callback on_empty_ = nullptr;
    void* on_empty_context_ = nullptr;
};

} // namespace snow::detail
