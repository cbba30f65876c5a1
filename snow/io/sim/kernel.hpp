// snow/io/sim/kernel.hpp: a simulated io_uring for deterministic tests. A ring created with
// ring_options::simulation hands its SQEs here instead of to the kernel; this class
// interprets them, keeps a virtual clock that every snow timer reads (io::clock), and posts
// completions in an order drawn from one seed. It only produces completions the real kernel
// could produce, so the production code above the ring runs unchanged: a seed that fails
// names a schedule that can happen on a real machine, and replays it exactly.
#pragma once

#include <liburing.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "snow/core/export.hpp"
#include "snow/io/clock.hpp"
#include "snow/io/sim/network.hpp"
#include "snow/io/sim/random.hpp"

namespace snow::io::sim {

/// The odds one run plays by. By default they are drawn from the seed too, so that seeds
/// explore different regimes (mostly in order, heavily reordered, many interrupted waits).
struct SNOW_API faults {
    double defer = 0.3;       ///< a ready completion is held back to a later enter
    double cancel_wins = 0.5; ///< a cancel beats data that arrived while it was on its way
    double interrupt = 0.05;  ///< a waiting enter returns early, as io_uring_enter's -EINTR
    /// A cancel that wins against a read of a descriptor in blocking mode finds it on an
    /// io-wq worker, which it interrupts: the read ends with -EINTR. Not drawn from the seed.
    double worker_reads = 0.5;
    std::chrono::nanoseconds enter_cost{20000}; ///< the most virtual time one enter takes

    /// Odds drawn from `r`, for a run whose options fix none.
    static faults draw(random& r) noexcept;
    /// The odds on one line, as a failure message prints them.
    std::string describe() const;
};

/// How to build a kernel: the seed, and optionally odds chosen by the test.
struct kernel_options {
    std::uint64_t seed = 0;       ///< the seed every choice of the run is drawn from
    std::optional<faults> odds{}; ///< none: drawn from the seed
    std::optional<network_faults> network_odds{}; ///< none: drawn from the seed
    /// How long (real time) a wait may block on a real file descriptor, the loop's wake-up
    /// eventfd written by another thread, before the run is declared hung and aborted.
    std::chrono::milliseconds real_wait_limit{5000};
};

/// What a run did: the coverage marks a scenario prints to show it reached the races.
struct kernel_stats {
    std::uint64_t submitted = 0;            ///< SQEs submitted
    std::uint64_t completed = 0;            ///< CQEs posted
    std::uint64_t enters = 0;               ///< calls to enter()
    std::uint64_t interrupted_waits = 0;    ///< waits ended early (-EINTR)
    std::uint64_t clock_jumps = 0;          ///< idle waits that skipped to the next timer
    std::uint64_t deferred = 0;             ///< ready completions held back past an enter
    std::uint64_t cancels = 0;              ///< ASYNC_CANCEL requests submitted
    std::uint64_t cancel_won = 0;           ///< the target ended (-ECANCELED, or -EINTR)
    std::uint64_t cancel_lost = 0;          ///< the target's own completion came first
    std::uint64_t cancel_interrupted = 0;   ///< a won cancel ended a worker's read with -EINTR
    std::uint64_t pooled_cancel_lost = 0;   ///< pooled receives whose bytes beat their cancel
    std::uint64_t link_timeouts_fired = 0;  ///< LINK_TIMEOUTs that expired while the op ran
    std::uint64_t timeouts_fired = 0;       ///< TIMEOUTs that expired (-ETIME)
    std::uint64_t overflowed = 0;           ///< CQEs held back by a full CQ (NODROP)
    std::uint64_t no_buffers = 0;           ///< receives that found the buffer ring empty
    std::uint64_t no_buffers_rearmed = 0;   ///< pooled receives submitted again after -ENOBUFS
    std::uint64_t short_sends_resumed = 0;  ///< sends submitted again after a short one
    std::uint64_t multishot_ended = 0;      ///< multishot accepts the kernel ended early
    std::uint64_t multishot_overflowed = 0; ///< multishot accepts a full CQ stopped
    std::uint64_t buffers_kept = 0;         ///< provided buffers not returned at unregister
    std::uint64_t hangs = 0; ///< waits nothing could ever end, reported to the hang handler
};

/// The simulated kernel behind one ring. While it lives, io::clock on the thread that
/// built it reads the kernel's virtual time; destroying it gives the thread its clock back.
class SNOW_API kernel {
public:
    /// A kernel whose odds are drawn from `seed`.
    explicit kernel(std::uint64_t seed);
    /// A kernel with the seed, odds and real-wait limit of `options`.
    explicit kernel(const kernel_options& options);
    ~kernel();
    kernel(const kernel&) = delete;
    kernel& operator=(const kernel&) = delete;

