// tests/interop/browser_test.cpp: a real browser against snow_demo's real-time routes. Headless
// Chromium loads /realtime/ (examples/realtime_page.hpp), whose script uses the browser's own
// WebSocket on /ws/echo (text, non-ASCII text, 64 KiB, binary, a clean close) and EventSource
// on /events/ (a tick, and a broadcast it triggers with fetch POST), writes what it saw into
// the page, and at the end broadcasts the page's text, which this test hears on an event
// stream of its own. That report, not --dump-dom, ends the wait: the dump needs
// --virtual-time-budget to wait for the script, and under virtual time Chromium 156 left
// the page's WebSocket unopened in about one run in three.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "interop/peers.hpp"
#include "support/programs.hpp"

#include "examples/child_process.hpp"
#include "http/support/blocking_client.hpp"
#include "http/support/temp_dir.hpp"

using namespace std::chrono_literals;
using snow::testing::child_process;
using steady = std::chrono::steady_clock;

namespace {

/// Chromium, headless, showing `url`, with its output in `log_file`, under a reaper process of
/// its own. Chromium forks a zygote, renderers, GPU and network processes, and crashpad
/// handlers that detach into sessions of their own. The reaper is their subreaper: end() has
/// it kill Chromium's process group, then reap every process of the tree as it exits,
/// crashpad's too, so none is left behind, not even as a zombie.
class headless_browser {
public:
    headless_browser(const std::string& program, const std::string& profile,
                     const std::string& log_file, const std::string& url) {
        std::vector<std::string> args = {program,
                                         "--headless=new",
                                         "--no-sandbox",
                                         "--disable-gpu",
                                         "--no-first-run",
                                         "--disable-dev-shm-usage", // containers' /dev/shm is small
                                         "--enable-logging=stderr", // the page's console too
                                         "--v=0",
                                         "--user-data-dir=" + profile,
                                         url};
        std::vector<char*> argv;
        for (auto& arg : args) argv.push_back(arg.data());
        argv.push_back(nullptr);
        const int log = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        const int nothing = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        REQUIRE(log >= 0);
        REQUIRE(nothing >= 0);
        reaper_ = ::fork();
        if (reaper_ == 0) reap(argv.data(), log, nothing);
        ::close(log);
        ::close(nothing);
        REQUIRE(reaper_ > 0);
    }
    headless_browser(const headless_browser&) = delete;
    headless_browser& operator=(const headless_browser&) = delete;
    ~headless_browser() { (void)end(); }

    /// Ends the browser and waits until every one of its processes is reaped; false if that
    /// took longer than `within` (the reaper is then killed, and init inherits what is left).
    bool end(std::chrono::milliseconds within = 5s) {
        if (reaper_ <= 0) return true;
        ::kill(reaper_, SIGTERM);
        const auto deadline = steady::now() + within;
        int status = 0;
        pid_t reaped = 0;
        while ((reaped = ::waitpid(reaper_, &status, WNOHANG)) == 0 && steady::now() < deadline)
            ::usleep(5'000); // Chromium's processes are exiting
        if (reaped == 0) {
            ::kill(reaper_, SIGKILL);
            ::waitpid(reaper_, &status, 0);
        }
        reaper_ = -1;
        return reaped > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }

private:
    /// The reaper, in the forked child: starts Chromium in a process group of its own, waits
    /// for SIGTERM (or this test's death), kills the group and reaps until no child is left.
    /// Only async-signal-safe calls: the test process may have threads.
    [[noreturn]] static void reap(char** argv, int log, int nothing) {
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        ::prctl(PR_SET_CHILD_SUBREAPER, 1);
        sigset_t term;
        ::sigemptyset(&term);
        ::sigaddset(&term, SIGTERM);
        ::sigprocmask(SIG_SETMASK, &term, nullptr); // SIGTERM waits for sigwait
        const pid_t browser = ::fork();
        if (browser == 0) {
            ::setpgid(0, 0);
            ::dup2(nothing, STDIN_FILENO);
            ::dup2(log, STDOUT_FILENO);
            ::dup2(log, STDERR_FILENO);
            struct sigaction action {};
            action.sa_handler = SIG_DFL;
            ::sigaction(SIGPIPE, &action, nullptr);
            sigset_t none;
            ::sigemptyset(&none);
            ::sigprocmask(SIG_SETMASK, &none, nullptr);
            ::execv(argv[0], argv);
            ::_exit(127);
        }
        if (browser < 0) ::_exit(1);
        ::setpgid(browser, browser); // whichever of the two runs first
        int received = 0;
        ::sigwait(&term, &received);
        ::kill(-browser, SIGKILL);
        // Orphans come to this process, so wait() fails only once the whole tree is gone.
        while (::wait(nullptr) > 0 || errno == EINTR) {
        }
        ::_exit(0);
    }

    pid_t reaper_ = -1;
};

/// A /events/ stream read raw, head and chunk framing included, as its bytes arrive.
class event_listener {
public:
    explicit event_listener(std::uint16_t port) : client_(port) {
        REQUIRE(client_.is_open());
        REQUIRE(client_.send_all("GET /events/ HTTP/1.1\r\nHost: demo\r\n\r\n"));
    }

