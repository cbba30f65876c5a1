// snow/core/detail/frame_allocator.hpp: where coroutine frames come from. Each thread keeps a few
// freed frames of each size for the next coroutine of that size, so the handler, dispatch and
// send frames a request creates and ends cost no trip through malloc.
#pragma once

#include <cstddef>

namespace snow::detail {

void* allocate_frame(std::size_t size);
void free_frame(void* frame, std::size_t size) noexcept;

} // namespace snow::detail
