// snow/io/ring.cpp: io_uring setup with feature fallback, batched submission, counters.
#include "snow/io/ring.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <initializer_list>
#include <utility>

namespace snow::io {

result<ring> ring::create(ring_options options) {
    ring r;
    // Newest first: SINGLE_ISSUER (6.0) and DEFER_TASKRUN (6.1) let the kernel run completion
    // work only when this thread enters, COOP_TASKRUN (5.19) avoids IPIs. Each older kernel
    // rejects an unknown flag with EINVAL, so drop flags until one set is accepted.
    const unsigned flag_sets[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
        IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
        0,
    };
    int err = -EINVAL;
    for (unsigned flags : flag_sets) {
        io_uring_params params{};
        params.flags = flags | IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
        params.cq_entries = options.entries * options.cq_factor;
        err = io_uring_queue_init_params(options.entries, &r.ring_, &params);
        if (err == -EINVAL) {
            // SUBMIT_ALL (5.18) may be what the kernel refuses; retry the same set without it.
            params = io_uring_params{};
            params.flags = flags | IORING_SETUP_CQSIZE;
            params.cq_entries = options.entries * options.cq_factor;
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
    // Saves the fd lookup on every enter (5.18); harmless to skip when refused.
    (void)io_uring_register_ring_fd(&r.ring_);
    return r;
}

ring::ring(ring&& other) noexcept
    : ring_(other.ring_)
    , features_(other.features_)
    , last_overflow_(other.last_overflow_)
    , live_(std::exchange(other.live_, false))
    , stats_(other.stats_) {}

ring::~ring() {
    if (live_) io_uring_queue_exit(&ring_);
}

io_uring_sqe& ring::next_sqe() {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    while (sqe == nullptr) {
        ++stats_.sq_full;
        submit();
        sqe = io_uring_get_sqe(&ring_);
    }
    return *sqe;
}

io_uring_sqe& ring::next_sqe_linked_to(io_uring_sqe& first) {
    if (io_uring_sqe* sqe = io_uring_get_sqe(&ring_)) return *sqe;
    // The SQ is full and `first` is its last entry. Submitting now would hand the kernel a
    // chain without its end, so submit everything before `first`, then move it to the front.
    io_uring_sqe saved = first;
    ring_.sq.sqe_tail -= 1;
    ++stats_.sq_full;
    submit();
    io_uring_sqe& moved = next_sqe();
    moved = saved;
    return next_sqe();
}

void ring::after_enter(int submitted) noexcept {
    ++stats_.enters;
    if (submitted > 0) stats_.submissions += static_cast<unsigned>(submitted);
    note_overflow();
}

void ring::submit() {
    int n = io_uring_submit_and_get_events(&ring_);
    after_enter(n);
}

void ring::submit_and_wait(std::optional<std::chrono::nanoseconds> timeout) {
    io_uring_cqe* cqe = nullptr;
    unsigned pending = io_uring_sq_ready(&ring_);
    int n;
    if (timeout) {
        auto ns = timeout->count() < 0 ? 0 : timeout->count();
        __kernel_timespec ts{.tv_sec = ns / 1'000'000'000, .tv_nsec = ns % 1'000'000'000};
        n = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
    } else {
        n = io_uring_submit_and_wait(&ring_, 1);
    }
    // submit_and_wait_timeout reports the wait's outcome rather than the count when EXT_ARG
    // is in use; everything that was ready has been handed over either way.
    after_enter(n >= 0 ? static_cast<int>(pending) : 0);
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
    io_uring_unregister_buf_ring(&ring_, group);
    munmap(br, entries * sizeof(io_uring_buf));
}

} // namespace snow::io
