// tests/sim/ops_test.cpp: kernel operations awaited by production code (io::read_op,
// io::nop_op, with_timeout over one op) on a simulated kernel, with linked timeouts firing
// while reads wait, cancels racing data that arrives, and interrupted waits. Every op must
// end exactly once, soon after its cancel, with an outcome its timeline allows, and only
// once the kernel has let go of its buffer.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>

#include "sim/harness.hpp"
#include "snow/core/task_group.hpp"
#include "snow/io/ops.hpp"
#include "snow/time/sleep.hpp"
#include "snow/time/timeout.hpp"

using namespace snow;
using namespace std::chrono_literals;
namespace sim = snow::testing::sim;

TEST_SUITE_BEGIN("sim");

namespace {

constexpr clock::duration tick = 10ms;
constexpr auto never = clock::time_point::max();

enum class ended : std::uint8_t { not_yet, value, timed_out, cancelled, other };

struct reader_log {
    int fd = -1;
    bool nop = false;                     ///< a NOP rather than a read
    std::optional<clock::duration> limit; ///< a linked timeout
    clock::time_point write_at = never;
    clock::time_point cancel_at = never;
    clock::time_point started{};
    clock::time_point finished{};
    ended how = ended::not_yet;
    int endings = 0;
    bool resumed_early = false;   ///< ended while the kernel still held its buffer
    bool outlived_cancel = false; ///< still running two ticks after its cancel
    std::uint64_t value = 0;
};

ended classify(const result<std::size_t>& r) {
    if (r) return ended::value;
    if (r.error() == std::errc::timed_out) return ended::timed_out;
    if (r.error() == std::errc::operation_canceled) return ended::cancelled;
    return ended::other;
}

task<result<std::size_t>> nop_with(std::optional<clock::duration> limit) {
    if (limit) {
        auto done = co_await with_timeout(io::nop_op(), *limit);
        co_return done ? result<std::size_t>(0) : result<std::size_t>(done.error());
    }
    auto done = co_await io::nop_op();
    co_return done ? result<std::size_t>(0) : result<std::size_t>(done.error());
}

task<result<std::size_t>> read_with(int fd, std::span<std::byte> buffer,
                                    std::optional<clock::duration> limit) {
    if (limit) {
        auto r = co_await with_timeout(io::read_op(fd, buffer), *limit);
        co_return r;
    }
    auto r = co_await io::read_op(fd, buffer);
    co_return r;
}

task<void> pause(clock::duration d) {
    (void)co_await sleep(d);
}

task<void> reader(reader_log& log, sim::context& ctx, std::uint64_t id) {
    log.started = clock::now();
    auto buffer = std::as_writable_bytes(std::span(&log.value, 1));
    // Chosen before the co_await: GCC 12 destroys a task made by a conditional expression
    // inside a co_await operand twice.
    task<result<std::size_t>> work = read_with(log.fd, buffer, log.limit);
    if (log.nop) work = nop_with(log.limit);
    auto r = co_await std::move(work);
    log.finished = clock::now();
    log.how = classify(r);
    ++log.endings;
    ctx.note(id * 8 + static_cast<std::uint64_t>(log.how));
    // The buffer is the reader's again only once the kernel has let go of it: a program
    // would reuse it now. One resumed too early is reported, and waits for the kernel
    // before its frame (the op, the completion's target) goes, so the run can end.
    if (ctx.kernel().holds(buffer.data(), buffer.size())) {
        log.resumed_early = true;
        while (ctx.kernel().holds(buffer.data(), buffer.size())) co_await shielded(pause(1ms));
    }
}

task<void> writer(int fd, clock::time_point at) {
    (void)co_await sleep_until(at);
    const std::uint64_t one = 1;
    CHECK(::write(fd, &one, sizeof one) == sizeof one);
}

/// Cancels a reader at `at`, then checks that it ended by two ticks later (with the cancel's
/// outcome, or the data that beat it). One still waiting has lost its cancel: it is reported,
/// and released with a write so that the run can end.
task<void> canceller(cancel_source& source, clock::time_point at, reader_log& log) {
    (void)co_await sleep_until(at);
    source.request();
    (void)co_await sleep(2 * tick);
    if (log.endings == 0) {
        log.outlived_cancel = true;
        const std::uint64_t one = 1;
        if (log.fd >= 0 && log.write_at == never) CHECK(::write(log.fd, &one, sizeof one) == 8);
    }
}

/// Whether `log`'s ending is one its timeline allows.
bool plausible(const reader_log& log) {
    if (log.endings != 1) return false;
    const auto deadline = log.limit ? log.started + *log.limit : never;
    const auto first_stop = std::min(deadline, log.cancel_at);
    switch (log.how) {
    case ended::value:
        // A NOP always completes; a read needs the write, and no stop long before it.
        if (log.nop) return true;
        return log.write_at <= log.finished && log.value >= 1 &&
               (first_stop == never || log.write_at <= first_stop + tick);
    case ended::timed_out:
        // A cancel well before the deadline ends the read first.
        return !log.nop && log.limit && log.finished >= deadline &&
               (log.write_at == never || log.write_at + tick >= deadline) &&
               (log.cancel_at == never || log.cancel_at + tick >= deadline);
    case ended::cancelled:
        return !log.nop && log.cancel_at <= log.finished &&
               (log.write_at == never || log.write_at + tick >= log.cancel_at);
    default:
        return false;
    }
}

sim::scenario readers(std::size_t count) {
    return [count](sim::context& ctx) -> task<void> {
        auto logs = std::make_unique<reader_log[]>(count);
        auto sources = std::make_unique<cancel_source[]>(count);
        const auto start = clock::now();
        auto& random = ctx.random();
        {
            task_group group;
            for (std::size_t i = 0; i < count; ++i) {
                reader_log& log = logs[i];
                log.nop = random.chance(0.1);
                // Blocking and non-blocking descriptors both: the kernel never blocks.
                if (!log.nop)
                    log.fd = eventfd(0, EFD_CLOEXEC | (random.chance(0.5) ? EFD_NONBLOCK : 0));
                if (random.chance(0.6)) log.limit = ctx.any_duration(50ms);
                if (!log.nop && random.chance(0.7)) {
                    log.write_at = start + ctx.any_duration(60ms);
                    group.spawn(writer(log.fd, log.write_at));
                }
                if (random.chance(0.4) || (!log.limit && log.write_at == never)) {
                    // Often at the very instant of the write: the cancel then races data
                    // that reached the descriptor in the same turn.
                    log.cancel_at = log.write_at != never && random.chance(0.3)
                                        ? log.write_at
                                        : start + ctx.any_duration(60ms);
                    group.spawn(canceller(sources[i], log.cancel_at, log));
                }
                group.spawn(with_cancellation(reader(log, ctx, i), sources[i]));
            }
            co_await group.join();
        }
        std::size_t wrong = 0;
        std::size_t first_wrong = count;
        std::size_t early = 0;
        std::size_t outlived = 0;
        for (std::size_t i = 0; i < count; ++i) {
            early += logs[i].resumed_early ? 1 : 0;
            outlived += logs[i].outlived_cancel ? 1 : 0;
            bool ok = plausible(logs[i]);
            if (logs[i].fd >= 0) {
                // Nothing written is lost: the count is in the reader's value or still in
                // the descriptor, never in neither (a cancel that lost its race must
                // still deliver what the read took).
                (void)::fcntl(logs[i].fd, F_SETFL, O_NONBLOCK);
                std::uint64_t left = 0;
                const bool still_there = ::read(logs[i].fd, &left, sizeof left) == sizeof left;
                const bool written = logs[i].write_at != never;
                const bool read = logs[i].how == ended::value;
                ok = ok && (written ? read != still_there : !read && !still_there);
                ::close(logs[i].fd);
            }
            if (!ok && wrong++ == 0) first_wrong = i;
        }
        CHECK_MESSAGE(early == 0, early, " reads ended while the kernel still held their buffer");
        CHECK_MESSAGE(outlived == 0, outlived, " reads still ran two ticks after their cancel");
        CHECK_MESSAGE(wrong == 0, wrong, " ops ended wrongly, the first is #", first_wrong,
                      " (ended ", static_cast<int>(logs[first_wrong < count ? first_wrong : 0].how),
                      ")");
    };
}

const sim::listed reads_listed("reads x64", [] { return readers(64); });

} // namespace

TEST_CASE("reads with linked timeouts and racing cancels each end once, over 3,000 seeds") {
    using sim::mark;
    const auto totals =
        sim::run_seeds("reads x64", 3000, readers(64),
                       {mark::cancel_lost, mark::link_timeout_fired, mark::timer_and_completion});
    if (totals.seeds > 1) {
        // The races this scenario exists for must actually happen.
        CHECK(totals.sum.cancel_won > 0);
        CHECK(totals.sum.cancel_interrupted > 0);
        CHECK(totals.sum.interrupted_waits > 0);
        CHECK(totals.sum.deferred > 0);
    }
}

TEST_SUITE_END();
