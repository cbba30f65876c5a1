// snow/io/run.cpp: one loop per thread.
#include "snow/io/run.hpp"

#include <fmt/format.h>

#include <exception>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

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

void run_threads(std::size_t threads, const std::function<task<void>(std::size_t)>& body,
                 io::loop_options options) {
    std::mutex mutex;
    std::exception_ptr first_error;
    auto one = [&](std::size_t index) {
        try {
            run(body(index), options);
        } catch (...) {
            std::lock_guard lock(mutex);
            if (!first_error) first_error = std::current_exception();
        }
    };
    std::vector<std::thread> workers;
    for (std::size_t i = 1; i < threads; ++i) workers.emplace_back(one, i);
    one(0);
    for (auto& worker : workers) worker.join();
    if (first_error) std::rethrow_exception(first_error);
}

} // namespace snow