    // --- the ring's side: io::ring forwards here when it was created over this kernel ---

    /// Sizes the SQ and CQ for the ring being created over this kernel; one kernel serves
    /// one ring at a time, and a second attach aborts the run.
    void attach(unsigned sq_entries, unsigned cq_entries);
    /// Called as the ring is destroyed: the kernel may then serve another ring.
    void detach() noexcept { attached_ = false; }
    /// The next SQE, cleared; null when the SQ is full.
    io_uring_sqe* get_sqe() noexcept;
    /// SQEs prepared and not yet submitted, as io_uring_sq_ready.
    unsigned sq_ready() const noexcept { return sq_count_; }
    /// Free SQ slots, as io_uring_sq_space_left.
    unsigned sq_space_left() const noexcept { return sq_entries_ - sq_count_; }
    /// The SQ's size, as given to attach().
    unsigned sq_entries() const noexcept { return sq_entries_; }
    /// The CQ's size, as given to attach().
    unsigned cq_entries() const noexcept { return cq_entries_; }
    /// io_uring_enter: submits every prepared SQE, lets virtual time pass and posts what is
    /// ready. With `wait`, returns once a completion is posted, `timeout` of virtual time
    /// has passed, or (by chance) at once, as an interrupted wait does. Returns the number
    /// of SQEs submitted.
    int enter(bool wait, std::optional<std::chrono::nanoseconds> timeout);
    /// The posted completions, handed over once: the ring's for_each_completion walks them.
    std::span<const io_uring_cqe> take_completions();
    /// True while completions wait for room in a full CQ (NODROP).
    bool cq_overflowing() const noexcept { return !overflow_.empty(); }
    /// Records the provided-buffer ring of `entries` buffers the ring registered for `group`.
    void register_buffer_ring(io_uring_buf_ring* ring, unsigned entries, std::uint16_t group);
    /// Forgets the provided-buffer ring of `group`, counting buffers never given back.
    void unregister_buffer_ring(std::uint16_t group) noexcept;

    // --- the socket calls io::sys makes outside the ring ---

    /// The kernel simulating on this thread, or null: io::sys asks it first.
    static kernel* on_this_thread() noexcept;
    /// The in-memory network behind this kernel's sockets.
    class network& network() noexcept {
        return network_;
    }
    /// The same, read-only.
    const class network& network() const noexcept { return network_; }

    // --- the test's side ---

    /// The virtual time, which io::clock reads on this kernel's thread.
    clock::time_point now() const noexcept { return now_; }
    /// The seed the run was built from.
    std::uint64_t seed() const noexcept { return seed_; }
    /// The odds the run plays by: given in the options, or drawn from the seed.
    const faults& odds() const noexcept { return odds_; }
    /// What the run has done so far.
    const kernel_stats& stats() const noexcept { return stats_; }
    /// A hash of every completion posted so far, in order: (op number in submission order,
    /// result, flags, virtual time). Two runs of one seed must give the same value.
    std::uint64_t trace_hash() const noexcept { return trace_; }
    /// Requests submitted and not yet completed, plus completions not yet reaped.
    std::size_t in_flight() const noexcept;
    /// The seed and the odds, for a failure message that lets the run be replayed.
    std::string describe() const;
    /// One line per request still in flight, for a teardown that found some.
    std::string in_flight_report() const;
    /// Whether a request not yet completed may still read or write any of the `length`
    /// bytes at `address`: the memory stays the kernel's until the request's CQE is posted,
    /// however early its awaiter was told it had ended.
    bool holds(const void* address, std::size_t length) const noexcept;
    /// Makes a hang (the loop waits for a completion nothing can ever bring, or for a real
    /// descriptor past the real-wait limit) call `handler` with a description, once, and
    /// end that wait as an interrupted one, instead of aborting the run: the handler can
    /// record the failure and stop the loop. A second hang in the same run aborts it.
    void on_hang(std::function<void(const std::string&)> handler) { on_hang_ = std::move(handler); }

private:
    enum class phase : std::uint8_t { blocked, ready };
    /// The fields of an SQE the simulation reads, copied at submission as the kernel does
    /// (io_uring_sqe itself holds a zero-length array and cannot be a member).
    struct request {
        std::uint64_t user_data = 0;
        std::uint64_t addr = 0;
        std::uint64_t off = 0;
        std::int32_t fd = -1;
        std::uint32_t len = 0;
        std::uint32_t op_flags = 0; ///< timeout_flags, cancel_flags, msg_flags, …
        std::uint16_t buf_group = 0;
        std::uint16_t ioprio = 0; ///< accept's IORING_ACCEPT_MULTISHOT
        std::uint8_t opcode = 0;
        std::uint8_t flags = 0;
    };
    struct op {
        std::uint64_t id = 0;
        request sqe;
        phase state = phase::blocked;
        bool cancelled = false; ///< a cancel already decided this op's result
        int res = 0;
        std::uint32_t flags = 0;
        std::uint64_t link_timeout = 0; ///< the LINK_TIMEOUT guarding this op, if any
        std::uint64_t guarded = 0;      ///< for a LINK_TIMEOUT: the op it guards
        clock::time_point deadline{};
        int fd_mode = -1;        ///< a real descriptor's F_GETFL, read once
        sockaddr_storage peer{}; ///< a connect's address, copied at submission as the kernel does
        socklen_t peer_length = 0;
    };
    struct provided_ring {
        io_uring_buf_ring* ring = nullptr;
        unsigned entries = 0;
        std::uint16_t head = 0; ///< the kernel's side: the next buffer it takes
    };

