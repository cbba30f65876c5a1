// tests/support/no_io_uring.cpp: runs a program with io_uring blocked the way Docker 25+'s
// default seccomp profile blocks it (io_uring_setup, io_uring_enter and io_uring_register fail
// with EPERM), so tests can check that snow's programs say why and exit instead of aborting.
// Usage: no_io_uring PROGRAM [ARGS...]. Exits 77 (a skip) on an architecture it has no filter
// for, 126 if the filter cannot be installed, 127 if PROGRAM cannot be run.
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>

namespace {

#if defined(__x86_64__)
constexpr unsigned this_arch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr unsigned this_arch = AUDIT_ARCH_AARCH64;
#else
constexpr unsigned this_arch = 0; // no filter written for it: skip
#endif

// Linux 5.1 gave io_uring the same numbers on every architecture; the headers may be older.
#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#define __NR_io_uring_enter 426
#define __NR_io_uring_register 427
#endif

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: no_io_uring PROGRAM [ARGS...]\n");
        return 2;
    }
    if (this_arch == 0) {
        std::fprintf(stderr, "no_io_uring: no seccomp filter for this architecture\n");
        return 77;
    }

    // Classic BPF over struct seccomp_data. A system call made under another ABI (32-bit
    // compat) numbers its calls differently, so it is let through untouched rather than
    // judged by this table; the programs under test are native.
    constexpr unsigned deny = SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA);
    sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, this_arch, 0, 4),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 3, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_enter, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_register, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, deny),
    };
    // Jumps count from the next instruction: a foreign arch lands on ALLOW, each io_uring
    // call on deny.
    static_assert(sizeof filter / sizeof filter[0] == 8);
    sock_fprog program{
        .len = static_cast<unsigned short>(sizeof filter / sizeof filter[0]),
        .filter = filter,
    };

    // Without CAP_SYS_ADMIN a filter may be installed only by a process that can gain no
    // privileges through exec (a setuid program must not run under a filter it did not ask for).
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) {
        std::fprintf(stderr, "no_io_uring: cannot install the seccomp filter: %s\n",
                     std::strerror(errno));
        return 126;
    }
    ::execvp(argv[1], argv + 1);
    std::fprintf(stderr, "no_io_uring: cannot run %s: %s\n", argv[1], std::strerror(errno));
    return 127;
}