    /// Reads until `needle` has arrived after `from`; its position, or npos on timeout or
    /// close.
    std::size_t wait_for(std::string_view needle, steady::time_point deadline,
                         std::size_t from = 0) {
        for (;;) {
            if (auto at = seen_.find(needle, from); at != std::string::npos) return at;
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
            if (left.count() <= 0) return std::string::npos;
            pollfd p{.fd = client_.native_handle(), .events = POLLIN, .revents = 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::string::npos;
            char chunk[4096];
            const ssize_t n = ::recv(client_.native_handle(), chunk, sizeof chunk, 0);
            if (n <= 0) return std::string::npos;
            seen_.append(chunk, static_cast<std::size_t>(n));
        }
    }

    /// The data of the first event whose data begins with `first_line`, its lines joined with
    /// "\n"; empty if none came before `deadline`. One broadcast is one chunk, so no chunk
    /// framing falls inside it.
    std::string event_starting(std::string_view first_line, steady::time_point deadline) {
        const std::string start = fmt::format("data: {}\n", first_line);
        const std::size_t begin = wait_for(start, deadline);
        if (begin == std::string::npos) return {};
        const std::size_t end = wait_for("\n\n", deadline, begin);
        if (end == std::string::npos) return {};
        std::istringstream lines(seen_.substr(begin, end - begin));
        std::string data;
        for (std::string line; std::getline(lines, line);) {
            if (!data.empty()) data += '\n';
            data += line.starts_with("data: ") ? line.substr(6) : "[" + line + "]";
        }
        return data;
    }

private:
    snow::testing::blocking_client client_;
    std::string seen_;
};

/// The lines of Chromium's log that the page's console wrote, for failure messages.
std::string console_lines(const std::string& log) {
    std::istringstream in(log);
    std::string out;
    for (std::string line; std::getline(in, line);)
        if (line.find(":CONSOLE") != std::string::npos) out += line + "\n";
    return out.empty() ? log : out;
}

} // namespace

TEST_SUITE_BEGIN("interop");

TEST_CASE("headless Chromium talks WebSocket and Server-Sent Events to snow_demo's /realtime/") {
    auto chromium = snow::testing::require_peer("chromium", "chromium");
    if (!chromium) return;
    snow::testing::require_kernel();
    // Two loops: the page's streams and this test's need not share one, so its broadcasts
    // cross threads (under TSan too: the browser adds about two seconds there, as elsewhere).
    child_process demo(snow::testing::example("snow_demo"),
                       {"--host", "127.0.0.1", "--port", "0", "--threads", "2"});
    constexpr std::string_view prefix = "snow: listening on http://127.0.0.1:";
    auto announced =
        demo.wait_for_line([prefix](std::string_view l) { return l.starts_with(prefix); }, 10s);
    REQUIRE_MESSAGE(announced.has_value(), "snow_demo did not announce its port:\n",
                    demo.transcript());
    const auto port = static_cast<std::uint16_t>(std::stoul(announced->substr(prefix.size())));

    // The report's stream has joined the hub once its first tick is here.
    event_listener reports(port);
    REQUIRE(reports.wait_for("data: tick 1\n", steady::now() + 5s) != std::string::npos);

    snow::testing::temp_dir dir;
    const std::string log_file = dir.file("chromium.log");
    headless_browser browser(*chromium, dir.file("profile"), log_file,
                             fmt::format("http://127.0.0.1:{}/realtime/", port));
    const std::string page = reports.event_starting("realtime page", steady::now() + 15s);
    CHECK(browser.end());
    INFO("Chromium's console:\n", console_lines(snow::testing::read_file(log_file)));
    REQUIRE_MESSAGE(!page.empty(), "the page reported nothing");
    CHECK(page == "realtime page\n"
                  "ws text: hello\n"
                  "ws unicode: h\xc3\xa9llo \xe2\x98\x83 \xf0\x9f\x8c\x8d same\n"
                  "ws 64KiB: 65536 same\n"
                  "ws binary: 0,1,128,255\n"
                  "ws close: 1000 clean\n"
                  "sse tick: tick 1 id 1\n"
                  "sse post: 200\n"
                  "sse broadcast: received\n"
                  "done");
}

TEST_SUITE_END();
