// tests/sim/harness.hpp: runs a scenario (production code on a loop over a simulated kernel)
// once per seed and checks the invariants every run must keep: nothing left in flight at
// teardown, no hang, virtual time never going back, the same seed giving the same trace, and
// the coverage marks the scenario exists for. A failure names the seed; SNOW_SIM_SEED=n runs
// that seed alone, and SNOW_SIM_PLANT=n puts known bug n back (snow/io/detail/planted_bug.hpp).
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "sim/commit.hpp"
#include "snow/core/task.hpp"
#include "snow/io/detail/planted_bug.hpp"
#include "snow/io/event_loop.hpp"
#include "snow/io/sim/kernel.hpp"
#include "snow/io/sim/random.hpp"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#endif

namespace snow::testing::sim {

namespace detail {
// The seed running now, for a sanitizer report: it ends the process without returning
// to doctest, so it must name the seed itself.
inline thread_local std::uint64_t current_seed = 0;
inline thread_local const char* current_scenario = "";

inline void name_the_seed() {
    std::fprintf(
        stderr,
        "snow sim: died in scenario \"%s\" at commit %s; replay with SNOW_SIM_SEED=%" PRIu64 "\n",
        current_scenario, SNOW_SIM_COMMIT, current_seed);
}

inline void install_death_note() {
#if defined(__SANITIZE_ADDRESS__)
    static const bool installed = [] {
        __sanitizer_set_death_callback(&name_the_seed);
        return true;
    }();
    (void)installed;
#endif
}

/// How long a run may wait on a real descriptor before it counts as hung. No scenario has
/// another thread write one, so any such wait is a hang; the planted-bug runs, which hang
/// on purpose, shorten it.
inline std::chrono::milliseconds real_wait_limit{1000};
} // namespace detail

/// The races the scenarios exist to reach. A scenario names the marks it must hit, and its
/// totals fail when one is hit fewer than required() times.
enum class mark : std::uint8_t {
    cancel_lost,          ///< a cancel lost to its op's own completion
    link_timeout_fired,   ///< a linked timeout fired while its op ran
    multishot_overflowed, ///< a multishot accept stopped by a full CQ
    no_buffers_rearmed,   ///< a pooled receive armed again after -ENOBUFS
    short_send_resumed,   ///< a send that moved part of its bytes, taken up by another
    future_orphaned,      ///< a future resolved after its waiter was destroyed
    timer_and_completion, ///< a timer fired and a completion arrived in the same loop turn
};
inline constexpr std::size_t mark_count = 7;
using mark_counts = std::array<std::uint64_t, mark_count>;

inline const char* mark_name(mark m) {
    constexpr const char* names[mark_count] = {"cancel lost to its completion",
                                               "link timeout fired while its op ran",
                                               "multishot stopped by a full CQ",
                                               "pooled receive re-armed after -ENOBUFS",
                                               "short send resumed",
                                               "future resolved after its waiter was destroyed",
                                               "timer and completion in one turn"};
    return names[static_cast<std::size_t>(m)];
}

/// The least count of each of its marks a run of `seeds` seeds must reach: 50 per 10,000
/// seeds, and at least one. A run of fewer than 200 seeds (a replay, a short slice) is held
/// to none: it may well miss a race that a longer one reaches.
inline std::uint64_t required(std::uint64_t seeds) {
    if (seeds < 200) return 0;
    return std::max<std::uint64_t>(1, (50 * seeds + 9'999) / 10'000);
}

/// The bug SNOW_SIM_PLANT names, to replay a planted-bug seed by hand; 0 when unset.
inline int planted_from_environment() {
    const char* text = std::getenv("SNOW_SIM_PLANT");
    return text == nullptr ? 0 : std::atoi(text);
}

/// What a scenario gets: its seed, randomness of its own (apart from the kernel's, so the
/// scenario's choices do not shift when the kernel's consumption changes), and a trace
/// that it extends with what it observed (which task woke, when).
class context {
public:
    context(std::uint64_t seed, io::sim::kernel& kernel)
        : seed_(seed)
        , random_(seed ^ 0x5eed5eed5eed5eedull)
        , kernel_(kernel)
        , last_now_(kernel.now()) {}

    std::uint64_t seed() const noexcept { return seed_; }
    io::sim::random& random() noexcept { return random_; }
    io::sim::kernel& kernel() noexcept { return kernel_; }

    /// A uniformly drawn duration in [0, most].
    io::clock::duration any_duration(io::clock::duration most) {
        return io::clock::duration(static_cast<io::clock::rep>(
            random_.below(static_cast<std::uint64_t>(most.count()) + 1)));
    }

    /// Adds `value` and the virtual time to the trace, and checks time did not go back.
    void note(std::uint64_t value) {
        const auto now = io::clock::now();
        if (now < last_now_) {
            ++time_went_back_;
        }
        last_now_ = now;
        trace_ ^= value;
        trace_ = io::sim::random::splitmix64(trace_);
        trace_ ^= static_cast<std::uint64_t>(now.time_since_epoch().count());
        trace_ = io::sim::random::splitmix64(trace_);
    }

    std::uint64_t trace() const noexcept { return trace_; }
    std::uint64_t time_went_back() const noexcept { return time_went_back_; }

    /// Counts a mark only the scenario can see (a promise resolved after its future went).
    void count(mark m, std::uint64_t n = 1) noexcept { marks_[static_cast<std::size_t>(m)] += n; }
    const mark_counts& marks() const noexcept { return marks_; }

private:
    mark_counts marks_{};
    std::uint64_t seed_;
    io::sim::random random_;
    io::sim::kernel& kernel_;
    io::clock::time_point last_now_;
    std::uint64_t trace_ = 0;
    std::uint64_t time_went_back_ = 0;
};

/// What one seed's run left behind.
struct outcome {
    std::uint64_t trace = 0; ///< the kernel's completion order mixed with the scenario's
    io::sim::kernel_stats stats;
    io::sim::network::counters network{};
    mark_counts marks{};
    io::clock::duration virtual_elapsed{};
    bool hung = false;
};

using scenario = std::function<task<void>(context&)>;

/// The seeds tests/sim/seeds.txt keeps for scenario `name`: every seed that ever failed it,
/// one a line as "SEED SCENARIO NAME" ('#' starts a comment). They run before the others.
inline std::vector<std::uint64_t> kept_seeds(std::string_view name) {
    std::vector<std::uint64_t> kept;
#ifdef SNOW_SIM_SEEDS_FILE
    std::ifstream file(SNOW_SIM_SEEDS_FILE);
    std::string text;
    while (std::getline(file, text)) {
        if (const auto hash = text.find('#'); hash != std::string::npos) text.erase(hash);
        while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.pop_back();
        const auto space = text.find(' ');
        if (space == std::string::npos) continue;
        if (std::string_view(text).substr(space + 1) != name) continue;
        kept.push_back(std::strtoull(text.c_str(), nullptr, 10));
    }
#else
    (void)name;
#endif
    return kept;
}

/// The seeds to run: SNOW_SIM_SEED alone when set; else `count` of them (SNOW_SIM_SEEDS
/// overrides it) from SNOW_SIM_FIRST_SEED (default 0), so that a long run can be cut into
/// slices: SNOW_SIM_FIRST_SEED=1000000 SNOW_SIM_SEEDS=100000 build/tests/sim_test.
inline std::vector<std::uint64_t> seeds(std::uint64_t count) {
    auto number = [](const char* name) -> std::optional<std::uint64_t> {
        const char* text = std::getenv(name);
        if (text == nullptr || *text == '\0') return std::nullopt;
        return std::strtoull(text, nullptr, 10);
    };
    if (auto one = number("SNOW_SIM_SEED")) return {*one};
    const std::uint64_t first = number("SNOW_SIM_FIRST_SEED").value_or(0);
    count = number("SNOW_SIM_SEEDS").value_or(count);
    std::vector<std::uint64_t> all(count);
    for (std::uint64_t i = 0; i < count; ++i) all[i] = first + i;
    return all;
}

/// SNOW_SIM_SEED alone when set, else 0 … count-1 whatever SNOW_SIM_SEEDS says: for the
/// scenarios too heavy to repeat by the thousand.
inline std::vector<std::uint64_t> fixed_seeds(std::uint64_t count) {
    if (const char* one = std::getenv("SNOW_SIM_SEED"); one != nullptr && *one != '\0')
        return {std::strtoull(one, nullptr, 10)};
    std::vector<std::uint64_t> all(count);
    for (std::uint64_t i = 0; i < count; ++i) all[i] = i;
    return all;
}

/// Runs `body` on a fresh loop over a kernel seeded with `seed`, then tears the loop down
/// and checks that the kernel was left with nothing in flight.
inline outcome run_one(const char* name, std::uint64_t seed, const scenario& body,
                       io::loop_options options = {}) {
    detail::install_death_note();
    detail::current_seed = seed;
    detail::current_scenario = name;
    if (const int plant = planted_from_environment(); plant != 0) io::detail::planted_bug = plant;
    io::sim::kernel kernel({.seed = seed, .real_wait_limit = detail::real_wait_limit});
    // doctest would print a const char* as a pointer.
    const std::string replay = "scenario \"" + std::string(name) + "\" at commit " +
                               SNOW_SIM_COMMIT + ", replay with " + kernel.describe();
    INFO(replay);
    const auto start = kernel.now();
    context ctx(seed, kernel);
    options.ring.simulation = &kernel;
    bool hung = false;
    std::uint64_t timer_and_completion = 0;
    {
        auto loop = io::event_loop::create(options);
        REQUIRE(loop);
        // A hang is a request that never ends: reported here, with what was still in
        // flight, and the loop stopped so that the run can be torn down and checked.
        io::event_loop& running = **loop;
        kernel.on_hang([&](const std::string& what) {
            hung = true;
            FAIL_CHECK("the run hung: " << what);
            running.stop();
        });
        try {
            running.run(body(ctx));
        } catch (const std::runtime_error&) {
            if (!hung) throw; // the stop above ends run() with this; anything else is news
        }
        CHECK_MESSAGE(running.timers().empty(), "timers left queued at quiescence");
        timer_and_completion = running.stats().timer_completion_turns;
    }
    kernel.on_hang(nullptr);
    CHECK_MESSAGE(kernel.in_flight() == 0, "left in flight at teardown:\n",
                  kernel.in_flight_report());
    CHECK_MESSAGE(kernel.network().open_sockets() == 0, "sockets left open at teardown:\n",
                  kernel.network().report());
    CHECK_MESSAGE(kernel.stats().buffers_kept == 0, "provided buffers never given back");
    CHECK(kernel.now() >= start);
    CHECK(ctx.time_went_back() == 0);
    outcome out;
    std::uint64_t scenario_trace = ctx.trace();
    out.trace = kernel.trace_hash() ^ io::sim::random::splitmix64(scenario_trace);
    out.stats = kernel.stats();
    out.network = kernel.network().stats();
    out.virtual_elapsed = kernel.now() - start;
    out.hung = hung;
    out.marks = ctx.marks();
    auto set = [&](mark m, std::uint64_t n) { out.marks[static_cast<std::size_t>(m)] += n; };
    set(mark::cancel_lost, out.stats.cancel_lost);
    set(mark::link_timeout_fired, out.stats.link_timeouts_fired);
    set(mark::multishot_overflowed, out.stats.multishot_overflowed);
    set(mark::no_buffers_rearmed, out.stats.no_buffers_rearmed);
    set(mark::short_send_resumed, out.stats.short_sends_resumed);
    set(mark::timer_and_completion, timer_and_completion);
    return out;
}

/// Totals over seeds, printed after a run: the marks that show a scenario reached the
/// races it exists for.
struct totals {
    std::uint64_t seeds = 0;
    io::sim::kernel_stats sum;
    io::sim::network::counters net{};
    mark_counts marks{};

    void add(const outcome& out) {
        for (std::size_t m = 0; m < mark_count; ++m) marks[m] += out.marks[m];
        const io::sim::kernel_stats& s = out.stats;
        const io::sim::network::counters& n = out.network;
        ++seeds;
        net.connections += n.connections;
        net.refused += n.refused;
        net.resets += n.resets;
        net.short_reads += n.short_reads;
        net.short_writes += n.short_writes;
        net.bytes += n.bytes;
        net.emfile += n.emfile;
        sum.no_buffers += s.no_buffers;
        sum.multishot_ended += s.multishot_ended;
        sum.submitted += s.submitted;
        sum.completed += s.completed;
        sum.enters += s.enters;
        sum.interrupted_waits += s.interrupted_waits;
        sum.clock_jumps += s.clock_jumps;
        sum.deferred += s.deferred;
        sum.cancels += s.cancels;
        sum.cancel_won += s.cancel_won;
        sum.cancel_lost += s.cancel_lost;
        sum.cancel_interrupted += s.cancel_interrupted;
        sum.pooled_cancel_lost += s.pooled_cancel_lost;
        sum.link_timeouts_fired += s.link_timeouts_fired;
        sum.timeouts_fired += s.timeouts_fired;
        sum.overflowed += s.overflowed;
        sum.no_buffers_rearmed += s.no_buffers_rearmed;
        sum.short_sends_resumed += s.short_sends_resumed;
        sum.multishot_overflowed += s.multishot_overflowed;
    }

    std::uint64_t count(mark m) const noexcept { return marks[static_cast<std::size_t>(m)]; }

    /// Checks that each of `wanted` was hit at least required(seeds) times: a scenario
    /// that no longer reaches the race it exists for fails, naming the race.
    void require(const char* name, std::initializer_list<mark> wanted) const {
        const std::uint64_t least = required(seeds);
        for (mark m : wanted) {
            const std::uint64_t hit = count(m);
            CHECK_MESSAGE(hit >= least, "scenario \"", name, "\" hit the mark \"", mark_name(m),
                          "\" ", hit, " times in ", seeds, " seeds, under the ", least,
                          " required (50 per 10,000 seeds)");
        }
    }

    void print(const char* name) const {
        std::printf("sim %-28s %5" PRIu64 " seeds: %" PRIu64 " ops, %" PRIu64
                    " interrupted waits, %" PRIu64 " clock jumps, %" PRIu64
                    " deferred, cancels %" PRIu64 " won (%" PRIu64 " as -EINTR) / %" PRIu64
                    " lost (%" PRIu64 " with a pooled buffer), %" PRIu64 " link timeouts fired\n",
                    name, seeds, sum.submitted, sum.interrupted_waits, sum.clock_jumps,
                    sum.deferred, sum.cancel_won, sum.cancel_interrupted, sum.cancel_lost,
                    sum.pooled_cancel_lost, sum.link_timeouts_fired);
        if (net.connections > 0 || net.refused > 0)
            std::printf("sim %-28s network: %" PRIu64 " connections, %" PRIu64 " refused, %" PRIu64
                        " resets, %" PRIu64 " short reads, %" PRIu64 " short writes, %" PRIu64
                        " bytes, %" PRIu64 " empty buffer rings, %" PRIu64
                        " multishot accepts ended, %" PRIu64 " EMFILE\n",
                        name, net.connections, net.refused, net.resets, net.short_reads,
                        net.short_writes, net.bytes, sum.no_buffers, sum.multishot_ended,
                        net.emfile);
        std::string line;
        for (std::size_t m = 0; m < mark_count; ++m) {
            if (!line.empty()) line += ", ";
            line += std::to_string(marks[m]) + " " + mark_name(static_cast<mark>(m));
        }
        std::printf("sim %-28s marks: %s\n", name, line.c_str());
    }
};

/// How many of a scenario's seeds run a second time, to check that the trace repeats.
inline constexpr std::uint64_t seeds_run_twice = 200;

/// The seeds every scenario of this process ran, printed once at exit: the suite's total.
struct seed_tally {
    std::uint64_t seeds = 0;
    std::uint64_t twice = 0;
    std::uint64_t scenarios = 0;
    ~seed_tally() {
        if (scenarios > 0)
            std::printf("sim: %" PRIu64 " seeds over %" PRIu64 " scenarios, %" PRIu64
                        " of them run twice with the same trace\n",
                        seeds, scenarios, twice);
    }
};
inline seed_tally& tally() {
    static seed_tally all;
    return all;
}

/// Runs `body` for every seed (see seeds()); the first seeds_run_twice of them run twice,
/// and the second run must reproduce the first's trace exactly. The totals must reach each
/// of `marks` (see required()). Returns the totals, already printed.
inline totals run_seeds(const char* name, std::uint64_t count, const scenario& body,
                        std::initializer_list<mark> marks = {}, io::loop_options options = {}) {
    totals all;
    std::vector<std::uint64_t> chosen = seeds(count);
    if (chosen.size() > 1 || std::getenv("SNOW_SIM_SEED") == nullptr) {
        // The seeds that once failed this scenario go first, whatever the range.
        std::vector<std::uint64_t> kept = kept_seeds(name);
        chosen.insert(chosen.begin(), kept.begin(), kept.end());
    }
    std::uint64_t twice = 0;
    for (std::uint64_t seed : chosen) {
        const outcome first = run_one(name, seed, body, options);
        all.add(first);
        if (first.hung) continue; // reported once is enough
        if (twice == seeds_run_twice) continue;
        ++twice;
        const outcome second = run_one(name, seed, body, options);
        CHECK_MESSAGE(first.trace == second.trace, "seed ", seed, " of \"", name,
                      "\" is not deterministic: replay with SNOW_SIM_SEED=", seed);
        // A replayed seed shows its trace, to compare with the run that failed.
        if (chosen.size() == 1)
            std::printf("sim %s seed %" PRIu64 ": trace %016" PRIx64 "\n", name, seed, first.trace);
    }
    tally().seeds += all.seeds;
    tally().twice += twice;
    ++tally().scenarios;
    all.print(name);
    all.require(name, marks);
    return all;
}

/// A scenario as another test runs it (the planted-bug matrix, planted_test.cpp): a maker
/// for its body and the loop options it runs with.
struct listed_scenario {
    std::string name;
    std::function<scenario()> make;
    io::loop_options options;
};

/// Every scenario a test file listed, by name.
inline std::vector<listed_scenario>& catalogue() {
    static std::vector<listed_scenario> all;
    return all;
}

/// Lists a scenario at static initialisation: `const sim::listed echo("tcp echo", ...)`.
struct listed {
    listed(std::string name, std::function<scenario()> make, io::loop_options options = {}) {
        catalogue().push_back({std::move(name), std::move(make), options});
    }
};

/// The listed scenario called `name`, or null.
inline const listed_scenario* find_listed(std::string_view name) {
    for (const listed_scenario& s : catalogue())
        if (s.name == name) return &s;
    return nullptr;
}

} // namespace snow::testing::sim
