// snow/net/buffered_reader.cpp: the bounded reads over a receive_buffer.
#include "snow/net/buffered_reader.hpp"

#include <algorithm>

namespace snow::net {

buffered_reader::buffered_reader(tcp_stream& stream, std::size_t initial_capacity)
    : stream_(stream)
    , buffer_(initial_capacity) {}

void buffered_reader::release_previous() noexcept {
    buffer_.consume(std::exchange(handed_out_, 0));
}

task<result<void>> buffered_reader::fill(std::size_t wanted) {
    auto room = buffer_.prepare(wanted);
    auto n = co_await stream_.recv(room);
    if (!n) co_return n.error();
    if (*n == 0) co_return errc::eof;
    buffer_.commit(*n);
    co_return result<void>{};
}

task<result<std::span<const std::byte>>> buffered_reader::read_exact(std::size_t n) {
    release_previous();
    while (buffer_.size() < n) {
        auto filled = co_await fill(n);
        if (!filled) co_return filled.error();
    }
    handed_out_ = n;
    co_return buffer_.bytes().first(n);
}

task<result<std::string_view>> buffered_reader::read_until(std::string_view delimiter,
                                                           std::size_t max_bytes) {
    release_previous();
    std::size_t searched = 0; // never rescan what held no delimiter
    for (;;) {
        const std::string_view data = buffer_.view();
        std::size_t from = searched >= delimiter.size() ? searched - delimiter.size() + 1 : 0;
        std::size_t at = data.find(delimiter, from);
        if (at != std::string_view::npos && at <= max_bytes) {
            handed_out_ = at + delimiter.size();
            co_return data.substr(0, at);
        }
        if (data.size() > max_bytes) co_return errc::message_too_long;
        searched = data.size();
        auto filled = co_await fill(std::min(max_bytes + delimiter.size(), data.size() + 1));
        if (!filled) co_return filled.error();
    }
}

task<result<std::string_view>> buffered_reader::read_line(std::size_t max_bytes) {
    auto line = co_await read_until("\n", max_bytes);
    if (!line) co_return line.error();
    std::string_view text = *line;
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    co_return text;
}

} // namespace snow::net
