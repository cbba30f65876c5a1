// snow/io/sim/kernel_sockets.cpp: the simulated kernel's socket operations. Each blocked one
// is retried as the network moves; its result, and any bytes, are the network's to decide
// (network.cpp), while when its completion is posted stays the kernel's choice.
#include <sys/socket.h>

#include <fmt/format.h>

#include "snow/io/sim/kernel.hpp"

namespace snow::io::sim {

std::optional<clock::time_point> kernel::next_event() const {
    std::optional<clock::time_point> next = network_.next_arrival();
    if (!timers_.empty() && (!next || timers_.begin()->first < *next))
        next = timers_.begin()->first;
    return next;
}

bool kernel::try_receive_pooled(op& o) {
    const int fd = o.sqe.fd;
    if (!network_.readable(fd)) return false;
    if (network_.pending_bytes(fd) == 0) {
        // End of stream or an error: the buffer is recycled, not consumed (io_kbuf_recycle),
        // so the completion carries none.
        std::byte none[1];
        const long n = network_.recv_now(fd, none, sizeof none, 0);
        make_ready(o, n < 0 ? -errno : static_cast<int>(n));
        return true;
    }
    auto it = buffer_rings_.find(o.sqe.buf_group);
    if (it == buffer_rings_.end()) {
        make_ready(o, -ENOBUFS);
        return true;
    }
    provided_ring& r = it->second;
    const auto tail = __atomic_load_n(&r.ring->tail, __ATOMIC_ACQUIRE);
    if (tail == r.head) {
        ++stats_.no_buffers;
        without_buffer_.insert(fd);
        make_ready(o, -ENOBUFS);
        return true;
    }
    const io_uring_buf& chosen = r.ring->bufs[r.head & (r.entries - 1)];
    ++r.head;
    std::span<std::byte> into(reinterpret_cast<std::byte*>(chosen.addr), chosen.len);
    const int res = *network_.recv(fd, into);
    make_ready(o, res,
               IORING_CQE_F_BUFFER |
                   (static_cast<std::uint32_t>(chosen.bid) << IORING_CQE_BUFFER_SHIFT));
    return true;
}

bool kernel::try_network(op& o) {
    const request& sqe = o.sqe;
    std::optional<int> res;
    switch (sqe.opcode) {
    case IORING_OP_CONNECT:
        res = network_.connect(sqe.fd, o.peer, o.peer_length);
        break;
    case IORING_OP_ACCEPT: {
        const bool multishot = (sqe.ioprio & IORING_ACCEPT_MULTISHOT) != 0;
        for (;;) {
            res = network_.accept(sqe.fd);
            if (!res) return false;
            if (!multishot || *res < 0) break;
            // Each connection posts a CQE with MORE while the request stays armed, until the
            // kernel ends it (CQ pressure, or its own reasons): then the last one has no MORE.
            if (random_.chance(network_.faults().accept_ends)) {
                ++stats_.multishot_ended;
                break;
            }
            // A multishot never overflows the CQ: when it is full the kernel stops the
            // request, and this connection comes in its last CQE.
            if (!overflow_.empty() || cq_.size() >= cq_entries_) {
                ++stats_.multishot_overflowed;
                break;
            }
            post_cqe(o.id, sqe.user_data, *res, IORING_CQE_F_MORE);
        }
        break;
    }
    case IORING_OP_RECV:
        if ((sqe.flags & IOSQE_BUFFER_SELECT) != 0) return try_receive_pooled(o);
        res = network_.recv(sqe.fd,
                            std::span<std::byte>(reinterpret_cast<std::byte*>(sqe.addr), sqe.len));
        break;
    case IORING_OP_SEND: {
        const iovec part{.iov_base = reinterpret_cast<void*>(sqe.addr), .iov_len = sqe.len};
        res = network_.send(sqe.fd, std::span<const iovec>(&part, 1));
        if (res && *res >= 0 && static_cast<std::size_t>(*res) < sqe.len)
            sent_short_.insert(sqe.fd);
        break;
    }
    case IORING_OP_SENDMSG: {
        const auto& message = *reinterpret_cast<const msghdr*>(sqe.addr);
        res = network_.send(sqe.fd, std::span<const iovec>(message.msg_iov, message.msg_iovlen));
        std::size_t asked = 0;
        for (std::size_t i = 0; i < message.msg_iovlen; ++i) asked += message.msg_iov[i].iov_len;
        if (res && *res >= 0 && static_cast<std::size_t>(*res) < asked) sent_short_.insert(sqe.fd);
        break;
    }
    default:
        fail(fmt::format("opcode {} is not a socket op", static_cast<unsigned>(sqe.opcode)));
    }
    if (!res) return false;
    make_ready(o, *res);
    return true;
}

void kernel::note_retry(const io_uring_sqe& sqe) {
    if (sqe.opcode == IORING_OP_RECV) {
        const bool after_none = without_buffer_.erase(sqe.fd) != 0;
        if (after_none && (sqe.flags & IOSQE_BUFFER_SELECT) != 0) ++stats_.no_buffers_rearmed;
    } else if (sqe.opcode == IORING_OP_SEND || sqe.opcode == IORING_OP_SENDMSG) {
        if (sent_short_.erase(sqe.fd) != 0) ++stats_.short_sends_resumed;
    }
}

void kernel::poll_network() {
    for (bool moved = true; moved;) {
        moved = false;
        std::vector<std::uint64_t> still;
        for (std::uint64_t id : sockets_waiting_) {
            auto it = ops_.find(id);
            if (it == ops_.end() || it->second.state != phase::blocked) continue;
            if (try_network(it->second))
                moved = true;
            else
                still.push_back(id);
        }
        sockets_waiting_ = std::move(still);
    }
}

} // namespace snow::io::sim
