// tests/sim/planted_test.cpp: each known bug snow/io/detail/planted_bug.hpp can put back must
// break an invariant of its scenario within 10,000 seeds (run in a child process of its own).
#include <doctest/doctest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <sstream>
#include <string>
#include <vector>

#include "sim/harness.hpp"
#include "snow/io/detail/planted_bug.hpp"

namespace sim = snow::testing::sim;
namespace plant = snow::io::detail::plant;

namespace {

/// What a child tells its parent, in memory they share.
struct child_report {
    std::uint64_t seed = 0;  ///< the seed running, or the one that broke an invariant
    std::uint64_t runs = 0;  ///< seeds started
    char failure[2048] = {}; ///< the check that failed, with its context (scenario, seed)
};

/// Set in a child only: the parent's view of it.
child_report* report = nullptr;

/// The exit status of a child whose seed broke an invariant; any other is a crash (a
/// sanitizer report, an abort) or, for 0, a bug no seed caught.
constexpr int caught_status = 42;

/// In a child, ends it at the first failed check, before a bug that broke an invariant can
/// go on to crash the run: records what failed, with its context (the scenario and the
/// seed), for the parent, and exits. Does nothing in the parent.
class first_failure : public doctest::IReporter {
public:
    explicit first_failure(const doctest::ContextOptions&) {}

    void log_assert(const doctest::AssertData& data) override {
        if (report == nullptr || !data.m_failed) return;
        std::ostringstream text;
        text << data.m_file << ":" << data.m_line << ": CHECK( " << data.m_expr
             << " ) is NOT correct: ( " << data.m_decomp.c_str() << " )\n";
        stop(text);
    }
    void log_message(const doctest::MessageData& data) override {
        if (report == nullptr || (data.m_severity & doctest::assertType::is_warn) != 0) return;
        std::ostringstream text;
        text << data.m_file << ":" << data.m_line << ": " << data.m_string.c_str() << "\n";
        stop(text);
    }

