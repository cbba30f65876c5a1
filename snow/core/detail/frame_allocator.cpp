// snow/core/detail/frame_allocator.cpp: per-thread free lists of coroutine frames, by size class.
#include "snow/core/detail/frame_allocator.hpp"

#include <cstdint>
#include <new>
#include <utility>

namespace snow::detail {

#if defined(__SANITIZE_ADDRESS__) || defined(SNOW_NO_FRAME_ALLOCATOR)
// Recycled frames would hide a use after free from AddressSanitizer: every frame goes
// straight back to the heap in sanitizer builds, and in builds that measure what the
// cache buys (meson -Dframe_allocator=false).
void* allocate_frame(std::size_t size) {
    return ::operator new(size);
}
void free_frame(void* frame, std::size_t) noexcept {
    ::operator delete(frame);
}
#else
namespace {

constexpr std::size_t granule = 16;
constexpr std::size_t size_classes = 128;    // frames up to 2 KiB are recycled
constexpr std::uint32_t kept_per_class = 64; // enough for the frames a busy loop reuses

struct free_frame_node {
    free_frame_node* next;
};

struct frame_cache {
    free_frame_node* heads[size_classes] = {};
    std::uint32_t counts[size_classes] = {};
    bool closed = false; // set when the thread's cache is torn down

    ~frame_cache() {
        closed = true;
        for (auto*& head : heads)
            while (head != nullptr) ::operator delete(std::exchange(head, head->next));
    }
};

thread_local frame_cache cache;

// Classes follow glibc's chunk sizes (a 16-byte step from 24 usable bytes), so a recycled
// frame occupies exactly what malloc would have given it.
constexpr std::size_t smallest = 24;

std::size_t class_of(std::size_t size) noexcept {
    return size <= smallest ? 0 : (size - smallest + granule - 1) / granule;
}
std::size_t class_bytes(std::size_t c) noexcept {
    return smallest + c * granule;
}

} // namespace

void* allocate_frame(std::size_t size) {
    const std::size_t c = class_of(size);
    if (c >= size_classes) return ::operator new(size);
    if (free_frame_node* node = cache.heads[c]) {
        cache.heads[c] = node->next;
        --cache.counts[c];
        return node;
    }
    return ::operator new(class_bytes(c));
}

void free_frame(void* frame, std::size_t size) noexcept {
    const std::size_t c = class_of(size);
    // After the cache is torn down (a frame freed by a later thread_local's destructor),
    // frames go straight back to the heap.
    if (c >= size_classes || cache.closed || cache.counts[c] == kept_per_class) {
        ::operator delete(frame);
        return;
    }
    auto* node = static_cast<free_frame_node*>(frame);
    node->next = cache.heads[c];
    cache.heads[c] = node;
    ++cache.counts[c];
}
#endif

} // namespace snow::detail
