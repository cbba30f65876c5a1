// snow/io/ring.hpp: owns one io_uring and is the only code that talks to the kernel's
// submission and completion queues. The event loop reaches the kernel through this narrow
// seam alone (next_sqe, submit, submit_and_wait, for_each_completion, buffer rings), so a
// simulated ring can stand in for it in tests.
#pragma once

#include <liburing.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <utility>

#include "snow/core/export.hpp"
#include "snow/core/result.hpp"
#include "snow/io/fault_plan.hpp"

namespace snow::io {

namespace sim {
class kernel;
}

/// What the ring has done since it was created. Read them to see batching at work.
struct ring_stats {
    std::uint64_t submissions = 0; ///< SQEs handed to the kernel
    std::uint64_t completions = 0; ///< CQEs reaped
    std::uint64_t enters = 0;      ///< io_uring_enter system calls made
    std::uint64_t overflows = 0;   ///< enters that found completions held back by a full CQ
    std::uint64_t lost = 0;        ///< completions the kernel dropped (only without NODROP)
    std::uint64_t sq_full = 0;     ///< times the SQ filled up and was flushed early
};

/// The sizes of a ring's queues, and opt-in kernel modes. The modes are off by default
/// because they did not pay on the benchmarks (bench/README.md, "Opt-in ring experiments");
/// a simulated ring ignores them.
struct ring_options {
    unsigned entries =
        1024; ///< SQ size (at least 2, for a linked pair); the CQ is cq_factor times larger
    /// The completion queue's size as a multiple of `entries`.
    unsigned cq_factor = 8;
    /// Run over this simulated kernel instead of io_uring (deterministic tests; see
    /// snow/io/sim/kernel.hpp). It must outlive the ring. Null: the real kernel.
    sim::kernel* simulation = nullptr;
    /// Fail-nth for tests: count the requests handed to the real kernel and fail the one
    /// the plan names (see snow/io/fault_plan.hpp). It must outlive the ring. Ignored with a
    /// simulation, which draws its own faults. Null: no request is touched.
    fault_plan* faults = nullptr;

    /// IORING_SETUP_SQPOLL: a kernel thread polls the SQ, so submitting needs no system call
    /// while it is awake. It spins on a CPU of its own (without sq_thread_cpu, wherever the
    /// scheduler puts it): it pays only with a spare core per ring. The ring is then set up
    /// without DEFER_TASKRUN and COOP_TASKRUN, which the kernel refuses beside it.
    bool sqpoll = false;
    /// With sqpoll: how long the SQ thread spins without work before it sleeps (the next
    /// submit then wakes it with one system call).
    unsigned sq_thread_idle_ms = 1000;
    /// With sqpoll: the CPU to pin the SQ thread to (IORING_SETUP_SQ_AFF), or -1 for none.
    /// It must be a CPU the process may run on, or setup fails with EINVAL.
    int sq_thread_cpu = -1;
    /// Busy-poll the NIC's receive queues for this many microseconds while waiting for
    /// completions (IORING_REGISTER_NAPI, Linux 6.9), instead of sleeping until the
    /// interrupt; 0: no busy polling. It helps only sockets on a NAPI device, not loopback.
    /// A kernel that refuses it fails ring::create with its error (EINVAL before 6.9).
    unsigned napi_busy_poll_us = 0;
};

/// The kernel's form of a relative timeout; negative durations are zero.
inline __kernel_timespec to_kernel_timespec(std::chrono::nanoseconds d) noexcept {
    const auto ns = d.count() < 0 ? 0 : d.count();
    return {.tv_sec = ns / 1'000'000'000, .tv_nsec = ns % 1'000'000'000};
}

/// One io_uring instance: the only code in snow that calls liburing. It hands out submission
/// entries, submits them in batches, and reaps completions; an event_loop owns one.
class SNOW_API ring {
public:
    /// Sets up a ring with SINGLE_ISSUER, DEFER_TASKRUN and COOP_TASKRUN when the kernel has
    /// them, falling back flag by flag (with options.sqpoll: SQPOLL, with SINGLE_ISSUER when
    /// the kernel has it). Errors: the kernel's (ENOSYS without io_uring, EPERM when io_uring
    /// is disabled, ENOMEM; EINVAL for a napi_busy_poll_us the kernel does not support).
    static result<ring> create(ring_options options = {});

    /// Takes the ring of `other`, which is left closed.
    ring(ring&& other) noexcept;
    ring& operator=(ring&&) = delete;
    ring(const ring&) = delete;
    ring& operator=(const ring&) = delete;
    ~ring();

    /// Next free SQE, cleared. If the SQ is full, submits what is pending first. Never null.
    io_uring_sqe& next_sqe();

    /// Makes room for `count` SQEs, submitting what is pending if the SQ lacks it, so that
    /// the next `count` calls of next_sqe() never flush. A link chain takes its slots this
    /// way: a submission that ended inside a chain would hand the kernel half of it.
    void reserve(unsigned count);

    /// Submits pending SQEs without waiting. With DEFER_TASKRUN this also runs completion
    /// work, so completions become visible to for_each_completion. With SQPOLL it makes a
    /// system call only to wake a sleeping SQ thread.
    void submit();

