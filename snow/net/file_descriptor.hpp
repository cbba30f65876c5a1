// snow/net/file_descriptor.hpp: sole ownership of a file descriptor. Closing a socket without
// SO_LINGER never blocks, so the destructor may close on the loop thread; code that wants
// the close itself on the ring awaits tcp_stream::close().
#pragma once

#include <utility>

#include "snow/io/syscalls.hpp"

namespace snow::net {

/// Owns one file descriptor and closes it when destroyed; move-only. -1 means none.
class file_descriptor {
public:
    file_descriptor() noexcept = default;
    /// Takes ownership of `fd`.
    explicit file_descriptor(int fd) noexcept : fd_(fd) {}
    /// Takes the descriptor of `other`, which is left empty.
    file_descriptor(file_descriptor&& other) noexcept : fd_(other.release()) {}
    /// Closes the current descriptor and takes the one of `other`.
    file_descriptor& operator=(file_descriptor&& other) noexcept {
        if (this != &other) reset(other.release());
        return *this;
    }
    file_descriptor(const file_descriptor&) = delete;
    file_descriptor& operator=(const file_descriptor&) = delete;
    ~file_descriptor() { reset(); }

    /// The descriptor, still owned; -1 when empty.
    int get() const noexcept { return fd_; }
    /// Whether a descriptor is owned.
    bool is_open() const noexcept { return fd_ >= 0; }
    /// Gives up ownership and returns the descriptor; the object is empty afterwards.
    int release() noexcept { return std::exchange(fd_, -1); }
    /// Closes the current descriptor (if any) and owns `fd` instead.
    void reset(int fd = -1) noexcept {
        if (fd_ >= 0) io::sys::close(fd_);
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

} // namespace snow::net
