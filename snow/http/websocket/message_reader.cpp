// snow/http/websocket/message_reader.cpp: frames into messages: the header rules, fragments
// joined, the size limit from declared lengths, UTF-8 checked piece by piece.
#include "snow/http/websocket/message_reader.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

namespace snow::http::ws {

read_step message_reader::fail(std::size_t consumed, close_code why) noexcept {
    read_step step;
    step.what = read_step::kind::failed;
    step.consumed = consumed;
    step.failure = why;
    return step;
}

read_step message_reader::read(std::span<std::byte> input) {
    std::size_t at = 0;
    for (;;) {
        if (in_frame_) {
            read_step step = take_payload(input, at);
            if (step.what != read_step::kind::need_more || in_frame_) return step;
            at = step.consumed; // the frame ended inside a message: read the next header
            continue;
        }
        const frame_rules rules{.receiver = options_.receiver,
                                .rsv1_allowed = options_.rsv1_allowed,
                                .strict = !ignoring_};
        const header_parse parsed = parse_frame_header(input.subspan(at), rules);
        if (parsed.need_more()) return read_step{.consumed = at};
        if (parsed.failed()) return fail(at, parsed.failure);
        const frame_header& h = parsed.header;

        const bool reported_control = is_control(h.op) && h.payload_length <= max_control_payload &&
                                      (!ignoring_ || h.op == opcode::close);
        if (reported_control) {
            // A control frame is taken whole (at most 139 bytes), so its payload can be
            // handed over at once; it may sit between a message's fragments.
            const std::size_t total = parsed.size + static_cast<std::size_t>(h.payload_length);
            if (input.size() - at < total) return read_step{.consumed = at};
            control_size_ = static_cast<std::size_t>(h.payload_length);
            std::memcpy(control_.data(), input.data() + at + parsed.size, control_size_);
            if (h.masked) unmask(std::span<std::byte>(control_).first(control_size_), h.mask);
            at += total;
            read_step step;
            step.what = read_step::kind::control;
            step.consumed = at;
            step.control = h.op;
            return step;
        }

        if (!ignoring_) {
            if (h.op == opcode::continuation) {
                if (!in_message_) return fail(at, close_code::protocol_error);
            } else {
                if (in_message_) return fail(at, close_code::protocol_error);
                in_message_ = true;
                kind_ = h.op == opcode::text ? message_kind::text : message_kind::binary;
                payload_.clear();
                declared_ = 0;
                utf8_.reset();
            }
            // Refused on the declared length alone: nothing of an oversized message is read.
            if (h.payload_length > options_.max_message_size - declared_)
                return fail(at, close_code::message_too_big);
            declared_ += static_cast<std::size_t>(h.payload_length);
        }
        in_frame_ = true;
        frame_fin_ = h.fin;
        frame_masked_ = h.masked;
        frame_mask_ = h.mask;
        frame_offset_ = 0;
        frame_remaining_ = h.payload_length;
        at += parsed.size;
    }
}

read_step message_reader::take_payload(std::span<std::byte> input, std::size_t at) {
    const std::size_t available = input.size() - at;
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(frame_remaining_, available));
    const std::span<std::byte> piece = input.subspan(at, n);
    const std::uint64_t offset = frame_offset_;
    frame_offset_ += n;
    frame_remaining_ -= n;
    at += n;
    if (frame_remaining_ == 0) in_frame_ = false;
    if (ignoring_) return read_step{.consumed = at};

    if (frame_masked_) unmask(piece, frame_mask_, offset);
    // Checked before it is kept: a text message fails at its first bad byte, even in a
    // fragment whose end has not arrived.
    if (kind_ == message_kind::text && !utf8_.feed(piece))
        return fail(at, close_code::invalid_payload);
    payload_.append(reinterpret_cast<const char*>(piece.data()), piece.size());
    if (in_frame_ || !frame_fin_) return read_step{.consumed = at};

    if (kind_ == message_kind::text && !utf8_.complete())
        return fail(at, close_code::invalid_payload); // the message ends inside a code point
    in_message_ = false;
    read_step step;
    step.what = read_step::kind::message;
    step.consumed = at;
    return step;
}

message message_reader::take_message() noexcept {
    message out;
    out.kind = kind_;
    out.payload = std::move(payload_);
    payload_ = std::string{};
    return out;
}

void message_reader::ignore_data() noexcept {
    ignoring_ = true;
    in_message_ = false;
    std::string().swap(payload_);
}

} // namespace snow::http::ws
