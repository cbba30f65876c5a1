// snow/io/sim/kernel.cpp: the simulated kernel's submission, timers and completion posting
// (cancellation races: kernel_cancel.cpp; sockets: kernel_sockets.cpp). Each rule below names
// the real kernel's behaviour it imitates: the simulation may choose among outcomes the
// kernel could produce, never invent one.
#include "snow/io/sim/kernel.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <thread>
#include <utility>

namespace snow::io::sim {
namespace {

// Virtual time starts far from steady_clock's epoch, so that a default-constructed
// time_point (which some code uses to mean "unset") is never a time a run reaches.
constexpr clock::time_point virtual_epoch{std::chrono::hours(24)};

std::uint64_t mix(std::uint64_t hash, std::uint64_t word) noexcept {
    hash ^= word;
    return random::splitmix64(hash);
}

constexpr std::pair<unsigned, const char*> opcode_names[] = {
    {IORING_OP_NOP, "NOP"},
    {IORING_OP_READ, "READ"},
    {IORING_OP_WRITE, "WRITE"},
    {IORING_OP_TIMEOUT, "TIMEOUT"},
    {IORING_OP_TIMEOUT_REMOVE, "TIMEOUT_REMOVE"},
    {IORING_OP_LINK_TIMEOUT, "LINK_TIMEOUT"},
    {IORING_OP_ASYNC_CANCEL, "ASYNC_CANCEL"},
    {IORING_OP_CLOSE, "CLOSE"},
    {IORING_OP_ACCEPT, "ACCEPT"},
    {IORING_OP_CONNECT, "CONNECT"},
    {IORING_OP_RECV, "RECV"},
    {IORING_OP_SEND, "SEND"},
    {IORING_OP_SENDMSG, "SENDMSG"},
    {IORING_OP_SHUTDOWN, "SHUTDOWN"}};

const char* opcode_name(unsigned opcode) noexcept {
    for (const auto& [code, name] : opcode_names)
        if (code == opcode) return name;
    return "?";
}

clock::duration from_timespec(const __kernel_timespec& ts) noexcept {
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

thread_local kernel* simulating = nullptr;

} // namespace

faults faults::draw(random& r) noexcept {
    faults f;
    f.defer = r.unit() * 0.6;
    f.cancel_wins = r.unit();
    f.interrupt = r.unit() * 0.2;
    f.enter_cost = std::chrono::nanoseconds(r.below(50'000));
    return f;
}

std::string faults::describe() const {
    return fmt::format("defer={:.3f} cancel_wins={:.3f} interrupt={:.3f} worker_reads={:.3f} "
                       "enter_cost={}ns",
                       defer, cancel_wins, interrupt, worker_reads, enter_cost.count());
}

kernel::kernel(std::uint64_t seed) : kernel(kernel_options{.seed = seed}) {}

kernel::kernel(const kernel_options& options)
    : seed_(options.seed)
    , random_(options.seed)
    , odds_(options.odds ? *options.odds : faults::draw(random_))
    , real_wait_limit_(options.real_wait_limit)
    , now_(virtual_epoch)
    , network_(options.seed, now_, options.network_odds) {
    // From here on this thread's io::clock reads virtual time, and its socket calls go to
    // the simulated network.
    previous_clock_ = io::detail::virtual_now;
    io::detail::virtual_now = &now_;
    previous_ = std::exchange(simulating, this);
}

kernel* kernel::on_this_thread() noexcept {
    return simulating;
}

kernel::~kernel() {
    simulating = previous_;
    io::detail::virtual_now = previous_clock_;
}

void kernel::fail(const std::string& what) const {
    std::fprintf(stderr, "snow sim: %s\n  replay: %s\n%s", what.c_str(), describe().c_str(),
                 in_flight_report().c_str());
    std::abort();
}

bool kernel::hang(const std::string& what) {
    if (!on_hang_) fail(what);
    // Once only: a run whose teardown hangs again cannot be ended from here.
    if (stats_.hangs > 0) fail(what + " (again, in the teardown of the run that hung)");
    ++stats_.hangs;
    on_hang_(what + "\n" + in_flight_report());
    return true;
}

std::string kernel::describe() const {
    return fmt::format("SNOW_SIM_SEED={} ({})", seed_, odds_.describe());
}

namespace {
// A completion with user_data 0 (a linked timeout's, say) concerns nobody: the loop skips
// it, and its result may still be on its way when the loop has nothing else to wait for,
// as on a real kernel, where ring teardown discards it.
bool concerns_nobody(const io_uring_cqe& cqe) noexcept {
    return cqe.user_data == 0;
}
} // namespace

std::size_t kernel::in_flight() const noexcept {
    std::size_t n = sq_count_;
    for (const auto& [id, o] : ops_) n += o.state == phase::ready && o.sqe.user_data == 0 ? 0 : 1;
    for (const auto& cqe : cq_) n += concerns_nobody(cqe) ? 0 : 1;
    for (const auto& cqe : overflow_) n += concerns_nobody(cqe) ? 0 : 1;
    return n;
}

std::string kernel::in_flight_report() const {
    std::string out;
    for (const auto& [id, o] : ops_) {
        if (o.state == phase::ready && o.sqe.user_data == 0) continue;
        out +=
            fmt::format("  op {} {} fd={} user_data={:#x} {}\n", id, opcode_name(o.sqe.opcode),
                        o.sqe.fd, o.sqe.user_data, o.state == phase::ready ? "ready" : "blocked");
    }
    if (!cq_.empty() || !overflow_.empty())
        out += fmt::format("  {} completions not reaped\n", cq_.size() + overflow_.size());
    if (sq_count_ > 0) out += fmt::format("  {} SQEs not submitted\n", sq_count_);
    return out + network_.report();
}

void kernel::attach(unsigned sq_entries, unsigned cq_entries) {
    if (attached_) fail("one simulated kernel serves one ring");
    attached_ = true;
    sq_entries_ = sq_entries;
    cq_entries_ = cq_entries;
    sq_.assign(sq_entries, io_uring_sqe{});
    sq_count_ = 0;
}

io_uring_sqe* kernel::get_sqe() noexcept {
    if (sq_count_ == sq_entries_) return nullptr;
    io_uring_sqe* sqe = &sq_[sq_count_++];
    std::memset(static_cast<void*>(sqe), 0, sizeof *sqe);
    return sqe;
}

void kernel::register_buffer_ring(io_uring_buf_ring* ring, unsigned entries, std::uint16_t group) {
    buffer_rings_[group] = {.ring = ring, .entries = entries, .head = 0};
}

void kernel::unregister_buffer_ring(std::uint16_t group) noexcept {
    auto it = buffer_rings_.find(group);
    if (it == buffer_rings_.end()) return;
    // Every buffer the kernel handed out should be back by now: the ring's tail, which
    // user space advances as it gives buffers back, is then a whole lap past our head.
    const provided_ring& r = it->second;
    const auto tail = __atomic_load_n(&r.ring->tail, __ATOMIC_ACQUIRE);
    const unsigned free_buffers = static_cast<std::uint16_t>(tail - r.head);
    if (free_buffers < r.entries) stats_.buffers_kept += r.entries - free_buffers;
    buffer_rings_.erase(it);
}

// --- time ---

void kernel::advance(clock::duration by) {
    if (by > clock::duration::zero()) now_ += by;
    fire_timers();
}

void kernel::jump_to(clock::time_point when) {
    if (when > now_) {
        now_ = when;
        ++stats_.clock_jumps;
    }
    fire_timers();
}

void kernel::arm_timer(op& o) {
    const request& sqe = o.sqe;
    if (sqe.addr == 0) fail("a timeout without a timespec");
    const auto& ts = *reinterpret_cast<const __kernel_timespec*>(sqe.addr);
    if ((sqe.op_flags & IORING_TIMEOUT_ABS) != 0) {
        // CLOCK_MONOTONIC absolute: virtual time shares steady_clock's epoch.
        o.deadline = clock::time_point(from_timespec(ts));
    } else {
        o.deadline = now_ + from_timespec(ts);
    }
    timers_.emplace(o.deadline, o.id);
}

void kernel::disarm_timer(op& o) noexcept {
    timers_.erase({o.deadline, o.id});
}

void kernel::fire_timers() {
    while (!timers_.empty() && timers_.begin()->first <= now_) {
        const std::uint64_t id = timers_.begin()->second;
        timers_.erase(timers_.begin());
        op& o = ops_.at(id);
        if (o.sqe.opcode == IORING_OP_TIMEOUT) {
            ++stats_.timeouts_fired;
            make_ready(o, -ETIME);
            continue;
        }
        // A linked timeout that fires cancels the op it guards (io_link_timeout_fn): the op
        // ends with -ECANCELED and the timeout with -ETIME, unless the op's own result won
        // the race, in which case the timeout reports the failed cancel.
        ++stats_.link_timeouts_fired;
        op& target = ops_.at(o.guarded);
        target.link_timeout = 0;
        const bool won = target.state == phase::blocked && try_cancel(target);
        make_ready(o, won ? -ETIME : -EALREADY);
    }
}

// --- submission ---

kernel::op& kernel::add(const io_uring_sqe& sqe) {
    const std::uint64_t id = next_id_++;
    op& o = ops_[id];
    o.id = id;
    o.sqe = request{.user_data = sqe.user_data,
                    .addr = sqe.addr,
                    .off = sqe.off,
                    .fd = sqe.fd,
                    .len = sqe.len,
                    .op_flags = sqe.timeout_flags,
                    .buf_group = sqe.buf_group,
                    .ioprio = sqe.ioprio,
                    .opcode = sqe.opcode,
                    .flags = sqe.flags};
    if (sqe.user_data != 0) by_data_.emplace(sqe.user_data, id);
    ++stats_.submitted;
    return o;
}

kernel::op* kernel::find(std::uint64_t user_data) {
    // The kernel cancels the oldest match; ids grow in submission order.
    op* best = nullptr;
    auto [first, last] = by_data_.equal_range(user_data);
    for (auto it = first; it != last; ++it) {
        op& o = ops_.at(it->second);
        if (best == nullptr || o.id < best->id) best = &o;
    }
    return best;
}

int kernel::enter(bool wait, std::optional<std::chrono::nanoseconds> timeout) {
    if (!attached_) fail("enter on a detached simulated kernel");
    ++stats_.enters;
    // Every enter takes a little virtual time, so timers interleave with completions.
    advance(std::chrono::nanoseconds(random_.below(odds_.enter_cost.count() + 1)));

    // SUBMIT_ALL: every SQE is consumed, in order; a linked pair arrives together.
    const unsigned submitted = sq_count_;
    for (unsigned i = 0; i < submitted; ++i) {
        bool skip_next = false;
        submit_one(sq_[i], i + 1 < submitted ? &sq_[i + 1] : nullptr, skip_next);
        if (skip_next) ++i;
    }
    sq_count_ = 0;

    flush_overflow();
    poll_readers();
    poll_network();
    post_ready(false);
    if (!wait || !cq_.empty()) return static_cast<int>(submitted);

    // A signal ends a wait early (-EINTR); the submissions above still happened.
    if (random_.chance(odds_.interrupt)) {
        ++stats_.interrupted_waits;
        return static_cast<int>(submitted);
    }
    std::optional<clock::time_point> until;
    if (timeout) until = now_ + *timeout;
    const auto real_start = std::chrono::steady_clock::now();
    for (;;) {
        if (!cq_.empty()) break; // a multishot posted while the network moved
        if (!ready_.empty()) {
            post_ready(true);
            if (!cq_.empty()) break;
        }
        if (const auto next = next_event(); next && (!until || *next <= *until)) {
            // Nothing can run before the next timer or delivery: skip straight to it.
            jump_to(*next);
            poll_network();
            continue;
        }
        if (until) {
            jump_to(*until); // the wait timed out (-ETIME)
            break;
        }
        if (readers_.empty() &&
            hang("the loop waits for a completion that can never come (a hang on a real kernel)"))
            break;
        // Only a real descriptor (another thread's post to the loop's eventfd) can end
        // this wait: check it now and then, in real time, up to a limit.
        if (std::chrono::steady_clock::now() - real_start > real_wait_limit_ &&
            hang("nothing in flight can complete: only a real descriptor could end the wait, "
                 "and none did within the real-wait limit"))
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        poll_readers();
    }
    return static_cast<int>(submitted);
}

void kernel::submit_one(const io_uring_sqe& sqe, const io_uring_sqe* next, bool& skip_next) {
    const bool linked = (sqe.flags & (IOSQE_IO_LINK | IOSQE_IO_HARDLINK)) != 0;
    if (linked && (next == nullptr || next->opcode != IORING_OP_LINK_TIMEOUT))
        fail(fmt::format("links other than op + LINK_TIMEOUT are not simulated yet ({})",
                         opcode_name(sqe.opcode)));
    if (sqe.opcode == IORING_OP_LINK_TIMEOUT) fail("a LINK_TIMEOUT with no op before it");
    op& o = add(sqe);
    if (linked) {
        skip_next = true;
        op& guard = add(*next);
        guard.guarded = o.id;
        o.link_timeout = guard.id;
        // The timer starts when the op is issued (io_queue_linked_timeout).
        arm_timer(guard);
    }
    switch (sqe.opcode) {
    case IORING_OP_NOP:
        // Completes inline during submission: no cancel can reach it.
        make_ready(o, 0);
        post(o);
        break;
    case IORING_OP_TIMEOUT:
        if (sqe.off != 0 || (sqe.timeout_flags & ~IORING_TIMEOUT_ABS) != 0)
            fail("only plain relative or absolute TIMEOUTs are simulated");
        arm_timer(o);
        break;
    case IORING_OP_TIMEOUT_REMOVE: {
        if (sqe.timeout_flags != 0) fail("TIMEOUT_REMOVE updates are not simulated");
        make_ready(o, remove_timeout(sqe.addr));
        post(o);
        break;
    }
    case IORING_OP_ASYNC_CANCEL: {
        const std::uint32_t flags = sqe.cancel_flags;
        if ((flags & ~IORING_ASYNC_CANCEL_ALL) != 0)
            fail("ASYNC_CANCEL by fd or of any request is not simulated yet");
        ++stats_.cancels;
        make_ready(o, cancel(sqe.addr, (flags & IORING_ASYNC_CANCEL_ALL) != 0));
        post(o);
        break;
    }
    case IORING_OP_READ:
        // A real descriptor (the loop's wake-up eventfd, a test's pipe): read through to it.
        if (!try_read(o)) readers_.push_back(o.id);
        break;
    case IORING_OP_WRITE: {
        const ssize_t n = ::write(sqe.fd, reinterpret_cast<const void*>(sqe.addr), sqe.len);
        make_ready(o, n < 0 ? -errno : static_cast<int>(n));
        break;
    }
    case IORING_OP_CLOSE:
        if (network::is_simulated(sqe.fd))
            make_ready(o, network_.close(sqe.fd) < 0 ? -errno : 0);
        else
            make_ready(o, ::close(sqe.fd) < 0 ? -errno : 0);
        post(o);
        break;
    case IORING_OP_CONNECT:
        // The kernel copies the address as it prepares the request (move_addr_to_kernel).
        o.peer_length = static_cast<socklen_t>(std::min<std::uint64_t>(sqe.off, sizeof o.peer));
        std::memcpy(&o.peer, reinterpret_cast<const void*>(sqe.addr), o.peer_length);
        [[fallthrough]];
    case IORING_OP_ACCEPT:
    case IORING_OP_RECV:
    case IORING_OP_SEND:
    case IORING_OP_SENDMSG:
        note_retry(sqe);
        if (!network::is_simulated(sqe.fd))
            fail(fmt::format("{} on real descriptor {}: only simulated sockets are",
                             opcode_name(sqe.opcode), sqe.fd));
        if (!try_network(o)) sockets_waiting_.push_back(o.id);
        break;
    case IORING_OP_SHUTDOWN:
        make_ready(o, network_.shutdown(sqe.fd, static_cast<int>(sqe.len)));
        post(o);
        break;
    default:
        fail(fmt::format("opcode {} is not simulated yet", static_cast<unsigned>(sqe.opcode)));
    }
}

// --- completion ---

bool kernel::try_read(op& o) {
    // Reads through to a real descriptor without blocking, whatever its own mode.
    const int fd = o.sqe.fd;
    if (o.fd_mode < 0) {
        o.fd_mode = ::fcntl(fd, F_GETFL);
        if (o.fd_mode < 0) {
            make_ready(o, -errno);
            return true;
        }
    }
    const int mode = o.fd_mode;
    if ((mode & O_NONBLOCK) == 0) (void)::fcntl(fd, F_SETFL, mode | O_NONBLOCK);
    const ssize_t n = ::read(fd, reinterpret_cast<void*>(o.sqe.addr), o.sqe.len);
    const int error = errno;
    if ((mode & O_NONBLOCK) == 0) (void)::fcntl(fd, F_SETFL, mode);
    if (n < 0 && (error == EAGAIN || error == EWOULDBLOCK)) return false;
    make_ready(o, n < 0 ? -error : static_cast<int>(n));
    return true;
}

void kernel::poll_readers() {
    std::vector<std::uint64_t> still;
    for (std::uint64_t id : readers_) {
        auto it = ops_.find(id);
        if (it == ops_.end() || it->second.state != phase::blocked) continue;
        if (!try_read(it->second)) still.push_back(id);
    }
    readers_ = std::move(still);
}

void kernel::make_ready(op& o, int res, std::uint32_t flags) {
    if (o.state == phase::ready) fail("an op completed twice");
    o.state = phase::ready;
    o.res = res;
    o.flags = flags;
    if (o.sqe.opcode == IORING_OP_TIMEOUT) disarm_timer(o);
    ready_.push_back(o.id);
    // A completed op disarms its linked timeout, which then ends with -ECANCELED
    // (io_disarm_next); a timeout that already fired is left to report its own result.
    if (o.link_timeout != 0) {
        op& guard = ops_.at(o.link_timeout);
        o.link_timeout = 0;
        if (guard.state == phase::blocked) {
            disarm_timer(guard);
            make_ready(guard, -ECANCELED);
        }
    }
}

void kernel::post(op& o) {
    std::erase(ready_, o.id);
    const std::uint64_t id = o.id;
    const std::uint64_t user_data = o.sqe.user_data;
    const int res = o.res;
    const std::uint32_t flags = o.flags;
    if (user_data != 0) {
        auto [first, last] = by_data_.equal_range(user_data);
        for (auto it = first; it != last; ++it) {
            if (it->second == id) {
                by_data_.erase(it);
                break;
            }
        }
    }
    ops_.erase(id);
    post_cqe(id, user_data, res, flags);
}

void kernel::post_cqe(std::uint64_t id, std::uint64_t user_data, int res, std::uint32_t flags) {
    ++stats_.completed;
    trace_ = mix(trace_, id);
    trace_ = mix(trace_, static_cast<std::uint32_t>(res));
    trace_ = mix(trace_, flags);
    trace_ = mix(trace_, static_cast<std::uint64_t>(now_.time_since_epoch().count()));
    io_uring_cqe cqe{};
    cqe.user_data = user_data;
    cqe.res = res;
    cqe.flags = flags;
    // NODROP: a full CQ keeps the rest back, in order, for a later enter.
    if (!overflow_.empty() || cq_.size() >= cq_entries_) {
        ++stats_.overflowed;
        overflow_.push_back(cqe);
    } else {
        cq_.push_back(cqe);
    }
}

void kernel::flush_overflow() {
    std::size_t moved = 0;
    while (moved < overflow_.size() && cq_.size() < cq_entries_) cq_.push_back(overflow_[moved++]);
    overflow_.erase(overflow_.begin(), overflow_.begin() + static_cast<std::ptrdiff_t>(moved));
}

void kernel::post_ready(bool need_one) {
    if (ready_.empty()) return;
    // Task work runs in an order the simulation picks; some of it not yet at all.
    std::vector<std::uint64_t> batch = std::move(ready_);
    ready_.clear();
    for (std::size_t i = batch.size(); i > 1; --i) std::swap(batch[i - 1], batch[random_.below(i)]);
    std::vector<std::uint64_t> held;
    bool posted = false;
    for (std::uint64_t id : batch) {
        if (random_.chance(odds_.defer)) {
            held.push_back(id);
            continue;
        }
        auto it = ops_.find(id);
        if (it == ops_.end()) continue;
        post(it->second);
        posted = true;
    }
    if (need_one && !posted && !held.empty()) {
        post(ops_.at(held.back()));
        held.pop_back();
    }
    stats_.deferred += held.size();
    // Whatever became ready while posting (a linked timeout disarmed) is already queued.
    held.insert(held.end(), ready_.begin(), ready_.end());
    ready_ = std::move(held);
}

std::span<const io_uring_cqe> kernel::take_completions() {
    reaping_.swap(cq_);
    cq_.clear();
    return reaping_;
}

} // namespace snow::io::sim
