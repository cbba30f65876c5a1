// snow/io/buffer_pool.cpp: registration and recycling of provided buffers.
#include "snow/io/buffer_pool.hpp"

#include "snow/io/ring.hpp"

namespace snow::io {

result<std::unique_ptr<buffer_pool>> buffer_pool::create(ring& r, unsigned count, std::size_t size,
                                                         std::uint16_t group) {
    auto shared = r.register_buffer_ring(count, group);
    if (!shared) return shared.error();
    std::unique_ptr<buffer_pool> pool(new buffer_pool(r, *shared, count, size, group));
    for (unsigned id = 0; id < count; ++id) pool->give_back(static_cast<std::uint16_t>(id));
    return pool;
}

buffer_pool::buffer_pool(ring& r, io_uring_buf_ring* shared, unsigned count, std::size_t size,
                         std::uint16_t group)
    : ring_(r)
    , shared_(shared)
    // Not value-initialised: pages are touched only by the receives that use them.
    , memory_(new std::byte[std::size_t{count} * size])
    , count_(count)
    , size_(size)
    , group_(group) {}

buffer_pool::~buffer_pool() {
    ring_.unregister_buffer_ring(shared_, count_, group_);
}

void buffer_pool::give_back(std::uint16_t id) noexcept {
    io_uring_buf_ring_add(shared_, memory_.get() + std::size_t{id} * size_,
                          static_cast<unsigned>(size_), id, io_uring_buf_ring_mask(count_), 0);
    io_uring_buf_ring_advance(shared_, 1);
}

} // namespace snow::io
