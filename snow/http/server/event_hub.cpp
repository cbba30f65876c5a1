// snow/http/server/event_hub.cpp: an event formatted once, its bytes fanned out to every
// subscribed stream (detail/fan_out does the per-loop bookkeeping).
#include "snow/http/server/event_hub.hpp"

#include <utility>

#include "snow/http/server/detail/fan_out.hpp"

namespace snow::http {

event_hub::event_hub()
    : members_(std::make_unique<detail::fan_out>(
          [](void* stream, const std::shared_ptr<const std::string>& bytes) noexcept {
              (void)static_cast<event_stream*>(stream)->offer(bytes);
          })) {}

event_hub::~event_hub() = default;

event_hub::subscription event_hub::subscribe(event_stream& stream) {
    return members_->join(&stream);
}

result<void> event_hub::publish(const server_sent_event& e) {
    auto formatted = format_event(e);
    if (!formatted) return formatted.error();
    members_->broadcast(std::make_shared<const std::string>(std::move(*formatted)));
    return {};
}

std::size_t event_hub::size() const {
    return members_->size();
}

} // namespace snow::http
