// tests/http/guarded_buffer.hpp: puts test input right before a PROT_NONE page, so a parser that
// reads one byte past its input crashes instead of passing by luck (picohttpparser's trick).
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <span>
#include <string_view>

namespace snow::test {

class guarded_buffer {
public:
    explicit guarded_buffer(std::size_t capacity = 64 * 1024)
        : page_(static_cast<std::size_t>(sysconf(_SC_PAGESIZE)))
        , size_((capacity + page_ - 1) / page_ * page_) {
        void* base = mmap(nullptr, size_ + page_, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (base == MAP_FAILED) throw std::bad_alloc();
        base_ = static_cast<char*>(base);
        if (mprotect(base_ + size_, page_, PROT_NONE) != 0) throw std::bad_alloc();
    }
    guarded_buffer(const guarded_buffer&) = delete;
    guarded_buffer& operator=(const guarded_buffer&) = delete;
    ~guarded_buffer() { munmap(base_, size_ + page_); }

    /// Copies `bytes` so they end at the guard page; `bytes` may point into this buffer.
    std::span<char> place(std::string_view bytes) {
        assert(bytes.size() <= size_);
        char* dst = base_ + size_ - bytes.size();
        std::memmove(dst, bytes.data(), bytes.size());
        return {dst, bytes.size()};
    }
    std::string_view place_view(std::string_view bytes) {
        auto span = place(bytes);
        return {span.data(), span.size()};
    }

private:
    std::size_t page_;
    std::size_t size_;
    char* base_ = nullptr;
};

/// True if `inner` lies within `outer` (a default-constructed empty view counts as inside).
inline bool within(std::string_view inner, std::string_view outer) noexcept {
    if (inner.data() == nullptr) return inner.empty();
    const auto i = reinterpret_cast<std::uintptr_t>(inner.data());
    const auto o = reinterpret_cast<std::uintptr_t>(outer.data());
    return i >= o && i + inner.size() <= o + outer.size();
}

} // namespace snow::test
