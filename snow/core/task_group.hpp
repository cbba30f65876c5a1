// snow/core/task_group.hpp: structured concurrency on one loop (a nursery). A group starts child
// tasks, can cancel them all, and can be awaited until every one has finished. Whoever owns
// the group owns its children: destroying the group destroys the children still running
// (their operations cancelled and reaped first), so nothing a child refers to in its owner
// can be freed under it.
#pragma once

#include <coroutine>
#include <cstddef>
#include <utility>

#include "snow/core/cancel.hpp"
#include "snow/core/detail/task_set.hpp"
#include "snow/core/scheduler.hpp"
#include "snow/core/task.hpp"

namespace snow {

/// The owner of the child tasks it starts (a nursery): spawn() starts one, cancel() cancels
/// them all, `co_await group.join()` waits until every one has finished. Destroying the group
/// destroys the children still running, so nothing a child uses can be freed under it.
class task_group {
public:
    class join_awaiter;

    task_group() noexcept { children_.on_empty(&task_group::wake_joiner, this); }
    task_group(const task_group&) = delete;
    task_group& operator=(const task_group&) = delete;
    /// Children still running are destroyed, newest first; a task joining is woken.
    ~task_group() {
        children_.destroy_all();
        wake_joiner(this);
        if (joiner_ != nullptr) joiner_->group_ = nullptr;
    }

    /// Starts `child` on the next turn of the current loop. A child not bound to a
    /// cancellation source of its own (with_cancellation) is bound to the group's, so
    /// cancel() reaches it. An exception escaping a child is reported on stderr.
    void spawn(task<void> child) {
        scheduler* loop = &scheduler::current();
        children_.set_scheduler(loop);
        auto handle = child.release();
        detail::promise_access::bind_if_unbound(handle.promise(), &scope_);
        children_.adopt(handle);
        loop->schedule(handle);
    }

    /// Cancels every child bound to the group, now and later.
    void cancel() noexcept { scope_.request(); }
    /// Whether cancel() has been called (or the group's scope was cancelled otherwise).
    bool cancelled() const noexcept { return scope_.requested(); }
    /// The source the children listen to; link a child's own source to it with
    /// cancel_source(&group.scope()).
    cancel_source& scope() noexcept { return scope_; }

    /// The number of children still running.
    std::size_t size() const noexcept { return children_.size(); }
    /// Whether no child is running.
    bool empty() const noexcept { return children_.empty(); }

    /// Resumes once every child has finished (at once if none runs). Cancelling the task
    /// that waits cancels the children, and the wait still lasts until they have finished:
    /// a join never returns with children left running.
    class [[nodiscard]] join_awaiter {
    public:
        /// Waits for the children of `group`; made by task_group::join().
        explicit join_awaiter(task_group& group) noexcept : group_(&group) {}
        join_awaiter(const join_awaiter&) = delete;
        join_awaiter& operator=(const join_awaiter&) = delete;
        ~join_awaiter() {
            if (scheduled_) loop_->unschedule(waiter_);
            if (group_ != nullptr && group_->joiner_ == this) group_->joiner_ = nullptr;
        }

        bool await_ready() const noexcept { return group_->empty(); }
        template <typename Promise>
        void await_suspend(std::coroutine_handle<Promise> waiter) noexcept {
            waiter_ = waiter;
            loop_ = &scheduler::current();
            group_->joiner_ = this;
            on_cancel_.attach(
                detail::cancellation_of(waiter),
                [](void* self) noexcept {
                    auto* a = static_cast<join_awaiter*>(self);
                    if (a->group_ != nullptr) a->group_->cancel();
                },
                this);
        }
        void await_resume() noexcept {
            scheduled_ = false;
            on_cancel_.reset();
        }

    private:
        friend class task_group;
        task_group* group_; // null once the group is destroyed
        scheduler* loop_ = nullptr;
        std::coroutine_handle<> waiter_;
        cancel_callback on_cancel_;
        bool scheduled_ = false;
    };

    /// One task at a time may join.
    join_awaiter join() noexcept { return join_awaiter{*this}; }

private:
    static void wake_joiner(void* self) noexcept {
        join_awaiter* joiner = std::exchange(static_cast<task_group*>(self)->joiner_, nullptr);
        if (joiner == nullptr) return;
        joiner->group_ = nullptr;
        joiner->scheduled_ = true;
        joiner->loop_->schedule(joiner->waiter_);
    }

    cancel_source scope_;
    join_awaiter* joiner_ = nullptr;
    detail::task_set children_; // last: destroyed first, while scope_ is still there
};

} // namespace snow
