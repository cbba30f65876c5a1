// snow/http/server/websocket_hub.cpp: subscribers kept per loop (a shard each), and broadcasts
// that reach each shard on its own loop; the same scheme as event_hub's.
#include "snow/http/server/websocket_hub.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <utility>
#include <vector>

#include "snow/http/server/detail/websocket_session.hpp"
#include "snow/http/websocket/frame.hpp"
#include "snow/http/websocket/utf8.hpp"
#include "snow/io/event_loop.hpp"

namespace snow::http {

/// One subscribed connection; its place in its shard's list, so leaving costs O(1).
struct websocket_hub::member {
    detail::websocket_session* session;
    std::size_t index;
};

/// The subscribers of one loop. `members` is touched only on that loop; the count is read by
/// other threads (size(), publish()).
struct websocket_hub::shard {
    explicit shard(std::shared_ptr<io::loop_handle> l) noexcept : loop(std::move(l)) {}

    /// Names the loop, and keeps its handle's address from being reused by another loop's.
    std::shared_ptr<io::loop_handle> loop;
    std::vector<member*> members;
    std::atomic<std::size_t> count{0};
    // While a broadcast walks `members`, a member that leaves only leaves a hole, filled in
    // once the walk is over: the walk never skips or revisits anyone.
    unsigned delivering = 0;
    bool holes = false;
};

struct websocket_hub::state {
    mutable std::mutex mutex;
    std::vector<std::shared_ptr<shard>> shards; // under mutex
};

websocket_hub::websocket_hub() : state_(std::make_shared<state>()) {}

websocket_hub::~websocket_hub() = default;

websocket_hub::subscription websocket_hub::subscribe(websocket& ws) {
    std::shared_ptr<io::loop_handle> here = io::event_loop::current().handle();
    std::shared_ptr<shard> home;
    {
        std::lock_guard lock(state_->mutex);
        // Shards left empty by other loops go; a post on its way keeps its own alive. The
        // acquire pairs with the release in leave(): that loop's last change to its members
        // happens before this thread may free them.
        std::erase_if(state_->shards, [&](const std::shared_ptr<shard>& s) {
            return s->loop != here && s->count.load(std::memory_order_acquire) == 0;
        });
        for (const auto& s : state_->shards)
            if (s->loop == here) home = s;
        if (!home) home = state_->shards.emplace_back(std::make_shared<shard>(here));
        home->count.fetch_add(1, std::memory_order_relaxed);
    }
    auto* m = new member{&ws.session_, home->members.size()};
    try {
        home->members.push_back(m);
    } catch (...) {
        delete m;
        home->count.fetch_sub(1, std::memory_order_relaxed);
        throw;
    }
    return subscription(std::move(home), m);
}

result<void> websocket_hub::publish(std::string_view text) {
    if (!ws::is_valid_utf8(text)) return std::errc::invalid_argument;
    ws::frame_header h;
    h.op = ws::opcode::text;
    broadcast(std::make_shared<const std::string>(
        ws::encode_frame(h, std::as_bytes(std::span<const char>(text.data(), text.size())))));
    return {};
}

result<void> websocket_hub::publish_binary(std::span<const std::byte> bytes) {
    ws::frame_header h;
    h.op = ws::opcode::binary;
    broadcast(std::make_shared<const std::string>(ws::encode_frame(h, bytes)));
    return {};
}

void websocket_hub::broadcast(std::shared_ptr<const std::string> frame) {
    std::vector<std::shared_ptr<shard>> targets;
    {
        std::lock_guard lock(state_->mutex);
        targets = state_->shards;
    }
    io::event_loop* loop = io::event_loop::current_or_null();
    const std::shared_ptr<io::loop_handle> here = loop ? loop->handle() : nullptr;
    for (auto& target : targets) {
        if (target->count.load(std::memory_order_relaxed) == 0) continue;
        if (target->loop == here) {
            deliver(*target, frame);
        } else {
            // The shard, not its members, travels: they are looked at on their own loop,
            // after the post arrives, so one that left meanwhile is never touched. A loop that
            // is gone takes no post, and has no subscribers left either.
            (void)target->loop->post([target, frame] { deliver(*target, frame); });
        }
    }
}

std::size_t websocket_hub::size() const {
    std::lock_guard lock(state_->mutex);
    std::size_t total = 0;
    for (const auto& s : state_->shards) total += s->count.load(std::memory_order_relaxed);
    return total;
}

void websocket_hub::deliver(shard& s, const std::shared_ptr<const std::string>& frame) noexcept {
    // offer() never resumes anyone inline (it queues and schedules), so nobody can leave
    // during the walk today; the holes keep the walk right if that ever changes.
    ++s.delivering;
    const std::size_t n = s.members.size(); // newcomers during the walk wait for the next
    for (std::size_t i = 0; i < n; ++i)
        if (member* m = s.members[i]) (void)m->session->offer(frame);
    if (--s.delivering == 0 && s.holes) {
        s.holes = false;
        std::erase(s.members, nullptr);
        for (std::size_t i = 0; i < s.members.size(); ++i) s.members[i]->index = i;
    }
}

void websocket_hub::leave(shard& s, member* m) noexcept {
    if (s.delivering > 0) {
        s.members[m->index] = nullptr;
        s.holes = true;
    } else {
        member* last = s.members.back();
        s.members[m->index] = last;
        last->index = m->index;
        s.members.pop_back();
    }
    s.count.fetch_sub(1, std::memory_order_release);
    delete m;
}

// ---------------------------------------------------------------------------------------
// subscription

websocket_hub::subscription::subscription(std::shared_ptr<shard> home, member* m) noexcept
    : shard_(std::move(home))
    , member_(m) {}

websocket_hub::subscription::subscription(subscription&& other) noexcept
    : shard_(std::move(other.shard_))
    , member_(std::exchange(other.member_, nullptr)) {}

websocket_hub::subscription& websocket_hub::subscription::operator=(subscription&& other) noexcept {
    if (this != &other) {
        reset();
        shard_ = std::move(other.shard_);
        member_ = std::exchange(other.member_, nullptr);
    }
    return *this;
}

void websocket_hub::subscription::reset() noexcept {
    if (member_ == nullptr) return;
    leave(*shard_, std::exchange(member_, nullptr));
    shard_.reset();
}

} // namespace snow::http
