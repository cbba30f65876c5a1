// snow/http/event_stream_parser.cpp: the event-stream line splitter and field interpreter,
// and the messages of its errors.
#include "snow/http/event_stream_parser.hpp"

#include <cstdint>
#include <limits>

#include "snow/core/error.hpp"

namespace snow::http {
namespace {

constexpr std::string_view byte_order_mark = "\xEF\xBB\xBF";

std::string_view message_for(event_stream_errc e) noexcept {
    switch (e) {
    case event_stream_errc::line_too_long:
        return "event stream line too long";
    case event_stream_errc::event_too_large:
        return "event stream event too large";
    }
    return "unknown event stream error";
}

/// The milliseconds of a `retry:` value, or nothing unless it is all ASCII digits. Values
/// past what milliseconds holds are clamped: they mean "a very long time", not garbage.
std::optional<std::chrono::milliseconds> parse_retry(std::string_view value) noexcept {
    if (value.empty()) return std::nullopt;
    using rep = std::chrono::milliseconds::rep;
    constexpr rep max = std::numeric_limits<rep>::max();
    rep ms = 0;
    for (const char c : value) {
        if (c < '0' || c > '9') return std::nullopt;
        const rep digit = c - '0';
        ms = ms > (max - digit) / 10 ? max : ms * 10 + digit;
    }
    return std::chrono::milliseconds(ms);
}

} // namespace

const std::error_category& event_stream_category() noexcept {
    static const enum_category<event_stream_errc> category("event-stream", message_for);
    return category;
}

result<std::optional<parsed_event>> event_stream_parser::parse(std::string_view& input) {
    if (clear_event_) {
        data_.clear();
        type_.clear();
        clear_event_ = false;
    }
    // One leading BOM is dropped, even when it arrives a byte at a time. Bytes that only
    // began one are the start of the first line.
    while (at_start_ && !input.empty()) {
        if (input.front() != byte_order_mark[bom_matched_]) {
            at_start_ = false;
            line_.assign(byte_order_mark.substr(0, bom_matched_));
            break;
        }
        input.remove_prefix(1);
        if (++bom_matched_ == byte_order_mark.size()) at_start_ = false;
    }
    while (!input.empty()) {
        if (skip_lf_) {
            skip_lf_ = false;
            if (input.front() == '\n') {
                input.remove_prefix(1);
                continue;
            }
        }
        const std::size_t end = input.find_first_of("\r\n");
        if (end == std::string_view::npos) {
            if (line_.size() + input.size() > limits_.max_line_bytes)
                return event_stream_errc::line_too_long;
            line_.append(input);
            input = {};
            break;
        }
        std::string_view line = input.substr(0, end);
        skip_lf_ = input[end] == '\r';
        input.remove_prefix(end + 1);
        if (line_.size() + line.size() > limits_.max_line_bytes)
            return event_stream_errc::line_too_long;
        if (!line_.empty()) {
            line_.append(line);
            line = line_;
        }
        auto took = take_line(line);
        line_.clear();
        if (!took) return took.error();
        if (*took) return std::optional<parsed_event>(dispatched());
    }
    return std::optional<parsed_event>();
}

result<bool> event_stream_parser::take_line(std::string_view line) {
    if (line.empty()) {
        last_event_id_.assign(id_buffer_);
        if (data_.empty()) {
            type_.clear();
            return false;
        }
        data_.pop_back(); // the LF after the last data line
        clear_event_ = true;
        return true;
    }
    if (line.front() == ':') return false; // a comment
    const std::size_t colon = line.find(':');
    const std::string_view name = line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);

    if (name == "data") {
        // The joined data is data_ plus this line; the LF appended here either separates it
        // from the next line or is dropped at dispatch.
        if (data_.size() + value.size() > limits_.max_event_bytes)
            return event_stream_errc::event_too_large;
        data_.append(value).push_back('\n');
    } else if (name == "event") {
        type_.assign(value);
    } else if (name == "id") {
        if (value.find('\0') == std::string_view::npos) id_buffer_.assign(value);
    } else if (name == "retry") {
        if (auto ms = parse_retry(value)) retry_ = ms;
    }
    return false;
}

parsed_event event_stream_parser::dispatched() const noexcept {
    return {.type = type_.empty() ? std::string_view("message") : std::string_view(type_),
            .data = data_,
            .id = last_event_id_};
}

void event_stream_parser::reset() {
    line_.clear();
    data_.clear();
    type_.clear();
    id_buffer_.assign(last_event_id_);
    bom_matched_ = 0;
    at_start_ = true;
    skip_lf_ = false;
    clear_event_ = false;
}

} // namespace snow::http
