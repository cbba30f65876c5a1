// snow/net/reuseport.cpp: the CPU-steering program for a SO_REUSEPORT group
// (SO_ATTACH_REUSEPORT_CBPF, Linux 4.6 for TCP; snow's floor is 5.19).
#include "snow/net/reuseport.hpp"

#include <linux/filter.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <limits>

#include "snow/io/syscalls.hpp"

namespace snow::net {

result<void> steer_by_cpu(int fd, std::size_t group_size) noexcept {
    if (group_size == 0 || group_size > std::numeric_limits<std::uint16_t>::max())
        return std::make_error_code(std::errc::invalid_argument);
    // A = the CPU this packet is processed on; A %= group size; return A as the socket
    // index. An index past the group's end (sockets closed since) makes the kernel fall back
    // to its hash, so the program never strands a connection.
    sock_filter code[] = {
        {BPF_LD | BPF_W | BPF_ABS, 0, 0, static_cast<std::uint32_t>(SKF_AD_OFF + SKF_AD_CPU)},
        {BPF_ALU | BPF_MOD | BPF_K, 0, 0, static_cast<std::uint32_t>(group_size)},
        {BPF_RET | BPF_A, 0, 0, 0},
    };
    sock_fprog program{.len = sizeof code / sizeof code[0], .filter = code};
    if (io::sys::setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &program, sizeof program) < 0)
        return system_error_code(errno);
    return {};
}

} // namespace snow::net
