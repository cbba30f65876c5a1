// snow/detail/detached.cpp: the thread's detached tasks. A flat vector of handles, each
// task knowing its slot, so registering and finishing are O(1) and cost 8 bytes a task.
#include <fmt/format.h>

#include <exception>
#include <vector>

#include "snow/task.hpp"

namespace snow::detail {

namespace {
thread_local std::vector<std::coroutine_handle<task_promise<void>>> detached;

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

void register_detached(std::coroutine_handle<task_promise<void>> task) {
    task.promise().set_detached_slot(static_cast<std::uint32_t>(detached.size()));
    detached.push_back(task);
}

void finish_detached(std::coroutine_handle<task_promise<void>> task) noexcept {
    const std::uint32_t slot = task.promise().detached_slot();
    detached[slot] = detached.back();
    detached[slot].promise().set_detached_slot(slot);
    detached.pop_back();
    if (task.promise().exception()) report(task.promise().exception());
    task.destroy();
}

void destroy_detached_tasks() noexcept {
    // Taken off the list before destruction: a destructor may spawn or finish others.
    while (!detached.empty()) {
        auto task = detached.back();
        detached.pop_back();
        task.destroy();
    }
}

} // namespace snow::detail
