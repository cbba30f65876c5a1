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

namespace {
close_code failure_for(inflate_status s) noexcept {
    switch (s) {
    case inflate_status::too_big:
        return close_code::message_too_big;
    case inflate_status::no_memory:
        return close_code::internal_error;
    default:
        return close_code::invalid_payload;
    }
}
} // namespace

bool message_reader::keep(std::span<const std::byte> piece, close_code& why) {
    const std::size_t had = payload_.size();
    if (compressed_) {
        // Inflated in bounded chunks straight into the message, never past the limit.
        const inflate_status s = inflater_.feed(piece, payload_, options_.max_message_size);
        if (s != inflate_status::ok) {
            why = failure_for(s);
            return false;
        }
    } else {
        payload_.append(reinterpret_cast<const char*>(piece.data()), piece.size());
    }
    // Checked as it arrives: a text message fails at its first bad byte, even in a fragment
    // whose end has not arrived.
    const auto added = std::as_bytes(std::span(payload_)).subspan(had);
    if (kind_ == message_kind::text && !utf8_.feed(added)) {
        why = close_code::invalid_payload;
        return false;
    }
    return true;
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
                                .rsv1_allowed =
                                    options_.rsv1_allowed || options_.deflate.has_value(),
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
                compressed_ = h.rsv1 && options_.deflate.has_value();
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
    close_code why = close_code::protocol_error;
    if (!keep(piece, why)) return fail(at, why);
    if (in_frame_ || !frame_fin_) return read_step{.consumed = at};
    if (compressed_) {
        // The 00 00 ff ff the sender left out ends the message (RFC 7692 §7.2.2).
        const std::size_t had = payload_.size();
        const inflate_status s = inflater_.finish(payload_, options_.max_message_size);
        if (s != inflate_status::ok) return fail(at, failure_for(s));
        if (kind_ == message_kind::text &&
            !utf8_.feed(std::as_bytes(std::span(payload_)).subspan(had)))
            return fail(at, close_code::invalid_payload);
    }

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
    inflater_.release();
}

} // namespace snow::http::ws
