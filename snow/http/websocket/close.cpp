// snow/http/websocket/close.cpp: close codes' names, and the close frame's payload.
#include "snow/http/websocket/close.hpp"

#include <string>

#include "snow/http/websocket/utf8.hpp"

namespace snow::http::ws {

namespace {

class close_error_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "websocket close"; }
    std::string message(int code) const override {
        switch (static_cast<close_code>(code)) {
        case close_code::normal:
            return "normal closure";
        case close_code::going_away:
            return "going away";
        case close_code::protocol_error:
            return "protocol error";
        case close_code::unsupported_data:
            return "unsupported data";
        case close_code::no_status:
            return "no status code";
        case close_code::abnormal:
            return "abnormal closure";
        case close_code::invalid_payload:
            return "invalid frame payload data";
        case close_code::policy_violation:
            return "policy violation";
        case close_code::message_too_big:
            return "message too big";
        case close_code::mandatory_extension:
            return "mandatory extension";
        case close_code::internal_error:
            return "internal server error";
        case close_code::service_restart:
            return "service restart";
        case close_code::try_again_later:
            return "try again later";
        case close_code::bad_gateway:
            return "bad gateway";
        case close_code::tls_handshake:
            return "TLS handshake failed";
        }
        return "close code " + std::to_string(code);
    }
};

/// The length of the longest prefix of `text`, at most `limit` bytes, that ends at a code
/// point's end: continuation bytes (10xxxxxx) never start one.
std::size_t utf8_prefix(std::string_view text, std::size_t limit) noexcept {
    if (text.size() <= limit) return text.size();
    std::size_t end = limit;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
    return end;
}

} // namespace

const std::error_category& close_category() noexcept {
    static const close_error_category category;
    return category;
}

result<close_payload> parse_close_payload(std::span<const std::byte> payload) {
    close_payload out;
    if (payload.empty()) return out; // no code: 1005
    if (payload.size() == 1) return close_code::protocol_error;
    const auto code = static_cast<std::uint16_t>((std::to_integer<unsigned>(payload[0]) << 8) |
                                                 std::to_integer<unsigned>(payload[1]));
    if (!is_sendable_close_code(code)) return close_code::protocol_error;
    const auto reason = payload.subspan(2);
    utf8_validator utf8;
    if (!utf8.feed(reason) || !utf8.complete()) return close_code::invalid_payload;
    out.code = code;
    out.reason.assign(reinterpret_cast<const char*>(reason.data()), reason.size());
    return out;
}

std::string format_close_payload(std::uint16_t code, std::string_view reason) {
    std::string out;
    if (code == static_cast<std::uint16_t>(close_code::no_status)) return out;
    constexpr std::size_t max_reason = 125 - 2;
    const std::size_t kept = utf8_prefix(reason, max_reason);
    out.reserve(2 + kept);
    out.push_back(static_cast<char>(code >> 8));
    out.push_back(static_cast<char>(code & 0xFF));
    out.append(reason.substr(0, kept));
    return out;
}

} // namespace snow::http::ws
