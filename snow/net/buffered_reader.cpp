// snow/net/buffered_reader.cpp
#include "snow/net/buffered_reader.hpp"

#include <algorithm>
#include <cstring>

namespace snow::net {

buffered_reader::buffered_reader(tcp_stream& stream, std::size_t initial_capacity)
    : stream_(stream)
    , buffer_(initial_capacity) {}

void buffered_reader::release_previous() noexcept {
    begin_ += std::exchange(handed_out_, 0);
    if (begin_ == end_) begin_ = end_ = 0;
}

task<result<void>> buffered_reader::fill(std::size_t wanted) {
    // Compact before growing: the unread tail moves to the front.
    if (begin_ > 0) {
        std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
    }
    if (buffer_.size() < wanted) buffer_.resize(std::max(wanted, buffer_.size() * 2));
    if (end_ == buffer_.size()) buffer_.resize(buffer_.size() * 2);
    auto n = co_await stream_.recv(std::span(buffer_).subspan(end_));
    if (!n) co_return n.error();
    if (*n == 0) co_return errc::eof;
    end_ += *n;
    co_return result<void>{};
}

task<result<std::span<const std::byte>>> buffered_reader::read_exact(std::size_t n) {
    release_previous();
    while (end_ - begin_ < n) {
        auto filled = co_await fill(n);
        if (!filled) co_return filled.error();
    }
    handed_out_ = n;
    co_return std::span<const std::byte>(buffer_.data() + begin_, n);
}

task<result<std::string_view>> buffered_reader::read_until(std::string_view delimiter,
                                                           std::size_t max_bytes) {
    release_previous();
    std::size_t searched = 0; // never rescan what held no delimiter
    for (;;) {
        std::string_view data(reinterpret_cast<const char*>(buffer_.data()) + begin_,
                              end_ - begin_);
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
