// snow/net/detail/tls_input_buffers.cpp: the per-loop spare list of TLS input buffers.
#include "snow/net/detail/tls_input_buffers.hpp"

#include <utility>

namespace snow::net::detail {

tls_input_buffers& tls_input_buffers::of_this_loop() {
    return io::event_loop::current().service<tls_input_buffers>();
}

std::vector<std::byte> tls_input_buffers::take() {
    ++in_use_;
    if (spares_.empty()) return std::vector<std::byte>(buffer_size);
    std::vector<std::byte> buffer = std::move(spares_.back());
    spares_.pop_back();
    return buffer;
}

void tls_input_buffers::give_back(std::vector<std::byte>& buffer) noexcept {
    if (buffer.capacity() == 0) return;
    --in_use_;
    std::vector<std::byte> kept = std::move(buffer);
    buffer = {};
    // A buffer grown for early bytes (put_input) is not a spare: spares stay one size.
    if (spares_.size() >= max_spares || kept.size() != buffer_size) return;
    // Room for max_spares was reserved up front: keeping a spare never allocates.
    spares_.push_back(std::move(kept));
}

} // namespace snow::net::detail
