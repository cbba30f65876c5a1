// tests/io/spawn_test.cpp: snow::run, spawn, yield, post and one loop per thread.
#include "snow/io/run.hpp"

#include <doctest/doctest.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>
#include <unistd.h>
#include <vector>

#include "snow/sync/event.hpp"
#include "support/run_test.hpp"

using namespace snow;
using testing::run_test;

TEST_SUITE_BEGIN("core.spawn");

namespace {
task<void> append(std::vector<int>& out, int value, event& done, int last) {
    co_await yield();
    out.push_back(value);
    if (value == last) done.set();
}
task<void> fail_loudly() {
    co_await yield();
    throw std::runtime_error("spawned failure");
}

/// Captures what the process writes to stderr while it lives.
class stderr_capture {
public:
    stderr_capture() {
        std::fflush(stderr);
        saved_ = ::dup(2);
        file_ = std::tmpfile();
        ::dup2(::fileno(file_), 2);
    }
    ~stderr_capture() { restore(); }
    std::string text() {
        restore();
        std::rewind(file_);
        std::string out;
        char buf[512];
        while (std::size_t n = std::fread(buf, 1, sizeof buf, file_)) out.append(buf, n);
        return out;
    }

private:
    void restore() {
        if (saved_ < 0) return;
        std::fflush(stderr);
        ::dup2(saved_, 2);
        ::close(saved_);
        saved_ = -1;
    }
    int saved_ = -1;
    std::FILE* file_ = nullptr;
};
} // namespace

TEST_CASE("spawned tasks run concurrently on the loop in the order they were started") {
    auto order = run_test([]() -> task<std::vector<int>> {
        std::vector<int> out;
        event done;
        for (int i = 0; i < 5; ++i) spawn(append(out, i, done, 4));
        co_await done.wait();
        co_return out;
    }());
    CHECK(order == std::vector<int>{0, 1, 2, 3, 4});
}

TEST_CASE("an exception escaping a spawned task is reported and the loop goes on") {
    stderr_capture capture;
    auto survived = run_test([]() -> task<bool> {
        spawn(fail_loudly());
        for (int i = 0; i < 3; ++i) co_await yield();
        co_return true;
    }());
    CHECK(survived);
    CHECK(capture.text().find("spawned failure") != std::string::npos);
}

namespace {
struct sets_on_destruction {
    bool& flag;
    ~sets_on_destruction() { flag = true; }
};
task<void> wait_forever(bool& destroyed, event& never) {
    sets_on_destruction guard{destroyed};
    co_await never.wait();
}
task<void> finish_after(int turns, int& finished) {
    for (int i = 0; i < turns; ++i) co_await yield();
    ++finished;
}
} // namespace

TEST_CASE("a spawned task still suspended when the loop ends is destroyed with it") {
    bool destroyed = false;
    event never;
    run_test([](bool& flag, event& e) -> task<void> {
        spawn(wait_forever(flag, e));
        co_await yield();
        co_await yield();
    }(destroyed, never));
    CHECK(destroyed);
}

TEST_CASE("spawned tasks that finish in any order each free themselves once") {
    // Finishing order differs from spawning order, so the registry's slots are reused and
    // moved around; ASan and LSan see any task freed twice or never.
    int finished = 0;
    const int count = 64;
    run_test([](int& done, int n) -> task<void> {
        for (int i = 0; i < n; ++i) spawn(finish_after((i * 37) % 11, done));
        for (int i = 0; i < 16; ++i) co_await yield();
    }(finished, count));
    CHECK(finished == count);
}

TEST_CASE("work posted from another thread runs on the loop thread") {
    auto ok = run_test([]() -> task<bool> {
        auto& loop = io::event_loop::current();
        const auto loop_thread = std::this_thread::get_id();
        event done;
        std::atomic<bool> on_loop_thread{false};
        std::thread poster([&] {
            loop.post([&] {
                on_loop_thread = std::this_thread::get_id() == loop_thread;
                done.set();
            });
        });
        co_await done.wait();
        poster.join();
        co_return on_loop_thread.load();
    }());
    CHECK(ok);
}

TEST_CASE("run_threads runs each body on its own thread with its own loop") {
    std::atomic<int> finished{0};
    std::vector<std::thread::id> threads(3);
    // One object per thread: std::vector<bool> packs the three flags into one word, so three
    // threads setting them would race.
    std::array<std::atomic<bool>, 3> had_loop{};
    snow::run_threads(3, [&](std::size_t index) -> task<void> {
        return [](std::size_t i, std::vector<std::thread::id>& ids,
                  std::array<std::atomic<bool>, 3>& loops, std::atomic<int>& count) -> task<void> {
            co_await yield();
            ids[i] = std::this_thread::get_id();
            loops[i] = io::event_loop::current_or_null() != nullptr;
            ++count;
        }(index, threads, had_loop, finished);
    });
    CHECK(finished == 3);
    CHECK(threads[0] == std::this_thread::get_id()); // index 0 runs on the caller
    CHECK(threads[0] != threads[1]);
    CHECK(threads[1] != threads[2]);
    CHECK(threads[0] != threads[2]);
    CHECK(had_loop[0]);
    CHECK(had_loop[1]);
    CHECK(had_loop[2]);
}

TEST_CASE("the loop counts turns, submissions and enters") {
    auto stats = run_test([]() -> task<io::loop_stats> {
        co_await yield();
        co_return io::event_loop::current().stats();
    }());
    CHECK(stats.turns > 0);
    CHECK(stats.resumptions > 0);
    CHECK(stats.ring.enters > 0);
}

TEST_SUITE_END();