    [[noreturn]] void fail(const std::string& what) const;
    /// A wait that nothing can end: reported to the hang handler (true: end the wait), or
    /// fail(), if there is none or it was told already.
    bool hang(const std::string& what);
    void submit_one(const io_uring_sqe& sqe, const io_uring_sqe* next, bool& skip_next);
    op& add(const io_uring_sqe& sqe);
    void arm_timer(op& o);
    void disarm_timer(op& o) noexcept;
    void make_ready(op& o, int res, std::uint32_t flags = 0);
    void post(op& o);
    void post_cqe(std::uint64_t id, std::uint64_t user_data, int res, std::uint32_t flags);
    void post_ready(bool need_one);
    void flush_overflow();
    int cancel(std::uint64_t user_data, bool all);
    int remove_timeout(std::uint64_t user_data);
    /// Decides a race between `o` (blocked) and whoever is cancelling it; true when the
    /// cancel won and `o` now ends with -ECANCELED.
    bool try_cancel(op& o);
    bool try_read(op& o);
    void poll_readers();
    /// Completes `o` (a socket op) if the network lets it; true when its result is decided.
    bool try_network(op& o);
    /// Tries every blocked socket op, in submission order, until none can move.
    void poll_network();
    bool try_receive_pooled(op& o);
    /// Counts a socket request that takes up what the last one on its socket left undone.
    void note_retry(const io_uring_sqe& sqe);
    std::optional<clock::time_point> next_event() const;
    void advance(clock::duration by);
    void jump_to(clock::time_point when);
    void fire_timers();
    op* find(std::uint64_t user_data);

    std::uint64_t seed_;
    random random_;
    faults odds_;
    std::chrono::milliseconds real_wait_limit_;
    clock::time_point now_;
    const clock::time_point* previous_clock_ = nullptr;
    kernel* previous_ = nullptr; ///< the kernel this thread simulated before, if any
    bool attached_ = false;

    std::vector<io_uring_sqe> sq_;
    unsigned sq_entries_ = 0;
    unsigned sq_count_ = 0;
    unsigned cq_entries_ = 0;
    std::vector<io_uring_cqe> cq_;
    std::vector<io_uring_cqe> overflow_;
    std::vector<io_uring_cqe> reaping_;

    std::uint64_t next_id_ = 1;
    std::map<std::uint64_t, op> ops_;                               // in flight, by id
    std::unordered_multimap<std::uint64_t, std::uint64_t> by_data_; // user_data → id
    std::set<std::pair<clock::time_point, std::uint64_t>> timers_;
    std::vector<std::uint64_t> ready_;           // ids whose result is decided, not yet posted
    std::vector<std::uint64_t> readers_;         // reads of real descriptors still waiting
    std::vector<std::uint64_t> sockets_waiting_; // socket ops still waiting, by id
    std::map<std::uint16_t, provided_ring> buffer_rings_;
    std::set<int> without_buffer_; // sockets whose last pooled receive found no buffer
    std::set<int> sent_short_;     // sockets whose last send moved fewer bytes than asked
    std::function<void(const std::string&)> on_hang_;
    class network network_;

    std::uint64_t trace_ = 0xcbf29ce484222325ull;
    kernel_stats stats_;
};

} // namespace snow::io::sim
