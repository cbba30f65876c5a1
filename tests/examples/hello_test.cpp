// tests/examples/hello_test.cpp: the README's hello server and client, as quoted and as run.
// README.md must quote examples/hello_server.cpp and examples/hello_client.cpp verbatim, less
// the first line that names each file, in ```cpp blocks. Then both programs run in a private
// network namespace, since hello_server binds the fixed port 8080: a forked child enters it,
// brings lo up, starts the server, waits until it accepts, runs the client and reports back
// through a pipe. Without a way into a network namespace the run is skipped with a message.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "examples/hello_sources.hpp"
#include "support/programs.hpp"

#include "child_process.hpp"

namespace {

using namespace std::chrono_literals;
using snow::testing::child_process;
using snow::testing::example;
using snow::testing::require_kernel;
using clock_type = std::chrono::steady_clock;

constexpr std::uint16_t hello_port = 8080; // fixed in examples/hello_server.cpp

std::string read_file(const std::string& path) {
    std::FILE* file = std::fopen(path.c_str(), "rb");
    REQUIRE_MESSAGE(file != nullptr, "cannot open ", path);
    std::string text;
    char chunk[4096];
    std::size_t n = 0;
    while ((n = std::fread(chunk, 1, sizeof chunk, file)) > 0) text.append(chunk, n);
    std::fclose(file);
    return text;
}

/// The contents of every ```cpp fenced block of a Markdown text, each line ending in "\n".
std::vector<std::string> cpp_blocks(std::string_view markdown) {
    std::vector<std::string> blocks;
    std::optional<std::string> open;
    while (!markdown.empty()) {
        const auto end = markdown.find('\n');
        const std::string_view line = markdown.substr(0, end);
        markdown = end == std::string_view::npos ? std::string_view{} : markdown.substr(end + 1);
        if (!open && line == "```cpp") {
            open.emplace();
        } else if (open && line == "```") {
            blocks.push_back(std::move(*open));
            open.reset();
        } else if (open) {
            open->append(line).append("\n");
        }
    }
    return blocks;
}

// ---------------------------------------------------------------------------------------
// The run, in a forked child inside its own network namespace

/// What the child reports: one field per line, then the client's stdout as it was.
struct hello_run {
    std::string outcome = "error"; ///< "ran", "skip" or "error"
    std::string detail;            ///< why, for "skip" and "error"
    int client_status = -1;        ///< exit status, or 128 + signal; -1 if it did not end
    int server_status = -1;
    std::string client_output;

    std::string serialise() const {
        std::string one_line = detail;
        std::replace(one_line.begin(), one_line.end(), '\n', ' ');
        return fmt::format("{}\n{}\n{}\n{}\n{}", outcome, one_line, client_status, server_status,
                           client_output);
    }

    static hello_run parse(std::string_view text) {
        hello_run r;
        std::vector<std::string> fields;
        for (int i = 0; i < 4; ++i) {
            const auto end = text.find('\n');
            if (end == std::string_view::npos) {
                r.detail = fmt::format("a report cut short: '{}'", text);
                return r;
            }
            fields.emplace_back(text.substr(0, end));
            text.remove_prefix(end + 1);
        }
        r.outcome = fields[0];
        r.detail = fields[1];
        r.client_status = std::stoi(fields[2]);
        r.server_status = std::stoi(fields[3]);
        r.client_output = std::string(text);
        return r;
    }
};

bool write_file(const char* path, std::string_view text) {
    const int fd = ::open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    return written;
}

/// Moves the calling (single-threaded) process into a network namespace of its own: with a
/// user namespace, as any user may; failing that, as root, the network namespace alone.
bool enter_private_network(std::string& why) {
    const uid_t uid = ::geteuid();
    const gid_t gid = ::getegid();
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0) {
        // Root inside is the caller outside. Only cosmetic: the namespace's capabilities,
        // which bringing lo up needs, come with unshare whether or not the maps are written.
        (void)write_file("/proc/self/setgroups", "deny"); // required before gid_map unprivileged
        (void)write_file("/proc/self/uid_map", fmt::format("0 {} 1\n", uid));
        (void)write_file("/proc/self/gid_map", fmt::format("0 {} 1\n", gid));
        return true;
    }
    const int user_error = errno;
    if (uid == 0 && ::unshare(CLONE_NEWNET) == 0) return true;
    why = fmt::format("no private network namespace: unshare(CLONE_NEWUSER | CLONE_NEWNET): {}; {}",
                      std::strerror(user_error),
                      uid == 0 ? fmt::format("unshare(CLONE_NEWNET): {}", std::strerror(errno))
                               : std::string("and not root"));
    return false;
}

/// A new network namespace starts with lo down: nothing listens or connects until it is up.
bool bring_loopback_up(std::string& why) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        why = fmt::format("socket: {}", std::strerror(errno));
        return false;
    }
    ifreq request{};
    std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
    bool up = ::ioctl(fd, SIOCGIFFLAGS, &request) == 0;
    if (up) {
        request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP | IFF_RUNNING);
        up = ::ioctl(fd, SIOCSIFFLAGS, &request) == 0;
    }
    if (!up) why = fmt::format("bringing lo up: {}", std::strerror(errno));
    ::close(fd);
    return up;
}

