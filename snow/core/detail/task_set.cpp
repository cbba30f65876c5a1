// snow/core/detail/task_set.cpp: an intrusive list of owned tasks, newest first: adopting and
// finishing are O(1), and teardown walks it in a defined order.
#include "snow/core/detail/task_set.hpp"

#include <fmt/format.h>

#include <exception>

namespace snow::detail {

namespace {
void report(const std::exception_ptr& failure) noexcept {
    try {
        std::rethrow_exception(failure);
    } catch (const std::exception& e) {
        fmt::print(stderr, "snow: a spawned task failed: {}\n", e.what());
    } catch (...) {
        fmt::print(stderr, "snow: a spawned task failed with a non-standard exception\n");
    }
}

} // namespace

void task_set::adopt(handle t) noexcept {
    task_promise<void>& p = t.promise();
    p.owned_ = true;
    p.link_.owner = this;
    p.older_ = newest_;
    p.newer_ = nullptr;
    if (newest_) newest_->newer_ = &p;
    newest_ = &p;
    ++size_;
}

void task_set::unlink(task_promise<void>& p) noexcept {
    (p.newer_ ? p.newer_->older_ : newest_) = p.older_;
    if (p.older_) p.older_->newer_ = p.newer_;
    p.newer_ = p.older_ = nullptr;
    p.owned_ = false;
    p.link_.continuation = nullptr;
    --size_;
}

void task_set::destroy(handle t) noexcept {
    // Taken off the list before it is destroyed: a destructor may finish, spawn or destroy
    // other tasks of this set.
    unlink(t.promise());
    if (scheduler_ != nullptr) scheduler_->unschedule(t); // adopted but never started
    t.destroy();
}

void task_set::destroy_all() noexcept {
    while (newest_ != nullptr) destroy(handle::from_promise(*newest_));
}

void finish_owned(task_set::handle task) noexcept {
    task_set& set = *task.promise().link_.owner;
    set.unlink(task.promise());
    if (task.promise().exception()) report(task.promise().exception());
    task.destroy();
    if (set.size_ == 0 && set.on_empty_ != nullptr) set.on_empty_(set.on_empty_context_);
}

} // namespace snow::detail
