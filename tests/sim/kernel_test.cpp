// tests/sim/kernel_test.cpp: the simulated kernel on its own, driven through io::ring with
// raw SQEs: each opcode it interprets gives the results the real kernel gives.
#include <doctest/doctest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <utility>
#include <vector>

#include "snow/io/ring.hpp"
#include "snow/io/sim/kernel.hpp"

using namespace snow;
using namespace std::chrono_literals;

TEST_SUITE_BEGIN("sim");

namespace {

// Odds fixed so that each test expects one outcome: nothing held back, no interruptions,
// no virtual time spent per enter.
io::sim::kernel_options calm(std::uint64_t seed = 1, double worker_reads = 0) {
    return {.seed = seed,
            .odds = io::sim::faults{.defer = 0,
                                    .cancel_wins = 1,
                                    .interrupt = 0,
                                    .worker_reads = worker_reads,
                                    .enter_cost = 0ns}};
}

io::ring make_ring(io::sim::kernel& k, unsigned entries = 8, unsigned cq_factor = 8) {
    auto r = io::ring::create({.entries = entries, .cq_factor = cq_factor, .simulation = &k});
    REQUIRE(r);
    return std::move(*r);
}

std::vector<std::pair<std::uint64_t, int>> reap(io::ring& r) {
    std::vector<std::pair<std::uint64_t, int>> seen;
    r.for_each_completion(
        [&](const io_uring_cqe& cqe) { seen.emplace_back(cqe.user_data, cqe.res); });
    return seen;
}

using cqes = std::vector<std::pair<std::uint64_t, int>>;

cqes sorted(cqes v) {
    std::sort(v.begin(), v.end());
    return v;
}

} // namespace

TEST_CASE("a NOP completes at once and a TIMEOUT when virtual time reaches it") {
    io::sim::kernel k(calm());
    io::ring r = make_ring(k);
    const auto start = k.now();
    __kernel_timespec five_seconds{.tv_sec = 5, .tv_nsec = 0};
    io_uring_sqe& nop = r.next_sqe();
    io_uring_prep_nop(&nop);
    io_uring_sqe_set_data64(&nop, 1);
    io_uring_sqe& timeout = r.next_sqe();
    io_uring_prep_timeout(&timeout, &five_seconds, 0, 0);
    io_uring_sqe_set_data64(&timeout, 2);
    r.submit_and_wait(std::nullopt);
    CHECK(reap(r) == cqes{{1, 0}});
    CHECK(k.now() == start);
    r.submit_and_wait(std::nullopt);
    CHECK(reap(r) == cqes{{2, -ETIME}});
    CHECK(k.now() - start == 5s);
    CHECK(k.in_flight() == 0);
}

TEST_CASE("TIMEOUT_REMOVE ends a pending timeout with -ECANCELED; a later cancel finds nothing") {
    io::sim::kernel k(calm());
    io::ring r = make_ring(k);
    __kernel_timespec one_second{.tv_sec = 1, .tv_nsec = 0};
    io_uring_sqe& timeout = r.next_sqe();
    io_uring_prep_timeout(&timeout, &one_second, 0, 0);
    io_uring_sqe_set_data64(&timeout, 3);
    r.submit();
    io_uring_sqe& remove = r.next_sqe();
    io_uring_prep_timeout_remove(&remove, 3, 0);
    io_uring_sqe_set_data64(&remove, 4);
    r.submit_and_wait(std::nullopt);
    CHECK(sorted(reap(r)) == cqes{{3, -ECANCELED}, {4, 0}});
    io_uring_sqe& cancel = r.next_sqe();
    io_uring_prep_cancel64(&cancel, 3, 0);
    io_uring_sqe_set_data64(&cancel, 5);
    r.submit_and_wait(std::nullopt);
    CHECK(reap(r) == cqes{{5, -ENOENT}});
}

TEST_CASE("ASYNC_CANCEL ends a blocked read with -ECANCELED and reports 0") {
    io::sim::kernel k(calm());
    io::ring r = make_ring(k);
    const int fd = eventfd(0, EFD_CLOEXEC); // blocking: the kernel must not block on it
    std::uint64_t value = 0;
    io_uring_sqe& read = r.next_sqe();
    io_uring_prep_read(&read, fd, &value, sizeof value, 0);
    io_uring_sqe_set_data64(&read, 6);
    r.submit();
    CHECK(reap(r).empty());
    io_uring_sqe& cancel = r.next_sqe();
    io_uring_prep_cancel64(&cancel, 6, 0);
    io_uring_sqe_set_data64(&cancel, 7);
    r.submit_and_wait(std::nullopt);
    CHECK(sorted(reap(r)) == cqes{{6, -ECANCELED}, {7, 0}});
    ::close(fd);
}

TEST_CASE("a cancel that finds a blocking read on a worker interrupts it: -EINTR") {
    io::sim::kernel k(calm(1, 1.0));
    io::ring r = make_ring(k);
    const int fd = eventfd(0, EFD_CLOEXEC);
    std::uint64_t value = 0;
    io_uring_sqe& read = r.next_sqe();
    io_uring_prep_read(&read, fd, &value, sizeof value, 0);
    io_uring_sqe_set_data64(&read, 12);
    r.submit();
    io_uring_sqe& cancel = r.next_sqe();
    io_uring_prep_cancel64(&cancel, 12, 0);
    io_uring_sqe_set_data64(&cancel, 13);
    r.submit_and_wait(std::nullopt);
    CHECK(sorted(reap(r)) == cqes{{12, -EINTR}, {13, 0}});
    CHECK(k.stats().cancel_interrupted == 1);
    ::close(fd);
}

