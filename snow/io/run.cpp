// snow/io/run.cpp: one loop per thread.
#include "snow/io/run.hpp"

#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace snow {

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
