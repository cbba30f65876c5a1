// snow/net/detail/tls_input_buffers.hpp: the ciphertext input buffers of one loop's TLS
// sessions. A session holds one only while received bytes wait for OpenSSL, and gives it
// back here as soon as they are read, so an idle TLS connection holds no input buffer; the
// spares are kept for the next read, a few per loop, rather than freed and allocated again.
#pragma once

#include <cstddef>
#include <vector>

#include "snow/core/export.hpp"
#include "snow/io/event_loop.hpp"

namespace snow::net::detail {

class SNOW_API tls_input_buffers final : public io::loop_service {
public:
    tls_input_buffers() { spares_.reserve(max_spares); }

    /// The size of each buffer: a whole record, at most 16 KiB of plaintext plus its header
    /// and expansion, fits in one.
    static constexpr std::size_t buffer_size = 16 * 1024 + 512;

    /// The current loop's. Loop thread only.
    static tls_input_buffers& of_this_loop();

    /// A buffer of buffer_size bytes, a spare if there is one.
    std::vector<std::byte> take();
    /// Takes `buffer` back (a spare, unless enough are kept or it grew); `buffer` is left
    /// without storage.
    void give_back(std::vector<std::byte>& buffer) noexcept;

    /// Buffers taken and not given back: those sessions hold now, and those freed with a
    /// session destroyed while it held one.
    std::size_t in_use() const noexcept { return in_use_; }
    /// Spare buffers kept for reuse.
    std::size_t spares() const noexcept { return spares_.size(); }

private:
    // Enough for every session of one loop that reads in the same turn, in the common case;
    // more are allocated when needed, and freed when given back.
    static constexpr std::size_t max_spares = 16;

    std::vector<std::vector<std::byte>> spares_;
    std::size_t in_use_ = 0;
};

} // namespace snow::net::detail
