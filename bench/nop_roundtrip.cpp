// bench/nop_roundtrip.cpp: the cost of one co_await through the ring (IORING_OP_NOP), alone
// and with many in flight at once, so a regression in the loop's hot path shows in seconds.
//   build-release/bench/nop_roundtrip [--seconds S]
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "snow/core/when_all.hpp"
#include "snow/io/ops.hpp"
#include "snow/io/run.hpp"

using namespace snow;

namespace {

/// Awaits NOPs one after another until `until`; returns how many completed.
task<std::size_t> chain(io::clock::time_point until) {
    std::size_t done = 0;
    while (io::clock::now() < until) {
        for (int i = 0; i < 256; ++i) {
            auto r = co_await io::nop_op();
            if (!r) co_return done;
            ++done;
        }
    }
    co_return done;
}

task<void> measure(std::size_t width, std::chrono::milliseconds length) {
    const auto before = io::event_loop::current().stats();
    const auto start = io::clock::now();
    std::vector<task<std::size_t>> chains;
    for (std::size_t i = 0; i < width; ++i) chains.push_back(chain(start + length));
    auto counts = co_await when_all(std::move(chains));
    const auto elapsed = std::chrono::duration<double>(io::clock::now() - start).count();
    const auto after = io::event_loop::current().stats();
    std::size_t total = 0;
    for (auto n : counts) total += n;
    fmt::print(
        "{:4} in flight: {:8.1f} ns per co_await, {:6.2f} M/s, {:6.1f} NOPs per enter\n", width,
        elapsed * 1e9 / static_cast<double>(total), static_cast<double>(total) / elapsed / 1e6,
        static_cast<double>(total) / static_cast<double>(after.ring.enters - before.ring.enters));
}

} // namespace

int main(int argc, char** argv) {
    double seconds = 1.0;
    for (int i = 1; i + 1 < argc; ++i)
        if (std::string_view(argv[i]) == "--seconds") seconds = std::atof(argv[i + 1]);
    const auto length = std::chrono::milliseconds(static_cast<long>(seconds * 1000));
    snow::run([](std::chrono::milliseconds each) -> task<void> {
        for (std::size_t width : {1, 16, 256}) co_await measure(width, each);
    }(length));
}
