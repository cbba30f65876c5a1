// snow/net/reuseport.hpp: steering the connections of a SO_REUSEPORT group by the CPU that
// received them (a classic BPF program), so a loop pinned on that CPU serves them.
#pragma once

#include <cstddef>

#include "snow/core/export.hpp"
#include "snow/core/result.hpp"

namespace snow::net {

/// Attaches to the SO_REUSEPORT group of the listening socket `fd` a program that hands each
/// new connection to the group's socket number (CPU that received the SYN) mod `group_size`,
/// sockets numbered from 0 in the order they started listening. It serves every socket of
/// the group and replaces any program the group had. Worth it when loop i runs pinned on CPU
/// i: the connection then stays on the CPU its packets arrive on.
/// Errors: invalid_argument when `group_size` is 0 or too large, or `fd` is not in a
/// SO_REUSEPORT group; otherwise the kernel's (a seccomp profile may refuse it). On failure
/// the kernel goes on spreading connections by its hash.
SNOW_API result<void> steer_by_cpu(int fd, std::size_t group_size) noexcept;

} // namespace snow::net
