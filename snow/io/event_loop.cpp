// snow/io/event_loop.cpp: the turn (resume, expire timers, submit+wait, reap), detached
// tasks, and the cross-thread wake-up through an eventfd read kept armed in the ring.
#include "snow/io/event_loop.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fmt/format.h>
#include <system_error>

#include "snow/io/detail/planted_bug.hpp"

namespace snow::io {
namespace {
thread_local event_loop* current_loop = nullptr;
}

// The test-only switch of detail/planted_bug.hpp: 0 (no bug) unless a simulation test sets it.
int detail::planted_bug = 0;

namespace {
/// An unsigned from the environment, if it is set and whole.
std::optional<unsigned> environment_count(const char* name) {
    const char* text = std::getenv(name);
    if (text == nullptr || *text == '\0') return std::nullopt;
    char* end = nullptr;
    const unsigned long value = std::strtoul(text, &end, 10);
    if (*end != '\0' || value > 1u << 20) return std::nullopt;
    return static_cast<unsigned>(value);
}
} // namespace

result<std::unique_ptr<event_loop>> event_loop::create(loop_options options) {
    if (auto entries = environment_count("SNOW_RING_ENTRIES")) options.ring.entries = *entries;
    if (auto count = environment_count("SNOW_RECEIVE_BUFFERS"))
        options.receive_buffers.count = *count;
    auto r = ring::create(options.ring);
    if (!r) return r.error();
    std::unique_ptr<event_loop> loop(new event_loop(std::move(*r)));
    loop->receive_buffer_options_ = options.receive_buffers;
    if (loop->wakeup_fd_ < 0) return system_error_code(errno);
    return loop;
}

event_loop::event_loop(ring r) : ring_(std::move(r)), handle_(std::make_shared<loop_handle>(this)) {
    detached_.set_scheduler(this);
    assert(current_loop == nullptr && "one event_loop per thread");
    current_loop = this;
    scheduler::set_current(this);
    // A vanished peer must never kill the process: sends use MSG_NOSIGNAL, and this covers
    // any write that does not.
    std::signal(SIGPIPE, SIG_IGN);
    wakeup_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    wakeup_.loop = this;
    wakeup_.on_complete = [](completion* self, const io_uring_cqe&) noexcept {
        // Only note it: posted work runs in the turn, not inside completion reaping, where
        // it could nest in another reap (cancel_and_wait) and see half-processed batches.
        auto* wakeup = static_cast<wakeup_read*>(self);
        wakeup->armed = false;
        wakeup->fired = true;
    };
    if (wakeup_fd_ >= 0) arm_wakeup();
}

event_loop::~event_loop() {
    {
        std::lock_guard lock(handle_->mutex_);
        handle_->loop_ = nullptr;
    }
    // Destroy suspended detached tasks first: their operations cancel and wait on the ring,
    // which must still exist.
    detached_.destroy_all();
    while (!services_.empty()) services_.pop_back();
    if (wakeup_fd_ >= 0) {
        // The armed read writes into wakeup_.value: the kernel must let go of it first.
        wakeup_.closing = true;
        cancel_and_wait(&wakeup_, [this] { return !wakeup_.armed; });
        ::close(wakeup_fd_);
    }
    current_loop = nullptr;
    scheduler::set_current(nullptr);
}

loop_service::~loop_service() = default;

loop_service* event_loop::find_service(const void* key) noexcept {
    for (auto& [k, s] : services_)
        if (k == key) return s.get();
    return nullptr;
}

loop_service& event_loop::add_service(const void* key, std::unique_ptr<loop_service> s) {
    services_.emplace_back(key, std::move(s));
    return *services_.back().second;
}

event_loop& event_loop::current() noexcept {
    assert(current_loop != nullptr && "no snow event_loop on this thread");
    return *current_loop;
}

event_loop* event_loop::current_or_null() noexcept {
    return current_loop;
}

void event_loop::arm_wakeup() {
    io_uring_sqe& sqe = ring_.next_sqe();
    io_uring_prep_read(&sqe, wakeup_fd_, &wakeup_.value, sizeof wakeup_.value, 0);
    io_uring_sqe_set_data(&sqe, static_cast<completion*>(&wakeup_));
    wakeup_.armed = true;
}

void event_loop::post(std::function<void()> fn) {
    // The wake-up is written under the lock too: once `fn` can be taken, it may end the loop
    // (a posted stop), and the loop's thread may then destroy it and close the eventfd. The
    // loop takes `fn` only under this lock, so the eventfd is still open until it is released.
    std::lock_guard lock(posted_mutex_);
    posted_.push_back(std::move(fn));
    if (!wakeup_pending_.exchange(true, std::memory_order_acq_rel)) {
        std::uint64_t one = 1;
        (void)::write(wakeup_fd_, &one, sizeof one);
    }
}

bool loop_handle::post(std::function<void()> fn) {
    std::lock_guard lock(mutex_);
    if (loop_ == nullptr) return false;
    loop_->post(std::move(fn));
    return true;
}

void event_loop::stop() {
    if (current_loop == this) {
        stop_requested_ = true;
        return;
    }
    post([this] { stop_requested_ = true; });
}

void event_loop::drain_posted() {
    wakeup_pending_.store(false, std::memory_order_release);
    std::vector<std::function<void()>> batch;
    {
        std::lock_guard lock(posted_mutex_);
        batch.swap(posted_);
    }
    arm_wakeup();
    for (auto& fn : batch) fn();
}

void event_loop::cancel(completion* target) {
    io_uring_sqe& sqe = ring_.next_sqe();
    io_uring_prep_cancel64(&sqe, reinterpret_cast<std::uint64_t>(target), 0);
    io_uring_sqe_set_data64(&sqe, 0);
}

buffer_pool* event_loop::receive_buffers() {
    if (!receive_buffers_tried_) {
        receive_buffers_tried_ = true;
        constexpr std::uint16_t group = 1;
        const auto& wanted = receive_buffer_options_;
        if (wanted.count > 0) {
            if (auto pool = buffer_pool::create(ring_, wanted.count, wanted.size, group))
                receive_buffers_ = std::move(*pool);
        }
    }
    return receive_buffers_.get();
}

unsigned event_loop::reap() {
    return ring_.for_each_completion([](const io_uring_cqe& cqe) {
        if (cqe.user_data == 0) return;
        auto* c = reinterpret_cast<completion*>(cqe.user_data);
        c->on_complete(c, cqe);
    });
}

void event_loop::undefer(void* arg) noexcept {
    for (auto* calls : {&deferred_, &running_})
        for (auto& call : *calls)
            if (call.arg == arg) call.fn = nullptr;
}

void event_loop::run_deferred() {
    // Calls deferred meanwhile wait for the next turn; one that destroys another's object
    // takes that one back (undefer) from running_.
    std::swap(deferred_, running_);
    for (std::size_t i = 0; i < running_.size(); ++i)
        if (auto fn = running_[i].fn) fn(running_[i].arg);
    running_.clear();
}

void event_loop::turn(const bool& done) {
    ++stats_.turns;
    // Deferred calls first: what they schedule (a connection's coroutine, woken from a wait
    // that had none) resumes in this same turn.
    if (!deferred_.empty()) run_deferred();
    // Resume only what was ready at the start of the turn, so a coroutine that keeps
    // rescheduling itself cannot starve I/O.
    for (std::size_t n = ready_.size(); n > 0; --n) {
        ++stats_.resumptions;
        ready_.pop().resume();
    }
    now_ = clock::now();
    const std::size_t fired = timers_.expire(now_);
    stats_.timers_fired += fired;
    if (!ready_.empty() || !deferred_.empty() || stop_requested_ || done) {
        ring_.submit();
    } else if (timers_.empty()) {
        ring_.submit_and_wait(std::nullopt);
    } else {
        ring_.submit_and_wait(timers_.next_deadline() - now_);
    }
    if (reap() != 0 && fired != 0) ++stats_.timer_completion_turns;
    if (wakeup_.fired && !wakeup_.closing) {
        wakeup_.fired = false;
        drain_posted();
    }
    now_ = clock::now();
}

void event_loop::run_until(const bool& done) {
    assert(current_loop == this && "an event_loop runs on the thread that created it");
    stop_requested_ = false;
    while (!done && !stop_requested_) turn(done);
    // Hand the kernel whatever the last resumptions queued (cancels, closes, sends).
    if (ring_.has_pending_submissions()) ring_.submit();
}

void event_loop::spawn(task<void> t) {
    ++stats_.spawned;
    auto handle = t.release();
    detached_.adopt(handle);
    schedule(handle);
}

} // namespace snow::io
