// snow/io/cpu_affinity.cpp: sched_getaffinity / sched_setaffinity over CPU sets sized at run
// time, so a machine with more than CPU_SETSIZE (1024) CPUs is answered too.
#include "snow/io/cpu_affinity.hpp"

#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <memory>

namespace snow::io {
namespace {

struct cpu_set_deleter {
    void operator()(cpu_set_t* set) const noexcept { CPU_FREE(set); }
};
using cpu_set_ptr = std::unique_ptr<cpu_set_t, cpu_set_deleter>;

} // namespace

std::vector<int> allowed_cpus() {
    // The kernel refuses (EINVAL) a set smaller than its own CPU count: grow until it fits.
    for (int count = CPU_SETSIZE; count <= (1 << 22); count *= 2) {
        cpu_set_ptr set(CPU_ALLOC(count));
        if (!set) return {};
        const std::size_t size = CPU_ALLOC_SIZE(count);
        CPU_ZERO_S(size, set.get());
        if (::sched_getaffinity(0, size, set.get()) == 0) {
            std::vector<int> cpus;
            for (int cpu = 0; cpu < count; ++cpu)
                if (CPU_ISSET_S(cpu, size, set.get())) cpus.push_back(cpu);
            return cpus;
        }
        if (errno != EINVAL) return {};
    }
    return {};
}

result<void> pin_this_thread(std::span<const int> cpus) {
    if (cpus.empty() || *std::min_element(cpus.begin(), cpus.end()) < 0)
        return std::make_error_code(std::errc::invalid_argument);
    const int count = *std::max_element(cpus.begin(), cpus.end()) + 1;
    cpu_set_ptr set(CPU_ALLOC(count));
    if (!set) return std::make_error_code(std::errc::not_enough_memory);
    const std::size_t size = CPU_ALLOC_SIZE(count);
    CPU_ZERO_S(size, set.get());
    for (int cpu : cpus) CPU_SET_S(cpu, size, set.get());
    if (::sched_setaffinity(0, size, set.get()) < 0) return system_error_code(errno);
    return {};
}

} // namespace snow::io
