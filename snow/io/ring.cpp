// snow/io/ring.cpp: io_uring setup with feature fallback, batched submission, counters.
#include "snow/io/ring.hpp"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <initializer_list>
#include <span>
#include <utility>

#include "snow/io/sim/kernel.hpp"

namespace snow::io {

namespace {

// struct io_uring_napi of <linux/io_uring.h> (Linux 6.9), which Debian 12's kernel headers
// and liburing 2.3 predate, like its opcode IORING_REGISTER_NAPI.
struct napi_registration {
    std::uint32_t busy_poll_to = 0;    // microseconds
    std::uint8_t prefer_busy_poll = 0; // keep interrupts off while the loop polls
    std::uint8_t pad[3] = {};
    std::uint64_t resv = 0;
};
constexpr unsigned register_napi_opcode = 27;

result<void> register_napi(int ring_fd, unsigned busy_poll_us) {
    napi_registration napi{.busy_poll_to = busy_poll_us};
    if (::syscall(__NR_io_uring_register, ring_fd, register_napi_opcode, &napi, 1) < 0)
        return system_error_code(errno);
    return {};
}

} // namespace

result<ring> ring::create(ring_options options) {
    ring r;
    // An operation with a deadline takes two linked slots, which must fit in one SQ.
    options.entries = std::max(options.entries, 2u);
    options.cq_factor = std::max(options.cq_factor, 1u);
    if (options.simulation != nullptr) {
        // The flags a simulated ring reports are the ones whose semantics it imitates:
        // completion work runs only when the loop enters, and no completion is dropped.
        r.sim_ = options.simulation;
        r.sim_->attach(options.entries, options.entries * options.cq_factor);
        r.ring_.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
        r.features_ = IORING_FEAT_NODROP | IORING_FEAT_EXT_ARG | IORING_FEAT_SUBMIT_STABLE;
        r.detoured_ = true;
        return r;
    }
    // Newest first: SINGLE_ISSUER (6.0) and DEFER_TASKRUN (6.1) let the kernel run completion
    // work only when this thread enters, COOP_TASKRUN (5.19) avoids IPIs. Each older kernel
    // rejects an unknown flag with EINVAL, so drop flags until one set is accepted.
    const unsigned flag_sets[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
        IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
        0,
    };
    // The kernel refuses DEFER_TASKRUN, COOP_TASKRUN and TASKRUN_FLAG beside SQPOLL (the SQ
    // thread, not this one, runs the completion work), so SQPOLL keeps SINGLE_ISSUER only.
    const unsigned sqpoll_flag_sets[] = {
        IORING_SETUP_SQPOLL | IORING_SETUP_SINGLE_ISSUER,
        IORING_SETUP_SQPOLL,
    };
    const std::span<const unsigned> chosen_sets = options.sqpoll
                                                      ? std::span<const unsigned>(sqpoll_flag_sets)
                                                      : std::span<const unsigned>(flag_sets);
    auto parameters = [&options](unsigned flags) {
        io_uring_params params{};
        params.flags = flags | IORING_SETUP_CQSIZE;
        params.cq_entries = options.entries * options.cq_factor;
        if ((flags & IORING_SETUP_SQPOLL) != 0) {
            params.sq_thread_idle = options.sq_thread_idle_ms;
            if (options.sq_thread_cpu >= 0) {
                params.flags |= IORING_SETUP_SQ_AFF;
                params.sq_thread_cpu = static_cast<unsigned>(options.sq_thread_cpu);
            }
        }
        return params;
    };
    int err = -EINVAL;
    for (unsigned flags : chosen_sets) {
        io_uring_params params = parameters(flags | IORING_SETUP_SUBMIT_ALL);
        err = io_uring_queue_init_params(options.entries, &r.ring_, &params);
        if (err == -EINVAL) {
            // SUBMIT_ALL (5.18) may be what the kernel refuses; retry the same set without it.
            params = parameters(flags);
            err = io_uring_queue_init_params(options.entries, &r.ring_, &params);
        }
        if (err == 0) {
            r.features_ = params.features;
            break;
        }
        if (err != -EINVAL) break;
    }
    if (err < 0) return system_error_code(-err);
    r.live_ = true;
    r.faults_ = options.faults;
    r.sqpoll_ = (r.ring_.flags & IORING_SETUP_SQPOLL) != 0;
    r.detoured_ = r.faults_ != nullptr || r.sqpoll_;
    // Saves the fd lookup on every enter (5.18); harmless to skip when refused.
    (void)io_uring_register_ring_fd(&r.ring_);
    if (options.napi_busy_poll_us > 0) {
        // Asked for by name, so a refusal is the caller's to see rather than a silent no-op.
        if (auto registered = register_napi(r.ring_.ring_fd, options.napi_busy_poll_us);
            !registered)
            return registered.error();
    }
    return r;
}

ring::ring(ring&& other) noexcept
    : ring_(other.ring_)
    , features_(other.features_)
    , last_overflow_(other.last_overflow_)
    , live_(std::exchange(other.live_, false))
    , sim_(std::exchange(other.sim_, nullptr))
    , faults_(std::exchange(other.faults_, nullptr))
    , sqpoll_(std::exchange(other.sqpoll_, false))
    , detoured_(std::exchange(other.detoured_, false))
    , failed_in_flight_(other.failed_in_flight_)
    , failed_user_data_(other.failed_user_data_)
    , failed_errno_(other.failed_errno_)
    , stats_(other.stats_) {}

ring::~ring() {
    if (live_) io_uring_queue_exit(&ring_);
    if (sim_ != nullptr) sim_->detach();
}

io_uring_sqe& ring::next_sqe() {
    if (sim_ != nullptr) [[unlikely]]
        return simulated_next_sqe();
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    while (sqe == nullptr) {
        ++stats_.sq_full;
        submit();
        if (sqpoll_) wait_for_sq_space();
        sqe = io_uring_get_sqe(&ring_);
    }
    return *sqe;
}

void ring::reserve(unsigned count) {
    const unsigned space = sim_ != nullptr ? sim_->sq_space_left() : io_uring_sq_space_left(&ring_);
    if (space >= count) return;
    ++stats_.sq_full;
    submit();
    // The SQ thread frees the slots only as it takes the SQEs: until then, wait for it.
    while (sqpoll_ && io_uring_sq_space_left(&ring_) < count) wait_for_sq_space();
}

void ring::wait_for_sq_space() noexcept {
    // Sleeps in the kernel while the SQ is full; returns at once once a slot is free.
    (void)io_uring_sqring_wait(&ring_);
}

void ring::after_enter(int submitted) noexcept {
    ++stats_.enters;
    if (submitted > 0) stats_.submissions += static_cast<unsigned>(submitted);
    note_overflow();
}

void ring::submit() {
    if (detoured_) [[unlikely]] {
        if (sim_ != nullptr) return simulated_enter(false, std::nullopt);
        if (faults_ != nullptr) inject_faults();
        if (sqpoll_) return sqpoll_submit();
    }
    int n = io_uring_submit_and_get_events(&ring_);
    after_enter(n);
}

void ring::sqpoll_submit() noexcept {
    // io_uring_submit enters the kernel only to wake a sleeping SQ thread (or to flush an
    // overflowed CQ); otherwise publishing the SQ tail is the whole submission. enters
    // counts the wake-ups, which is when a system call is sure to be made.
    const bool asleep = (IO_URING_READ_ONCE(*ring_.sq.kflags) & IORING_SQ_NEED_WAKEUP) != 0;
    const int n = io_uring_submit(&ring_);
    if (asleep) ++stats_.enters;
    if (n > 0) stats_.submissions += static_cast<unsigned>(n);
    note_overflow();
}

void ring::sqpoll_submit_and_wait(std::optional<std::chrono::nanoseconds> timeout) noexcept {
    sqpoll_submit();
    // The SQ thread posts completions without this thread entering: wait only for none.
    if (io_uring_cq_ready(&ring_) > 0) return;
    io_uring_cqe* cqe = nullptr;
    ++stats_.enters;
    if (timeout) {
        __kernel_timespec ts = to_kernel_timespec(*timeout);
        (void)io_uring_wait_cqe_timeout(&ring_, &cqe, &ts);
    } else {
        (void)io_uring_wait_cqe(&ring_, &cqe);
    }
    note_overflow();
}

void ring::submit_and_wait(std::optional<std::chrono::nanoseconds> timeout) {
    if (detoured_) [[unlikely]] {
        if (sim_ != nullptr) return simulated_enter(true, timeout);
        if (faults_ != nullptr) inject_faults();
        if (sqpoll_) return sqpoll_submit_and_wait(timeout);
    }
    io_uring_cqe* cqe = nullptr;
    unsigned pending = io_uring_sq_ready(&ring_);
    int n;
    if (timeout) {
        __kernel_timespec ts = to_kernel_timespec(*timeout);
        n = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
    } else {
        n = io_uring_submit_and_wait(&ring_, 1);
    }
    // submit_and_wait_timeout reports the wait's outcome rather than the count when EXT_ARG
    // is in use; everything that was ready has been handed over either way.
    after_enter(n >= 0 ? static_cast<int>(pending) : 0);
}

bool ring::has_pending_submissions() const noexcept {
    if (sim_ != nullptr) [[unlikely]]
        return sim_->sq_ready() > 0;
    return io_uring_sq_ready(&ring_) > 0;
}

unsigned ring::sq_entries() const noexcept {
    return sim_ != nullptr ? sim_->sq_entries() : ring_.sq.ring_entries;
}

unsigned ring::cq_entries() const noexcept {
    return sim_ != nullptr ? sim_->cq_entries() : ring_.cq.ring_entries;
}

io_uring_sqe& ring::simulated_next_sqe() {
    io_uring_sqe* sqe = sim_->get_sqe();
    while (sqe == nullptr) {
        ++stats_.sq_full;
        submit();
        sqe = sim_->get_sqe();
    }
    return *sqe;
}

void ring::simulated_enter(bool wait, std::optional<std::chrono::nanoseconds> timeout) {
    const int submitted = sim_->enter(wait, timeout);
    ++stats_.enters;
    stats_.submissions += static_cast<unsigned>(submitted);
    if (sim_->cq_overflowing()) ++stats_.overflows;
}

std::span<const io_uring_cqe> ring::simulated_completions() {
    return sim_->take_completions();
}

void ring::inject_faults() noexcept {
    // The SQEs taken since the last submission sit between sqe_head and sqe_tail, in the
    // order the kernel will take them (liburing maps SQ slot i to sqes[i]). snow submits a
    // chain whole (reserve), so the first of them heads a chain.
    fault_plan& plan = *faults_;
    io_uring_sq& sq = ring_.sq;
    bool linked_to = false; // the previous SQE links to this one
    for (unsigned i = sq.sqe_head; i != sq.sqe_tail; ++i) {
        io_uring_sqe& sqe = sq.sqes[i & sq.ring_mask];
        const bool heads = !linked_to;
        const bool links = (sqe.flags & (IOSQE_IO_LINK | IOSQE_IO_HARDLINK)) != 0;
        linked_to = links;
        if (!heads || sqe.user_data == 0) continue;
        const int error = fault_plan::errno_for(sqe.opcode, plan.second_errno);
        if (error == 0) continue;
        // Only a linked timeout may follow: a NOP would let any other successor run, where
        // a failed head cancels it.
        if (links && (i + 1 == sq.sqe_tail ||
                      sq.sqes[(i + 1) & sq.ring_mask].opcode != IORING_OP_LINK_TIMEOUT))
            continue;
        if (++plan.eligible == plan.fail_nth) fail_request(sqe, error);
    }
}

void ring::fail_request(io_uring_sqe& sqe, int error) noexcept {
    fault_plan& plan = *faults_;
    plan.fired = true;
    plan.failed_opcode = sqe.opcode;
    plan.failed_errno = error;
    // A close that fails has released the descriptor all the same: the kernel takes it out
    // of the table before the last flush can report an error.
    if (sqe.opcode == IORING_OP_CLOSE && (sqe.flags & IOSQE_FIXED_FILE) == 0 && sqe.file_index == 0)
        (void)::close(sqe.fd);
    const std::uint64_t user_data = sqe.user_data;
    const auto link = static_cast<std::uint8_t>(sqe.flags & (IOSQE_IO_LINK | IOSQE_IO_HARDLINK));
    // A NOP reads no buffer and no descriptor; without BUFFER_SELECT it takes no provided
    // buffer, and it completes once, so a multishot request ends with this completion.
    io_uring_prep_nop(&sqe);
    sqe.flags = link;
    sqe.user_data = user_data;
    failed_in_flight_ = true;
    failed_user_data_ = user_data;
    failed_errno_ = error;
}

void ring::note_overflow() noexcept {
    // With IORING_FEAT_NODROP (5.5) the kernel keeps completions that did not fit in the CQ
    // and hands them over on a later enter, which every loop turn makes: none is lost.
    if (io_uring_cq_has_overflow(&ring_)) ++stats_.overflows;
    std::uint32_t dropped = *ring_.cq.koverflow;
    if (dropped != last_overflow_) {
        stats_.lost += dropped - last_overflow_;
        last_overflow_ = dropped;
    }
}

result<io_uring_buf_ring*> ring::register_buffer_ring(unsigned entries, std::uint16_t group) {
    std::size_t bytes = entries * sizeof(io_uring_buf);
    void* mapped = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mapped == MAP_FAILED) return system_error_code(errno);
    auto* br = static_cast<io_uring_buf_ring*>(mapped);
    io_uring_buf_ring_init(br);
    if (sim_ != nullptr) {
        sim_->register_buffer_ring(br, entries, group);
        return br;
    }
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<std::uint64_t>(br);
    reg.ring_entries = entries;
    reg.bgid = group;
    int err = io_uring_register_buf_ring(&ring_, &reg, 0);
    if (err < 0) {
        munmap(mapped, bytes);
        return system_error_code(-err);
    }
    return br;
}

