// snow/core/detail/frame_allocator.hpp: where coroutine frames come from. Each thread keeps a few
// freed frames of each size for the next coroutine of that size, so the handler, dispatch and
// send frames a request creates and ends cost no trip through malloc.
#pragma once

#include <cstddef>

#include "snow/core/export.hpp"

namespace snow::detail {

// Exported from libsnow.so although internal: every task's promise (inline, in task.hpp)
// allocates and frees its frame through these, from the program's own code.
SNOW_API void* allocate_frame(std::size_t size);
SNOW_API void free_frame(void* frame, std::size_t size) noexcept;

} // namespace snow::detail
