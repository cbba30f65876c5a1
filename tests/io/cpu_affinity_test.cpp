// tests/io/cpu_affinity_test.cpp: the CPUs a thread may run on, pinning it to one and back,
// and run_threads placing each loop on the CPU it was given. Each case pins only threads it
// starts itself, so the test runner's own thread keeps its CPUs.
#include "snow/io/cpu_affinity.hpp"

#include <doctest/doctest.h>

#include <sched.h>

#include <atomic>
#include <system_error>
#include <thread>
#include <vector>

#include "snow/io/run.hpp"
#include "support/run_test.hpp"

using namespace snow;

TEST_SUITE_BEGIN("io.cpu_affinity");

TEST_CASE("a thread pinned to one allowed CPU runs there and can be given all of them back") {
    const std::vector<int> all = io::allowed_cpus();
    REQUIRE_FALSE(all.empty());
    std::vector<int> pinned, restored;
    int ran_on = -1;
    bool pin_ok = false, restore_ok = false;
    std::thread t([&] {
        pin_ok = static_cast<bool>(io::pin_this_thread(std::vector<int>{all.back()}));
        pinned = io::allowed_cpus();
        ran_on = ::sched_getcpu();
        restore_ok = static_cast<bool>(io::pin_this_thread(all));
        restored = io::allowed_cpus();
    });
    t.join();
    CHECK(pin_ok);
    CHECK(pinned == std::vector<int>{all.back()});
    CHECK(ran_on == all.back());
    CHECK(restore_ok);
    CHECK(restored == all);
}

TEST_CASE("pinning to no CPU or a negative one is refused") {
    auto none = io::pin_this_thread({});
    REQUIRE_FALSE(none);
    CHECK(none.error() == std::errc::invalid_argument);
    auto negative = io::pin_this_thread(std::vector<int>{-1});
    REQUIRE_FALSE(negative);
    CHECK(negative.error() == std::errc::invalid_argument);
}

TEST_CASE("run_threads pins each loop to its CPU and gives the calling thread its CPUs back") {
    (void)testing::make_loop(); // skips the suite without io_uring
    const std::vector<int> all = io::allowed_cpus();
    REQUIRE_FALSE(all.empty());
    // Two loops on the last allowed CPU and the first: any list is honoured as given.
    const std::vector<int> cpus = {all.back(), all.front()};
    std::vector<int> seen[2];
    std::vector<int> caller_after;
    std::thread caller([&] {
        run_threads(
            2,
            [&seen](std::size_t index) -> task<void> {
                seen[index] = io::allowed_cpus(); // before the task: the loop is pinned by now
                return []() -> task<void> { co_return; }();
            },
            {}, cpus);
        caller_after = io::allowed_cpus();
    });
    caller.join();
    CHECK(seen[0] == std::vector<int>{cpus[0]});
    CHECK(seen[1] == std::vector<int>{cpus[1]});
    CHECK(caller_after == all);
}

TEST_SUITE_END();