/// Connects to 127.0.0.1:`port` until something accepts, for at most `within`. The server
/// prints nothing when it is ready, so there is no event to wait for: a refused connect is
/// retried every 10 ms, and a server that exits ends the wait at once.
bool wait_until_accepting(std::uint16_t port, std::chrono::milliseconds within,
                          child_process& server, std::string& why) {
    const auto deadline = clock_type::now() + within;
    sockaddr_in at{};
    at.sin_family = AF_INET;
    at.sin_port = htons(port);
    at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (;;) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            why = fmt::format("socket: {}", std::strerror(errno));
            return false;
        }
        // Loopback answers a connect at once: accepted, or refused while nothing listens.
        const bool accepted = ::connect(fd, reinterpret_cast<sockaddr*>(&at), sizeof at) == 0;
        const int error = errno;
        ::close(fd);
        if (accepted) return true;
        if (auto status = server.wait_exit(0ms)) {
            why = fmt::format("hello_server exited with status {} before accepting", *status);
            return false;
        }
        if (clock_type::now() >= deadline) {
            why = fmt::format("nothing accepted on 127.0.0.1:{} within {} ms (last: {})", port,
                              within.count(), std::strerror(error));
            return false;
        }
        ::poll(nullptr, 0, 10);
    }
}

/// The whole run, in the child. Returns rather than exits, so that the child_process
/// destructors end and reap both programs whatever happened.
hello_run run_hello(const std::string& server_path, const std::string& client_path) {
    hello_run r;
    if (!enter_private_network(r.detail)) {
        r.outcome = "skip";
        return r;
    }
    if (!bring_loopback_up(r.detail)) return r;
    try {
        child_process server(server_path, {});
        if (!wait_until_accepting(hello_port, 5s, server, r.detail)) return r;
        child_process client(client_path, {});
        r.client_output = client.read_all(10s);
        r.client_status = client.wait_exit(10s).value_or(-1);
        r.server_status = server.stop(10s).value_or(-1); // SIGTERM: a graceful stop
        r.outcome = "ran";
    } catch (const std::exception& e) {
        r.detail = e.what();
    }
    return r;
}

void write_all(int fd, std::string_view text) {
    while (!text.empty()) {
        const ssize_t n = ::write(fd, text.data(), text.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        text.remove_prefix(static_cast<std::size_t>(n));
    }
}

/// Everything written to `fd` until its writers close it, or until `within` has passed.
std::string read_until_closed(int fd, std::chrono::milliseconds within, bool& closed) {
    const auto deadline = clock_type::now() + within;
    std::string text;
    closed = false;
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
        if (left.count() <= 0) return text;
        pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
        const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) return text;
        char chunk[4096];
        const ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            closed = n == 0;
            return text;
        }
        text.append(chunk, static_cast<std::size_t>(n));
    }
}

} // namespace

TEST_SUITE_BEGIN("examples.hello");

TEST_CASE("the README quotes hello_server.cpp and hello_client.cpp verbatim in cpp blocks") {
    const auto blocks = cpp_blocks(read_file(SNOW_README));
    REQUIRE_FALSE(blocks.empty());
    for (const std::string name : {"hello_server.cpp", "hello_client.cpp"}) {
        CAPTURE(name);
        const std::string source = read_file(fmt::format("{}/{}", SNOW_EXAMPLE_SOURCES, name));
        // The first line names the file; it is all the README leaves out.
        REQUIRE(source.starts_with(fmt::format("// examples/{}: ", name)));
        const std::string quoted = source.substr(source.find('\n') + 1);
        REQUIRE(quoted.find("int main(") != std::string::npos);
        const bool found = std::any_of(blocks.begin(), blocks.end(), [&](const std::string& b) {
            return b.find(quoted) != std::string::npos;
        });
        CHECK_MESSAGE(found, "README.md has no ```cpp block that contains examples/", name,
                      " less its first line:\n", quoted);
    }
}

TEST_CASE(
    "hello_client prints hi from hello_server, both run in a network namespace of their own") {
    require_kernel();
    const std::string server_path = example("hello_server");
    const std::string client_path = example("hello_client");
    int report[2];
    REQUIRE(::pipe2(report, O_CLOEXEC) == 0);
    const pid_t parent = ::getpid();
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // The child never returns into the test runner: it reports and exits.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(1);
        ::close(report[0]);
        std::string text;
        try {
            text = run_hello(server_path, client_path).serialise();
        } catch (...) {
            hello_run failed;
            failed.detail = "the run threw";
            text = failed.serialise();
        }
        write_all(report[1], text);
        ::_exit(0);
    }
    ::close(report[1]);
    bool closed = false;
    const std::string text = read_until_closed(report[0], 60s, closed);
    ::close(report[0]);
    if (!closed) ::kill(child, SIGKILL); // the programs die with it (PR_SET_PDEATHSIG)
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    REQUIRE_MESSAGE(closed, "the namespaced run did not report within 60 s");
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);

    const hello_run run = hello_run::parse(text);
    if (run.outcome == "skip") {
        MESSAGE("skipped: ", run.detail);
        return;
    }
    REQUIRE_MESSAGE(run.outcome == "ran", run.detail);
    CHECK(run.client_output == "hi\n");
    CHECK(run.client_status == 0);
    CHECK(run.server_status == 0);
}

TEST_SUITE_END();
