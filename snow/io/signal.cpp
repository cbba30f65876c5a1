// snow/io/signal.cpp: the signalfd behind signal_set, read with an ordinary read op.
#include "snow/io/signal.hpp"

#include <pthread.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <span>
#include <utility>

#include "snow/io/ops.hpp"

namespace snow::io {

result<signal_set> signal_set::create(std::initializer_list<int> signals) {
    sigset_t wanted;
    ::sigemptyset(&wanted);
    for (int number : signals)
        if (::sigaddset(&wanted, number) != 0) return system_error_code(errno);

    sigset_t previous;
    // pthread_sigmask returns the error rather than setting errno.
    if (int error = ::pthread_sigmask(SIG_BLOCK, &wanted, &previous); error != 0)
        return system_error_code(error);
    // Only what was not blocked already is unblocked again on destruction: a program that
    // blocked SIGTERM itself keeps it blocked.
    sigset_t blocked;
    ::sigemptyset(&blocked);
    for (int number : signals)
        if (::sigismember(&previous, number) == 0) ::sigaddset(&blocked, number);

    const int fd = ::signalfd(-1, &wanted, SFD_CLOEXEC);
    if (fd < 0) {
        const int error = errno;
        ::pthread_sigmask(SIG_UNBLOCK, &blocked, nullptr);
        return system_error_code(error);
    }
    return signal_set(fd, blocked);
}

signal_set::signal_set(int fd, const sigset_t& blocked) noexcept : fd_(fd), blocked_(blocked) {}

signal_set::signal_set(signal_set&& other) noexcept
    : fd_(std::exchange(other.fd_, -1))
    , blocked_(other.blocked_) {}

signal_set& signal_set::operator=(signal_set&& other) noexcept {
    if (this != &other) {
        release();
        fd_ = std::exchange(other.fd_, -1);
        blocked_ = other.blocked_;
    }
    return *this;
}

signal_set::~signal_set() {
    release();
}

void signal_set::release() noexcept {
    if (fd_ < 0) return;
    ::close(std::exchange(fd_, -1));
    ::pthread_sigmask(SIG_UNBLOCK, &blocked_, nullptr);
}

task<result<int>> signal_set::next() {
    // One siginfo per read: the kernel hands out whole records, so the read is all or
    // nothing, and a second pending signal waits for the next call.
    signalfd_siginfo info{};
    auto n = co_await read_op(fd_, std::as_writable_bytes(std::span(&info, 1)));
    if (!n) co_return n.error();
    if (*n != sizeof info) co_return std::make_error_code(std::errc::io_error);
    co_return static_cast<int>(info.ssi_signo);
}

} // namespace snow::io