void ring::unregister_buffer_ring(io_uring_buf_ring* br, unsigned entries, std::uint16_t group) {
    if (sim_ != nullptr)
        sim_->unregister_buffer_ring(group);
    else
        io_uring_unregister_buf_ring(&ring_, group);
    munmap(br, entries * sizeof(io_uring_buf));
}

std::string describe_ring_failure(std::error_code error) {
    // One line with the cause and the remedy: a program that cannot start should say why
    // once, not abort or claim to be serving. Each errno is what io_uring_setup(2) returns
    // for that cause, so the remedy can be specific.
    std::string remedy;
    std::string what = "cannot set up io_uring";
    if (error == std::errc::operation_not_permitted) {
        // Docker 25+ and containerd deny io_uring_* in their default seccomp profiles;
        // kernel.io_uring_disabled (6.6) gives the same EPERM.
        what = "io_uring is not available";
        remedy = "blocked by a seccomp profile, such as Docker 25+'s default, or by sysctl "
                 "kernel.io_uring_disabled; see README \"Running in a container\"";
    } else if (error == std::errc::function_not_supported) {
        what = "io_uring is not available";
        remedy = "this kernel has no io_uring, or a sandbox such as gVisor hides it; snow "
                 "needs Linux 5.19 or newer";
    } else if (error == std::errc::not_enough_memory) {
        // Before 5.12 the rings count against RLIMIT_MEMLOCK, often only 64 KiB.
        remedy = "kernels before 5.12 charge rings to the locked-memory limit: raise it "
                 "(ulimit -l, docker run --ulimit memlock=-1) or upgrade the kernel";
    } else if (error == std::errc::too_many_files_open ||
               error == std::errc::too_many_files_open_in_system) {
        remedy = "out of file descriptors: raise the limit (ulimit -n)";
    } else if (error == std::errc::invalid_argument) {
        remedy = "this kernel's io_uring is too old; snow needs Linux 5.19 or newer";
    }
    std::string line = "snow: " + what + ": " + error.message();
    if (!remedy.empty()) line += " (" + remedy + ")";
    return line;
}

} // namespace snow::io
