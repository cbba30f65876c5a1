// tests/support/programs.hpp: for suites that start the built programs (examples, the demo,
// snow-fetch): where they are, and a skip on kernels that cannot run them.
#pragma once

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <sys/utsname.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "support/run_test.hpp"

namespace snow::testing {

/// The programs use multishot accept (5.19) and io_uring itself: skip (exit 77, meson SKIP)
/// on a machine without them rather than fail.
inline void require_kernel() {
    static const bool checked = [] {
        utsname name{};
        unsigned major = 0;
        unsigned minor = 0;
        if (::uname(&name) == 0 && std::sscanf(name.release, "%u.%u", &major, &minor) == 2 &&
            (major < 5 || (major == 5 && minor < 19))) {
            std::fprintf(stderr, "kernel %s is older than 5.19: skipping\n", name.release);
            std::exit(77);
        }
        (void)make_loop(); // exits 77 without io_uring
        return true;
    }();
    (void)checked;
}

/// The path of a built example program; meson passes their directory in SNOW_EXAMPLES.
inline std::string example(std::string_view name) {
    const char* dir = std::getenv("SNOW_EXAMPLES");
    REQUIRE_MESSAGE(dir != nullptr, "SNOW_EXAMPLES must name the built examples directory");
    return fmt::format("{}/{}", dir, name);
}

} // namespace snow::testing
