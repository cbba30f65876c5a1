// snow/http/server/websocket_hub.cpp: a message framed once, its bytes fanned out to every
// subscribed connection (detail/fan_out does the per-loop bookkeeping, as for event_hub).
#include "snow/http/server/websocket_hub.hpp"

#include <utility>

#include "snow/http/server/detail/fan_out.hpp"
#include "snow/http/server/detail/websocket_session.hpp"
#include "snow/http/websocket/frame.hpp"
#include "snow/http/websocket/utf8.hpp"

namespace snow::http {

websocket_hub::websocket_hub()
    : members_(std::make_unique<detail::fan_out>(
          [](void* session, const std::shared_ptr<const std::string>& frame) noexcept {
              (void)static_cast<detail::websocket_session*>(session)->offer(frame);
          })) {}

websocket_hub::~websocket_hub() = default;

websocket_hub::subscription websocket_hub::subscribe(websocket& ws) {
    return members_->join(&ws.session_);
}

result<void> websocket_hub::publish(std::string_view text) {
    if (!ws::is_valid_utf8(text)) return std::errc::invalid_argument;
    ws::frame_header h;
    h.op = ws::opcode::text;
    members_->broadcast(std::make_shared<const std::string>(
        ws::encode_frame(h, std::as_bytes(std::span<const char>(text.data(), text.size())))));
    return {};
}

result<void> websocket_hub::publish_binary(std::span<const std::byte> bytes) {
    ws::frame_header h;
    h.op = ws::opcode::binary;
    members_->broadcast(std::make_shared<const std::string>(ws::encode_frame(h, bytes)));
    return {};
}

std::size_t websocket_hub::size() const {
    return members_->size();
}

} // namespace snow::http
