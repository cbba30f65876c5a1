// tests/interop/peers.hpp: the interop suite's real peers (openssl, nginx, curl, python3):
// finding them, skipping a case whose peer is not installed (failing it instead when
// SNOW_REQUIRE_INTEROP=1), free loopback ports and waiting for one to accept.
#pragma once

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>

#include "examples/child_process.hpp"
#include "support/free_port.hpp"

namespace snow::testing {

/// Whether a missing peer fails its case (CI, where install-deps.sh installed them all)
/// rather than skipping it.
inline bool interop_required() {
    const char* value = std::getenv("SNOW_REQUIRE_INTEROP");
    return value != nullptr && std::string_view(value) == "1";
}

/// The path of the program `name` in $PATH, or in the sbin folders (nginx lives in
/// /usr/sbin, which an ordinary user's PATH may lack); nothing if it is not installed.
inline std::optional<std::string> find_program(std::string_view name) {
    const char* path = std::getenv("PATH");
    std::string folders = path != nullptr ? path : "/usr/bin:/bin";
    folders += ":/usr/local/sbin:/usr/sbin:/sbin";
    std::istringstream in(folders);
    for (std::string folder; std::getline(in, folder, ':');) {
        if (folder.empty()) continue;
        std::string candidate = folder + "/" + std::string(name);
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return std::nullopt;
}

/// The peer program `name` (from the Debian package `package`). When it is missing the
/// case says so and should return: a skip, or a failure under SNOW_REQUIRE_INTEROP=1.
inline std::optional<std::string> require_peer(std::string_view name, std::string_view package) {
    auto found = find_program(name);
    if (found) return found;
    if (interop_required())
        FAIL_CHECK(name << " is not installed (Debian package " << package
                        << ") and SNOW_REQUIRE_INTEROP=1");
    else
        MESSAGE("skipped: " << name << " is not installed (Debian package " << package << ")");
    return std::nullopt;
}

/// Waits until 127.0.0.1:`port` accepts a connection, while `process` runs; false if the
/// process ends first or `within` passes.
inline bool wait_until_accepting(std::uint16_t port, child_process& process,
                                 std::chrono::milliseconds within) {
    using namespace std::chrono_literals;
    const auto deadline = std::chrono::steady_clock::now() + within;
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (;;) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return false;
        const bool accepted = ::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0;
        ::close(fd);
        if (accepted) return true;
        if (process.wait_exit(0ms) || std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(10ms); // the next attempt; the listen is what is awaited
    }
}

} // namespace snow::testing