    void report_query(const doctest::QueryData&) override {}
    void test_run_start() override {}
    void test_run_end(const doctest::TestRunStats&) override {}
    void test_case_start(const doctest::TestCaseData&) override {}
    void test_case_reenter(const doctest::TestCaseData&) override {}
    void test_case_end(const doctest::CurrentTestCaseStats&) override {}
    void test_case_exception(const doctest::TestCaseException&) override {}
    void subcase_start(const doctest::SubcaseSignature&) override {}
    void subcase_end() override {}
    void test_case_skipped(const doctest::TestCaseData&) override {}

private:
    [[noreturn]] static void stop(std::ostringstream& text) {
        const int count = get_num_active_contexts();
        const doctest::IContextScope* const* contexts = get_active_contexts();
        for (int i = 0; i < count; ++i) {
            text << "  with ";
            contexts[i]->stringify(&text);
            text << "\n";
        }
        const std::string all = text.str();
        all.copy(report->failure, sizeof report->failure - 1);
        std::fflush(nullptr);
        _exit(caught_status);
    }
};
REGISTER_LISTENER("sim planted: first failure", 1, first_failure);

/// Runs `scenario` with `bug` planted over seeds 0, 1, … (at most `most`), in this process,
/// which is a child: returns only if no seed failed.
void hunt(int bug, const sim::listed_scenario& scenario, std::uint64_t most) {
    snow::io::detail::planted_bug = bug;
    // The bugs hang runs on purpose: a wait on the loop's eventfd is a hang at once.
    sim::detail::real_wait_limit = std::chrono::milliseconds(20);
    ::unsetenv("SNOW_SIM_PLANT");
    const sim::scenario body = scenario.make();
    for (std::uint64_t seed = 0; seed < most; ++seed) {
        report->seed = seed;
        ++report->runs;
        (void)sim::run_one(scenario.name.c_str(), seed, body, scenario.options);
    }
}

/// Checks that `scenario` catches `bug` through an invariant within `most` seeds, and
/// prints the first seed that did and how many it took.
void caught(int bug, const char* what, const char* scenario, std::uint64_t most = 10'000) {
    const sim::listed_scenario* listed = sim::find_listed(scenario);
    REQUIRE_MESSAGE(listed != nullptr, "no scenario listed as \"", scenario, "\"");
    void* shared = ::mmap(nullptr, sizeof(child_report), PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    REQUIRE(shared != MAP_FAILED);
    auto* seen = new (shared) child_report{};
    std::FILE* output = std::tmpfile(); // the child's report, shown in part below
    REQUIRE(output != nullptr);
    std::fflush(nullptr);
    const auto start = std::chrono::steady_clock::now();
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::dup2(::fileno(output), STDOUT_FILENO);
        ::dup2(::fileno(output), STDERR_FILENO);
        report = seen;
        int code = 0;
        try {
            hunt(bug, *listed, most);
        } catch (...) {
            code = 3; // not a broken invariant: the child must not go on to doctest's other tests
        }
        std::fflush(nullptr);
        _exit(code);
    }
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    const double took =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // What the child printed last (a sanitizer's report, say), for a child that crashed.
    std::string last_lines;
    std::rewind(output);
    char line[512];
    std::vector<std::string> lines;
    while (std::fgets(line, sizeof line, output) != nullptr) lines.emplace_back(line);
    for (std::size_t i = lines.size() > 12 ? lines.size() - 12 : 0; i < lines.size(); ++i)
        last_lines += "    " + lines[i];
    std::fclose(output);
    std::string failure;
    std::istringstream recorded(seen->failure);
    for (std::string text; std::getline(recorded, text);) failure += "    " + text + "\n";

    const bool by_invariant = WIFEXITED(status) && WEXITSTATUS(status) == caught_status;
    if (by_invariant) {
        std::printf("sim planted bug %d (%s): caught by \"%s\" at seed %" PRIu64 ", after %" PRIu64
                    " seeds, %.1f s; replay with SNOW_SIM_PLANT=%d SNOW_SIM_SEED=%" PRIu64 "\n%s",
                    bug, what, scenario, seen->seed, seen->runs, took, bug, seen->seed,
                    failure.c_str());
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        std::printf("sim planted bug %d (%s): NOT caught by \"%s\" in %" PRIu64 " seeds\n", bug,
                    what, scenario, seen->runs);
    } else {
        std::printf("sim planted bug %d (%s): \"%s\" crashed at seed %" PRIu64
                    " (status %d) instead of reporting a broken invariant\n%s",
                    bug, what, scenario, seen->seed, status, last_lines.c_str());
    }
    CHECK_MESSAGE(by_invariant, "planted bug ", bug, " (", what,
                  ") was not caught by an invariant of \"", scenario, "\"");
    ::munmap(shared, sizeof(child_report));
}

} // namespace

TEST_SUITE_BEGIN("sim planted");

static_assert(plant::count == 5, "each planted bug needs a case below");

TEST_CASE("planted: a cancelled read that resumes its task before the kernel lets go") {
    caught(plant::resume_at_cancel, "resumes at the cancel, not at the completion", "reads x64");
}

TEST_CASE("planted: a read interrupted by its cancel (-EINTR) that is submitted again") {
    caught(plant::retry_interrupted, "retries the -EINTR of a cancelled read", "reads x64");
}

TEST_CASE("planted: a multishot accept's last CQE taken for one more") {
    caught(plant::ignore_missing_more, "ignores a missing IORING_CQE_F_MORE", "tcp echo");
}

TEST_CASE("planted: a pooled receive that beat its cancel drops its buffer") {
    caught(plant::drop_pooled_buffer, "drops the buffer of a pooled receive that beat its cancel",
           "http server, tiny rings");
}

TEST_CASE("planted: a listener destroyed under its accept waiters forgets them") {
    caught(plant::forget_accept_waiters,
           "a listener freed under accept waiters leaves them waiting", "fetch_all hostile");
}

TEST_SUITE_END();
