// snow/io/sim/kernel_cancel.cpp: the simulated kernel's cancellation races (ASYNC_CANCEL,
// TIMEOUT_REMOVE, the cancel a linked timeout makes), and which memory is still the kernel's.
#include <fcntl.h>

#include <algorithm>
#include <cerrno>

#include "snow/io/sim/kernel.hpp"

namespace snow::io::sim {

bool kernel::try_cancel(op& o) {
    int res = -ECANCELED;
    if (o.sqe.opcode == IORING_OP_READ) {
        // Data may have reached the descriptor while the cancel was on its way. The kernel
        // lets either side win then (a poll wake-up already queued, or the cancel first);
        // with no data there is nothing to race and the cancel always wins.
        if (!random_.chance(odds_.cancel_wins) && try_read(o)) {
            std::erase(readers_, o.id);
            return false;
        }
        std::erase(readers_, o.id);
        // A read of a descriptor in blocking mode may have gone to an io-wq worker, which
        // the cancel reaches as a signal: the read then ends with -EINTR
        // (io_wq_worker_cancel), not -ECANCELED.
        if (o.fd_mode >= 0 && (o.fd_mode & O_NONBLOCK) == 0 && random_.chance(odds_.worker_reads)) {
            ++stats_.cancel_interrupted;
            res = -EINTR;
        }
    } else if (o.sqe.opcode == IORING_OP_RECV || o.sqe.opcode == IORING_OP_SEND ||
               o.sqe.opcode == IORING_OP_SENDMSG || o.sqe.opcode == IORING_OP_CONNECT) {
        // As for a read: bytes (or room, or the handshake) that came while the cancel was on
        // its way may win; with nothing there the cancel does.
        if (!random_.chance(odds_.cancel_wins) && try_network(o)) {
            std::erase(sockets_waiting_, o.id);
            if ((o.flags & IORING_CQE_F_BUFFER) != 0) ++stats_.pooled_cancel_lost;
            return false;
        }
        std::erase(sockets_waiting_, o.id);
    } else if (o.sqe.opcode == IORING_OP_ACCEPT) {
        std::erase(sockets_waiting_, o.id);
    }
    o.cancelled = true;
    make_ready(o, res);
    return true;
}

int kernel::cancel(std::uint64_t user_data, bool all) {
    int cancelled = 0;
    bool completed = false; // a match whose own result came first
    bool pooled = false;    // and took a provided buffer
    for (;;) {
        // The oldest match still running. One whose result is decided is no longer in the
        // kernel's cancel tables, so the cancel does not find it.
        op* target = nullptr;
        auto [first, last] = by_data_.equal_range(user_data);
        for (auto it = first; it != last; ++it) {
            op& o = ops_.at(it->second);
            if (o.state == phase::ready) {
                completed = completed || !o.cancelled;
                pooled = pooled || (!o.cancelled && (o.flags & IORING_CQE_F_BUFFER) != 0);
                continue;
            }
            if (target == nullptr || o.id < target->id) target = &o;
        }
        if (target == nullptr) break;
        if (!try_cancel(*target)) {
            ++stats_.cancel_lost;
            return cancelled > 0 ? cancelled : -EALREADY;
        }
        ++stats_.cancel_won;
        ++cancelled;
        if (!all) return 0;
    }
    if (cancelled > 0) return cancelled;
    if (completed) ++stats_.cancel_lost;
    if (pooled) ++stats_.pooled_cancel_lost;
    return -ENOENT;
}

int kernel::remove_timeout(std::uint64_t user_data) {
    op* target = find(user_data);
    if (target == nullptr || target->sqe.opcode != IORING_OP_TIMEOUT) return -ENOENT;
    if (target->state == phase::ready) return -EALREADY; // it fired already
    disarm_timer(*target);
    make_ready(*target, -ECANCELED);
    return 0;
}

bool kernel::holds(const void* address, std::size_t length) const noexcept {
    const auto begin = reinterpret_cast<std::uintptr_t>(address);
    const auto end = begin + length;
    auto overlaps = [&](std::uint64_t at, std::uint64_t size) {
        return size > 0 && at < end && begin < at + size;
    };
    for (const auto& [id, o] : ops_) {
        switch (o.sqe.opcode) {
        case IORING_OP_READ:
        case IORING_OP_WRITE:
        case IORING_OP_SEND:
            if (overlaps(o.sqe.addr, o.sqe.len)) return true;
            break;
        case IORING_OP_RECV: // a pooled one names no buffer of its own
            if ((o.sqe.flags & IOSQE_BUFFER_SELECT) == 0 && overlaps(o.sqe.addr, o.sqe.len))
                return true;
            break;
        default: // SENDMSG's buffers are behind a msghdr, which this check must not read
            break;
        }
    }
    return false;
}

} // namespace snow::io::sim
