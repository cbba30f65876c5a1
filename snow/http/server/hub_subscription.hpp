// snow/http/server/hub_subscription.hpp: a membership of a broadcast hub (event_hub,
// websocket_hub); destroying it leaves the hub.
#pragma once

#include <memory>

#include "snow/core/export.hpp"

namespace snow::http {

namespace detail {
class fan_out;
struct fan_out_shard;
struct fan_out_member;
} // namespace detail

/// A stream's or a connection's membership of a hub; destroying it (or reset()) leaves the
/// hub. Move-only. Destroy it on the loop it was made on. It may outlive its hub, and then
/// simply receives nothing more.
class SNOW_API hub_subscription {
public:
    /// Belongs to no hub.
    hub_subscription() noexcept = default;
    /// Takes `other`'s membership; `other` belongs to no hub afterwards.
    hub_subscription(hub_subscription&& other) noexcept;
    /// Leaves the hub this one belonged to, then takes `other`'s membership.
    hub_subscription& operator=(hub_subscription&& other) noexcept;
    hub_subscription(const hub_subscription&) = delete;
    hub_subscription& operator=(const hub_subscription&) = delete;
    ~hub_subscription() { reset(); }

    /// Leaves the hub now; later broadcasts do not reach the member.
    void reset() noexcept;
    /// Whether it still belongs to a hub.
    bool active() const noexcept { return member_ != nullptr; }

private:
    friend class detail::fan_out;
    hub_subscription(std::shared_ptr<detail::fan_out_shard> home,
                     detail::fan_out_member* m) noexcept;
    std::shared_ptr<detail::fan_out_shard> shard_;
    detail::fan_out_member* member_ = nullptr;
};

} // namespace snow::http
