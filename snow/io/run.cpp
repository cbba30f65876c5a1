// snow/io/run.cpp: one loop per thread, each pinned to its CPU when asked.
#include "snow/io/run.hpp"

#include <fmt/format.h>

#include <exception>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "snow/io/cpu_affinity.hpp"
#include "snow/io/log.hpp"

namespace snow {

int run_main(task<int> t, io::loop_options options) noexcept {
    try {
        return run(std::move(t), options);
    } catch (const std::exception& e) {
        const std::string_view what = e.what();
        // A loop that cannot start says so in a line that already names snow.
        fmt::print(stderr, "{}{}\n", what.starts_with("snow:") ? "" : "snow: ", what);
    } catch (...) {
        fmt::print(stderr, "snow: the program failed with a non-standard exception\n");
    }
    return 1;
}

namespace {

void pin_loop(std::size_t index, int cpu) {
    if (auto pinned = io::pin_this_thread(std::span<const int>(&cpu, 1)); !pinned)
        log::warn("cannot pin loop {} to CPU {}: {}; it runs unpinned", index, cpu,
                  pinned.error().message());
}

} // namespace

void run_threads(std::size_t threads, const std::function<task<void>(std::size_t)>& body,
                 io::loop_options options, std::span<const int> cpus) {
    std::mutex mutex;
    std::exception_ptr first_error;
    auto one = [&](std::size_t index) {
        // Before the loop exists, so its ring and first buffers are touched on its CPU.
        if (index < cpus.size()) pin_loop(index, cpus[index]);
        try {
            run(body(index), options);
        } catch (...) {
            std::lock_guard lock(mutex);
            if (!first_error) first_error = std::current_exception();
        }
    };
    // Loop 0 borrows the calling thread, which gets its own CPUs back afterwards. The workers
    // start from the caller's mask, not loop 0's, because they are made before it pins.
    const std::vector<int> caller_cpus = cpus.empty() ? std::vector<int>{} : io::allowed_cpus();
    std::vector<std::thread> workers;
    for (std::size_t i = 1; i < threads; ++i) workers.emplace_back(one, i);
    one(0);
    for (auto& worker : workers) worker.join();
    if (!caller_cpus.empty()) (void)io::pin_this_thread(caller_cpus);
    if (first_error) std::rethrow_exception(first_error);
}

} // namespace snow
