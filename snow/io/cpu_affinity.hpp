// snow/io/cpu_affinity.hpp: the CPUs this process may run on, and pinning a thread to some of
// them, for programs that run one loop per CPU (run_threads).
#pragma once

#include <span>
#include <vector>

#include "snow/core/export.hpp"
#include "snow/core/result.hpp"

namespace snow::io {

/// The CPUs the calling thread may run on, in ascending order: sched_getaffinity(2), so what
/// taskset, a cgroup's cpuset or an earlier pin left it. Empty if the kernel will not say.
SNOW_API std::vector<int> allowed_cpus();

/// Restricts the calling thread to `cpus` (one CPU pins it) with sched_setaffinity(2).
/// Errors: invalid_argument for an empty list, a negative CPU, or CPUs that are all offline
/// or outside the process's cpuset; otherwise the kernel's.
SNOW_API result<void> pin_this_thread(std::span<const int> cpus);

} // namespace snow::io