TEST_CASE("a linked timeout ends a blocked read with -ECANCELED and itself with -ETIME") {
    io::sim::kernel k(calm());
    io::ring r = make_ring(k);
    const auto start = k.now();
    const int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    std::uint64_t value = 0;
    __kernel_timespec two_ms{.tv_sec = 0, .tv_nsec = 2'000'000};
    r.reserve(2);
    io_uring_sqe& read = r.next_sqe();
    io_uring_prep_read(&read, fd, &value, sizeof value, 0);
    io_uring_sqe_set_data64(&read, 8);
    read.flags |= IOSQE_IO_LINK;
    io_uring_sqe& link = r.next_sqe();
    io_uring_prep_link_timeout(&link, &two_ms, 0);
    io_uring_sqe_set_data64(&link, 9);
    cqes seen;
    while (seen.size() < 2) {
        r.submit_and_wait(std::nullopt);
        for (auto& c : reap(r)) seen.push_back(c);
    }
    CHECK(sorted(seen) == cqes{{8, -ECANCELED}, {9, -ETIME}});
    CHECK(k.now() - start == 2ms);
    CHECK(k.stats().link_timeouts_fired == 1);
    ::close(fd);
}

TEST_CASE("a read with data waiting completes, and its linked timeout ends with -ECANCELED") {
    io::sim::kernel k(calm());
    io::ring r = make_ring(k);
    const int fd = eventfd(3, EFD_CLOEXEC | EFD_NONBLOCK);
    std::uint64_t value = 0;
    __kernel_timespec two_ms{.tv_sec = 0, .tv_nsec = 2'000'000};
    r.reserve(2);
    io_uring_sqe& read = r.next_sqe();
    io_uring_prep_read(&read, fd, &value, sizeof value, 0);
    io_uring_sqe_set_data64(&read, 10);
    read.flags |= IOSQE_IO_LINK;
    io_uring_sqe& link = r.next_sqe();
    io_uring_prep_link_timeout(&link, &two_ms, 0);
    io_uring_sqe_set_data64(&link, 11);
    cqes seen;
    while (seen.size() < 2) {
        r.submit_and_wait(std::nullopt);
        for (auto& c : reap(r)) seen.push_back(c);
    }
    CHECK(sorted(seen) == cqes{{10, 8}, {11, -ECANCELED}});
    CHECK(value == 3);
    ::close(fd);
}

TEST_CASE("an interrupted wait returns with nothing posted and no time passed") {
    io::sim::kernel k(
        {.seed = 1,
         .odds = io::sim::faults{.defer = 0, .cancel_wins = 1, .interrupt = 1, .enter_cost = 0ns}});
    io::ring r = make_ring(k);
    const auto start = k.now();
    r.submit_and_wait(1s);
    CHECK(reap(r).empty());
    CHECK(k.now() == start);
    CHECK(k.stats().interrupted_waits == 1);
}

TEST_CASE("a full CQ holds completions back, in order, for later enters (NODROP)") {
    io::sim::kernel k(calm());
    io::ring r = make_ring(k, 8, 1);
    for (std::uint64_t i = 1; i <= 20; ++i) {
        io_uring_sqe& nop = r.next_sqe();
        io_uring_prep_nop(&nop);
        io_uring_sqe_set_data64(&nop, i);
    }
    std::vector<std::uint64_t> order;
    while (order.size() < 20) {
        r.submit_and_wait(std::nullopt);
        r.for_each_completion([&](const io_uring_cqe& cqe) { order.push_back(cqe.user_data); });
    }
    CHECK(std::is_sorted(order.begin(), order.end()));
    CHECK(k.stats().overflowed > 0);
}

TEST_CASE("one seed gives one trace; another seed gives another") {
    auto trace = [](std::uint64_t seed) {
        io::sim::kernel k(seed);
        io::ring r = make_ring(k, 64);
        std::vector<int> fds;
        std::vector<std::uint64_t> values(32);
        __kernel_timespec ms{.tv_sec = 0, .tv_nsec = 1'000'000};
        for (std::uint64_t i = 0; i < 32; ++i) {
            fds.push_back(eventfd(i % 3 == 0 ? 1 : 0, EFD_CLOEXEC | EFD_NONBLOCK));
            r.reserve(2);
            io_uring_sqe& read = r.next_sqe();
            io_uring_prep_read(&read, fds.back(), &values[i], sizeof values[i], 0);
            io_uring_sqe_set_data64(&read, i + 1);
            read.flags |= IOSQE_IO_LINK;
            io_uring_sqe& link = r.next_sqe();
            io_uring_prep_link_timeout(&link, &ms, 0);
            io_uring_sqe_set_data64(&link, 0);
        }
        std::size_t done = 0;
        while (done < 64) {
            r.submit_and_wait(std::nullopt);
            done += r.for_each_completion([](const io_uring_cqe&) {});
        }
        for (int fd : fds) ::close(fd);
        return k.trace_hash();
    };
    CHECK(trace(42) == trace(42));
    CHECK(trace(42) != trace(43));
}

TEST_SUITE_END();
