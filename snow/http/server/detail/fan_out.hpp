// snow/http/server/detail/fan_out.hpp: what event_hub and websocket_hub share: members kept per
// loop (a shard each), and broadcasts of immutable shared bytes that reach every shard on its
// own loop.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "snow/http/server/hub_subscription.hpp"

namespace snow::http::detail {

/// The members of a hub, sharded by loop. Members are touched only on their own loop;
/// broadcast() delivers on the calling loop at once and through each other loop's post
/// queue, so the broadcasts of one publisher arrive everywhere in the order made. A member
/// that leaves while a broadcast is under way is skipped, never touched after it has left.
class fan_out {
public:
    /// Queues `bytes` on `target` (what join() was given). It must not resume anyone inline.
    using offer_fn = void (*)(void* target,
                              const std::shared_ptr<const std::string>& bytes) noexcept;

    explicit fan_out(offer_fn offer);
    fan_out(const fan_out&) = delete;
    fan_out& operator=(const fan_out&) = delete;
    ~fan_out();

    /// Adds `target` until the subscription is destroyed. On the target's loop.
    hub_subscription join(void* target);
    /// Offers `bytes` to every member, each on its own loop. Any thread.
    void broadcast(std::shared_ptr<const std::string> bytes);
    /// The number of members over all loops, as it was a moment ago.
    std::size_t size() const;

    /// Takes `m` out of `s`; what hub_subscription::reset() calls.
    static void leave(fan_out_shard& s, fan_out_member* m) noexcept;

private:
    struct state;
    static void deliver(fan_out_shard& s, const std::shared_ptr<const std::string>& bytes) noexcept;

    std::shared_ptr<state> state_;
    offer_fn offer_;
};

} // namespace snow::http::detail
