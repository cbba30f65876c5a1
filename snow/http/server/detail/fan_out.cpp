// snow/http/server/detail/fan_out.cpp: members kept per loop (a shard each), and broadcasts that
// reach each shard on its own loop.
#include "snow/http/server/detail/fan_out.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <utility>
#include <vector>

#include "snow/io/event_loop.hpp"

namespace snow::http::detail {

/// One member; its place in its shard's list, so leaving costs O(1).
struct fan_out_member {
    void* target;
    std::size_t index;
};

/// The members of one loop. `members` is touched only on that loop; the count is read by
/// other threads (size(), broadcast()).
struct fan_out_shard {
    fan_out_shard(std::shared_ptr<io::loop_handle> l, fan_out::offer_fn o) noexcept
        : loop(std::move(l))
        , offer(o) {}

    /// Names the loop, and keeps its handle's address from being reused by another loop's.
    std::shared_ptr<io::loop_handle> loop;
    fan_out::offer_fn offer;
    std::vector<fan_out_member*> members;
    std::atomic<std::size_t> count{0};
    // While a broadcast walks `members`, a member that leaves only leaves a hole, filled in
    // once the walk is over: the walk never skips or revisits anyone.
    unsigned delivering = 0;
    bool holes = false;
};

struct fan_out::state {
    mutable std::mutex mutex;
    std::vector<std::shared_ptr<fan_out_shard>> shards; // under mutex
};

fan_out::fan_out(offer_fn offer) : state_(std::make_shared<state>()), offer_(offer) {}

fan_out::~fan_out() = default;

hub_subscription fan_out::join(void* target) {
    std::shared_ptr<io::loop_handle> here = io::event_loop::current().handle();
    std::shared_ptr<fan_out_shard> home;
    {
        std::lock_guard lock(state_->mutex);
        // Shards left empty by other loops go; a post still on its way keeps its own alive.
        // Counting happens under this lock, so a shard being joined is never dropped. The
        // acquire pairs with the release in leave(): that loop's last change to its members
        // happens before this thread may free them.
        std::erase_if(state_->shards, [&](const std::shared_ptr<fan_out_shard>& s) {
            return s->loop != here && s->count.load(std::memory_order_acquire) == 0;
        });
        for (const auto& s : state_->shards)
            if (s->loop == here) home = s;
        if (!home)
            home = state_->shards.emplace_back(std::make_shared<fan_out_shard>(here, offer_));
        home->count.fetch_add(1, std::memory_order_relaxed);
    }
    auto* m = new fan_out_member{target, home->members.size()};
    try {
        home->members.push_back(m);
    } catch (...) {
        delete m;
        home->count.fetch_sub(1, std::memory_order_relaxed);
        throw;
    }
    return hub_subscription(std::move(home), m);
}

void fan_out::broadcast(std::shared_ptr<const std::string> bytes) {
    std::vector<std::shared_ptr<fan_out_shard>> targets;
    {
        std::lock_guard lock(state_->mutex);
        targets = state_->shards;
    }
    io::event_loop* loop = io::event_loop::current_or_null();
    const std::shared_ptr<io::loop_handle> here = loop ? loop->handle() : nullptr;
    for (auto& target : targets) {
        if (target->count.load(std::memory_order_relaxed) == 0) continue;
        if (target->loop == here) {
            deliver(*target, bytes);
        } else {
            // The shard, not its members, travels: they are looked at on their own loop,
            // after the post arrives, so one that left meanwhile is never touched. A loop
            // that is gone takes no post, and has no members left either.
            (void)target->loop->post([target, bytes] { deliver(*target, bytes); });
        }
    }
}

std::size_t fan_out::size() const {
    std::lock_guard lock(state_->mutex);
    std::size_t total = 0;
    for (const auto& s : state_->shards) total += s->count.load(std::memory_order_relaxed);
    return total;
}

void fan_out::deliver(fan_out_shard& s, const std::shared_ptr<const std::string>& bytes) noexcept {
    // An offer never resumes anyone inline (it queues and schedules), so nobody can leave
    // during the walk today; the holes keep the walk right if that ever changes.
    ++s.delivering;
    const std::size_t n = s.members.size(); // newcomers during the walk wait for the next
    for (std::size_t i = 0; i < n; ++i)
        if (fan_out_member* m = s.members[i]) s.offer(m->target, bytes);
    if (--s.delivering == 0 && s.holes) {
        s.holes = false;
        std::erase(s.members, nullptr);
        for (std::size_t i = 0; i < s.members.size(); ++i) s.members[i]->index = i;
    }
}

void fan_out::leave(fan_out_shard& s, fan_out_member* m) noexcept {
    if (s.delivering > 0) {
        s.members[m->index] = nullptr;
        s.holes = true;
    } else {
        fan_out_member* last = s.members.back();
        s.members[m->index] = last;
        last->index = m->index;
        s.members.pop_back();
    }
    s.count.fetch_sub(1, std::memory_order_release);
    delete m;
}

} // namespace snow::http::detail

namespace snow::http {

hub_subscription::hub_subscription(std::shared_ptr<detail::fan_out_shard> home,
                                   detail::fan_out_member* m) noexcept
    : shard_(std::move(home))
    , member_(m) {}

hub_subscription::hub_subscription(hub_subscription&& other) noexcept
    : shard_(std::move(other.shard_))
    , member_(std::exchange(other.member_, nullptr)) {}

hub_subscription& hub_subscription::operator=(hub_subscription&& other) noexcept {
    if (this != &other) {
        reset();
        shard_ = std::move(other.shard_);
        member_ = std::exchange(other.member_, nullptr);
    }
    return *this;
}

void hub_subscription::reset() noexcept {
    if (member_ == nullptr) return;
    detail::fan_out::leave(*shard_, std::exchange(member_, nullptr));
    shard_.reset();
}

} // namespace snow::http
