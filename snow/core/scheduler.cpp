// snow/core/scheduler.cpp: the calling thread's scheduler.
#include "snow/core/scheduler.hpp"

#include <cassert>

namespace snow {
namespace {
thread_local scheduler* current_scheduler = nullptr;
}

scheduler& scheduler::current() noexcept {
    assert(current_scheduler != nullptr && "no snow loop on this thread");
    return *current_scheduler;
}

scheduler* scheduler::current_or_null() noexcept {
    return current_scheduler;
}

void scheduler::set_current(scheduler* s) noexcept {
    current_scheduler = s;
}

} // namespace snow
