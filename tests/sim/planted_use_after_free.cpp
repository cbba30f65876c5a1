// tests/sim/planted_use_after_free.cpp: a bug planted on purpose, to show what the simulated
// kernel is for. A receive is submitted into a heap buffer, the buffer is freed while the
// receive is still in flight, and then data arrives. On a real kernel the kernel's store
// into freed memory is invisible to AddressSanitizer; the simulated kernel makes that copy
// in user space, so an ASan build must die here with a heap-use-after-free report. meson
// runs this program only in ASan builds, and expects it to fail.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>

#include "snow/io/ring.hpp"
#include "snow/io/sim/kernel.hpp"
#include "snow/io/syscalls.hpp"

using namespace snow;

namespace {

int complete(io::ring& r) {
    int res = -1;
    for (int turns = 0; turns < 100; ++turns) {
        r.submit_and_wait(std::chrono::milliseconds(10));
        bool seen = false;
        r.for_each_completion([&](const io_uring_cqe& cqe) {
            if (cqe.user_data == 0) return;
            res = cqe.res;
            seen = true;
        });
        if (seen) return res;
    }
    return -1;
}

} // namespace

int main() {
    io::sim::kernel kernel(1);
    auto made = io::ring::create({.entries = 8, .cq_factor = 8, .simulation = &kernel});
    if (!made) return 2;
    io::ring& r = *made;

    sockaddr_in at{};
    at.sin_family = AF_INET;
    at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int listener = io::sys::socket(AF_INET, SOCK_STREAM, 0);
    socklen_t length = sizeof at;
    if (io::sys::bind(listener, reinterpret_cast<sockaddr*>(&at), sizeof at) != 0 ||
        io::sys::listen(listener, 8) != 0 ||
        io::sys::getsockname(listener, reinterpret_cast<sockaddr*>(&at), &length) != 0)
        return 2;
    const int client = io::sys::socket(AF_INET, SOCK_STREAM, 0);
    io_uring_sqe* sqe = &r.next_sqe();
    io_uring_prep_connect(sqe, client, reinterpret_cast<sockaddr*>(&at), sizeof at);
    sqe->user_data = 1;
    if (complete(r) != 0) return 2;
    sqe = &r.next_sqe();
    io_uring_prep_accept(sqe, listener, nullptr, nullptr, 0);
    sqe->user_data = 2;
    const int server = complete(r);
    if (server < 0) return 2;

    // The planted bug: the buffer goes away while the kernel may still write into it.
    auto buffer = std::make_unique<char[]>(64);
    sqe = &r.next_sqe();
    io_uring_prep_recv(sqe, server, buffer.get(), 64, 0);
    sqe->user_data = 3;
    r.submit();
    buffer.reset();

    static const char hello[] = "hello";
    sqe = &r.next_sqe();
    io_uring_prep_send(sqe, client, hello, sizeof hello, 0);
    sqe->user_data = 4;
    for (int turns = 0; turns < 10; ++turns) {
        r.submit_and_wait(std::chrono::milliseconds(10));
        r.for_each_completion([](const io_uring_cqe&) {});
    }
    std::puts("the freed buffer was written and nothing noticed");
    return 0;
}