    /// Submits pending SQEs and waits until at least one completion is ready or `timeout`
    /// elapses (no timeout: wait indefinitely). One system call; with SQPOLL none when a
    /// completion is ready already.
    void submit_and_wait(std::optional<std::chrono::nanoseconds> timeout);

    /// Calls `fn(const io_uring_cqe&)` for each ready completion, then marks them seen.
    /// `fn` may prepare new SQEs but must not call submit.
    template <typename Fn>
    unsigned for_each_completion(Fn&& fn) {
        if (detoured_) [[unlikely]] {
            // The real kernel with a fault plan or SQPOLL: faulted_completions passes every
            // CQE through as it is unless a failure is in flight.
            if (sim_ == nullptr) return faulted_completions(fn);
            const std::span<const io_uring_cqe> batch = simulated_completions();
            for (const io_uring_cqe& cqe : batch) fn(cqe);
            stats_.completions += batch.size();
            return static_cast<unsigned>(batch.size());
        }
        unsigned head;
        unsigned count = 0;
        io_uring_cqe* cqe;
        io_uring_for_each_cqe(&ring_, head, cqe) {
            fn(*cqe);
            ++count;
        }
        io_uring_cq_advance(&ring_, count);
        stats_.completions += count;
        return count;
    }

    /// Registers a provided-buffer ring of `entries` slots (a power of two) under `group`.
    /// Needs Linux 5.19. Returns the mapped ring; free it with unregister_buffer_ring.
    result<io_uring_buf_ring*> register_buffer_ring(unsigned entries, std::uint16_t group);
    /// Unregisters and unmaps a ring that register_buffer_ring() returned.
    void unregister_buffer_ring(io_uring_buf_ring* ring, unsigned entries, std::uint16_t group);

    /// Whether SQEs are waiting to be submitted.
    bool has_pending_submissions() const noexcept;
    /// The IORING_SETUP_* flags the ring was created with.
    unsigned setup_flags() const noexcept { return ring_.flags; }
    /// The submission queue's size.
    unsigned sq_entries() const noexcept;
    /// The completion queue's size.
    unsigned cq_entries() const noexcept;
    /// The IORING_FEAT_* flags the kernel reported.
    unsigned features() const noexcept { return features_; }
    /// What the ring has done so far.
    const ring_stats& stats() const noexcept { return stats_; }
    /// The simulated kernel this ring runs over, or null for the real one.
    sim::kernel* simulation() const noexcept { return sim_; }

    /// The fault plan the ring follows, or null.
    fault_plan* faults() const noexcept { return faults_; }

private:
    ring() = default;
    // The simulated and the faulted paths, out of line so that the real one stays as it
    // was: each public call tests one member once (a branch always predicted the same way)
    // and goes on to liburing.
    io_uring_sqe& simulated_next_sqe();
    void simulated_enter(bool wait, std::optional<std::chrono::nanoseconds> timeout);
    std::span<const io_uring_cqe> simulated_completions();

    // Fail-nth: rewrites the request the plan names among those about to be submitted, and
    // hands its completion over as the failure it stands for.
    void inject_faults() noexcept;
    void fail_request(io_uring_sqe& sqe, int error) noexcept;
    template <typename Fn>
    unsigned faulted_completions(Fn& fn) {
        unsigned head;
        unsigned count = 0;
        io_uring_cqe* cqe;
        io_uring_for_each_cqe(&ring_, head, cqe) {
            if (failed_in_flight_ && cqe->user_data == failed_user_data_) {
                failed_in_flight_ = false;
                io_uring_cqe failed = *cqe;
                failed.res = -failed_errno_;
                failed.flags &= ~(IORING_CQE_F_MORE | IORING_CQE_F_BUFFER);
                fn(std::as_const(failed));
            } else {
                fn(std::as_const(*cqe));
            }
            ++count;
        }
        io_uring_cq_advance(&ring_, count);
        stats_.completions += count;
        return count;
    }

    // SQPOLL: the SQ thread takes the SQEs, so submitting enters only to wake it, and
    // waiting enters only when no completion is ready.
    void sqpoll_submit() noexcept;
    void sqpoll_submit_and_wait(std::optional<std::chrono::nanoseconds> timeout) noexcept;
    // Waits for the SQ thread to free a slot when the SQ is full.
    void wait_for_sq_space() noexcept;

    void note_overflow() noexcept;
    void after_enter(int submitted) noexcept;

    io_uring ring_{};
    unsigned features_ = 0;
    std::uint32_t last_overflow_ = 0;
    bool live_ = false;
    sim::kernel* sim_ = nullptr;
    fault_plan* faults_ = nullptr;
    bool sqpoll_ = false;
    bool detoured_ = false; ///< sim_, faults_ or sqpoll_: the one flag the hot paths test
    bool failed_in_flight_ = false;
    std::uint64_t failed_user_data_ = 0;
    int failed_errno_ = 0;
    ring_stats stats_;
};

/// The one line a program prints when it cannot start because ring::create (or
/// event_loop::create) failed with `error`: what went wrong and what to change, for example
/// "snow: io_uring is not available: Operation not permitted (blocked by a seccomp
/// profile ...)". EPERM, ENOSYS, ENOMEM, EMFILE and EINVAL each name their own remedy.
/// No trailing newline.
SNOW_API std::string describe_ring_failure(std::error_code error);

} // namespace snow::io
