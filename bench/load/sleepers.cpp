// sleepers: the memory one suspended snow coroutine costs. Spawns COUNT detached tasks on
// one loop, each in co_await snow::sleep_until(now + 60 s); once all are suspended it reads
// VmRSS from /proc/self/status and prints, before returning (the loop destroys the sleepers):
//   sleepers=<N> rss_before_kib=<a> rss_after_kib=<b> bytes_per_sleeper=<(b-a)*1024/N>
//   frame_bytes_task=<t> spawn_bytes=<s> heap_bytes_per_sleeper=<h>
// t is the size the compiler asked for the sleeper's frame and s what the first spawn()
// allocated besides it (seen by a counting operator new); h is malloc's in-use growth per sleeper,
// which includes the loop's ready queue and timer heap. Needs Linux 6.1+ (5.19 at least).
//   build/bench/load/sleepers [--count 1000000]
#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string_view>

#include "snow/io/run.hpp"
#include "snow/time/sleep.hpp"

namespace {
std::size_t allocated_bytes = 0; // everything operator new was asked for; one thread
} // namespace

void* operator new(std::size_t size) {
    allocated_bytes += size;
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}

namespace {

using snow::task;

long rss_kib() {
    std::FILE* status = std::fopen("/proc/self/status", "r");
    if (status == nullptr) return -1;
    char line[256];
    long kib = -1;
    while (std::fgets(line, sizeof line, status) != nullptr)
        if (std::strncmp(line, "VmRSS:", 6) == 0) kib = std::atol(line + 6);
    std::fclose(status);
    return kib;
}

std::size_t heap_in_use() {
    const auto info = mallinfo2();
    return info.uordblks + info.hblkhd;
}

task<void> sleeper(snow::clock::time_point until) {
    co_await snow::sleep_until(until);
}

task<void> probe(std::size_t count) {
    const auto until = snow::clock::now() + std::chrono::seconds(60);
    const long rss_before = rss_kib();
    const std::size_t heap_before = heap_in_use();

    const std::size_t asked_before = allocated_bytes;
    auto first = sleeper(until);
    const std::size_t frame_task = allocated_bytes - asked_before;
    snow::spawn(std::move(first));
    const std::size_t frame_spawn = allocated_bytes - asked_before - frame_task;
    for (std::size_t i = 1; i < count; ++i) snow::spawn(sleeper(until));

    // The sleepers start on the next turn, ahead of this task: after one yield all of them
    // are suspended in the timer heap.
    co_await snow::yield();
    const std::size_t queued = snow::io::event_loop::current().timers().size();
    const long rss_after = rss_kib();
    const std::size_t heap_after = heap_in_use();
    if (queued != count) std::fprintf(stderr, "sleepers: only %zu of %zu asleep\n", queued, count);

    std::printf("sleepers=%zu rss_before_kib=%ld rss_after_kib=%ld bytes_per_sleeper=%.1f\n", count,
                rss_before, rss_after,
                static_cast<double>(rss_after - rss_before) * 1024.0 / static_cast<double>(count));
    std::printf("frame_bytes_task=%zu spawn_bytes=%zu heap_bytes_per_sleeper=%.1f\n", frame_task,
                frame_spawn,
                static_cast<double>(heap_after - heap_before) / static_cast<double>(count));
    std::fflush(stdout);
}

} // namespace

int main(int argc, char** argv) {
    std::size_t count = 1'000'000;
    if (argc == 3 && std::string_view(argv[1]) == "--count")
        count = std::strtoul(argv[2], nullptr, 10);
    if ((argc != 1 && argc != 3) || count == 0) {
        std::fprintf(stderr, "usage: %s [--count N]\n", argv[0]);
        return 2;
    }
    snow::run(probe(count));
}
