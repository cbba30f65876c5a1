// snow/io/fault_plan.hpp: fail-nth for the real io_uring. A ring given a plan counts the
// requests it hands the kernel and makes the nth of them fail with an errno the kernel
// really returns for that opcode, so a test can walk a real scenario through every failure.
#pragma once

#include <liburing.h>

#include <cerrno>
#include <cstdint>

namespace snow::io {

/// What a ring given ring_options::faults does to the requests it submits. It counts the
/// eligible ones and, when `fail_nth` is n > 0, fails the nth (counting from 1): just before
/// the batch goes to the kernel, that SQE becomes an IORING_OP_NOP with the same user_data
/// and link flag, and its completion reaches the loop with res = -errno and neither
/// IORING_CQE_F_MORE nor IORING_CQE_F_BUFFER. That is the shape and the order the kernel gives
/// a request that fails: a linked timeout behind it still ends with -ECANCELED, a multishot
/// request ends for good, and no provided buffer is consumed.
///
/// Eligible: requests that head their chain (none that a previous IOSQE_IO_LINK points at),
/// that someone waits for (user_data not 0), and whose failure is the kernel's to choose with
/// an errno snow must cope with (errno_for). Timeouts, linked timeouts and cancels are not:
/// their outcomes follow from other requests. A chain whose second link is anything but a
/// linked timeout is not either: a NOP would let the rest of it run.
struct fault_plan {
    /// The eligible request to fail, counting from 1; 0 fails none (the plan only counts).
    std::uint64_t fail_nth = 0;
    /// Eligible requests submitted so far.
    std::uint64_t eligible = 0;
    /// Whether the nth request has been failed (its completion may still be on its way).
    bool fired = false;
    /// The opcode and errno of the failed request, for a report.
    std::uint8_t failed_opcode = 0;
    int failed_errno = 0; ///< see failed_opcode

    /// Fail with the second errno errno_for names for each opcode instead of the first.
    bool second_errno = false;

    /// The errno a failed `opcode` reports, or 0 when it is not eligible. Each is one the
    /// kernel returns for that request on a loopback socket or a file. First: an accept whose
    /// connection was reset, a refused connect, a reset receive, a send to a peer gone, an
    /// I/O error. Second (`second`): out of descriptors, a handshake or a keepalive probe
    /// timing out, a send reset, a full disk.
    static constexpr int errno_for(std::uint8_t opcode, bool second = false) noexcept {
        switch (opcode) {
        case IORING_OP_ACCEPT:
            return second ? EMFILE : ECONNABORTED;
        case IORING_OP_CONNECT:
            return second ? ETIMEDOUT : ECONNREFUSED;
        case IORING_OP_RECV:
        case IORING_OP_RECVMSG:
            return second ? ETIMEDOUT : ECONNRESET;
        case IORING_OP_SEND:
        case IORING_OP_SENDMSG:
        case IORING_OP_SEND_ZC:
            return second ? ECONNRESET : EPIPE;
        case IORING_OP_READ:  // files and the loop's eventfd, where a reset cannot happen
        case IORING_OP_CLOSE: // the descriptor is released all the same (see ring.cpp)
            return EIO;
        case IORING_OP_WRITE: // the same: log files, where EPIPE cannot
            return second ? ENOSPC : EIO;
        case IORING_OP_SOCKET:
        case IORING_OP_OPENAT:
            return second ? ENFILE : EMFILE;
        case IORING_OP_SHUTDOWN:
            return ENOTCONN;
        default:
            return 0; // NOP never fails; POLL_ADD, timeouts and cancels are not free choices
        }
    }
};

} // namespace snow::io
