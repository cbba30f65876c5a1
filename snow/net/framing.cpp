// snow/net/framing.cpp
#include "snow/net/framing.hpp"

#include <array>
#include <cstdint>

namespace snow::net {

task<result<std::span<const std::byte>>> read_frame(buffered_reader& reader,
                                                    std::size_t max_bytes) {
    auto header = co_await reader.read_exact(4);
    if (!header) co_return header.error();
    std::uint32_t length = 0;
    for (std::byte b : *header) length = (length << 8) | std::to_integer<std::uint32_t>(b);
    if (length > max_bytes) co_return errc::message_too_long;
    co_return co_await reader.read_exact(length);
}

task<result<void>> write_frame(tcp_stream& stream, std::span<const std::byte> payload) {
    const auto length = static_cast<std::uint32_t>(payload.size());
    std::array<unsigned char, 4> header{
        static_cast<unsigned char>(length >> 24), static_cast<unsigned char>(length >> 16),
        static_cast<unsigned char>(length >> 8), static_cast<unsigned char>(length)};
    std::array<iovec, 2> buffers{iovec{header.data(), header.size()},
                                 iovec{const_cast<std::byte*>(payload.data()), payload.size()}};
    co_return co_await stream.send_all(std::span<iovec>(buffers));
}

} // namespace snow::net
