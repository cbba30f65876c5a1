// tests/examples/child_process.hpp: runs an example program as a child process with its stdin
// and stdout on pipes (stderr goes to the test's own, so its complaints land in the test
// log, unless a test asks to read it, or to read it with stdout). The destructor always ends and
// reaps the child: SIGTERM, a grace period, SIGKILL. PR_SET_PDEATHSIG covers the case the
// destructor cannot: the test process itself dying.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace snow::testing {

class child_process {
public:
    using clock = std::chrono::steady_clock;

    /// Where the child's stderr goes: the test's own stderr, a pipe read_all_stderr reads, or
    /// the stdout pipe (for programs that report on both, read in the order written).
    enum class stderr_to { test_log, pipe, stdout_pipe };

    /// Starts `path` with `args`, in `directory` if one is given. Throws std::system_error if
    /// the pipes or fork fail; an exec failure (or a directory it cannot enter) shows as exit
    /// status 127.
    child_process(std::string path, std::vector<std::string> args,
                  stderr_to errors = stderr_to::test_log, std::string directory = {})
        : path_(std::move(path)) {
        int in[2];
        int out[2] = {-1, -1};
        int err[2] = {-1, -1};
        // O_CLOEXEC: a second child must not inherit this one's pipe ends, or this child
        // would never see end of input.
        if (::pipe2(in, O_CLOEXEC) < 0) throw std::system_error(errno, std::system_category());
        if (::pipe2(out, O_CLOEXEC) < 0 ||
            (errors == stderr_to::pipe && ::pipe2(err, O_CLOEXEC) < 0)) {
            int e = errno;
            for (int fd : {in[0], in[1], out[0], out[1]})
                if (fd >= 0) ::close(fd);
            throw std::system_error(e, std::system_category());
        }
        std::vector<char*> argv;
        argv.push_back(path_.data());
        for (auto& arg : args) argv.push_back(arg.data());
        argv.push_back(nullptr);

        const pid_t parent = ::getpid();
        pid_ = ::fork();
        if (pid_ == 0) {
            // Only async-signal-safe calls between fork and exec.
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent) ::_exit(126);
            ::dup2(in[0], STDIN_FILENO);
            ::dup2(out[1], STDOUT_FILENO);
            if (err[1] >= 0) ::dup2(err[1], STDERR_FILENO);
            if (errors == stderr_to::stdout_pipe) ::dup2(out[1], STDERR_FILENO);
            if (!directory.empty() && ::chdir(directory.c_str()) != 0) ::_exit(127);
            // The test runner ignores SIGPIPE; a real program starts with the default.
            struct sigaction action {};
            action.sa_handler = SIG_DFL;
            ::sigaction(SIGPIPE, &action, nullptr);
            sigset_t none;
            ::sigemptyset(&none);
            ::sigprocmask(SIG_SETMASK, &none, nullptr);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        int e = errno;
        ::close(in[0]);
        ::close(out[1]);
        if (err[1] >= 0) ::close(err[1]);
        if (pid_ < 0) {
            ::close(in[1]);
            ::close(out[0]);
            if (err[0] >= 0) ::close(err[0]);
            throw std::system_error(e, std::system_category());
        }
        stdin_ = in[1];
        stdout_ = out[0];
        stderr_ = err[0];
    }

    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    ~child_process() {
        close_stdin();
        if (stdout_ >= 0) ::close(stdout_);
        if (stderr_ >= 0) ::close(stderr_);
        if (pid_ > 0 && !status_) {
            ::kill(pid_, SIGTERM);
            if (!wait_exit(std::chrono::seconds(2))) {
                ::kill(pid_, SIGKILL);
                int status = 0;
                while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
                }
            }
        }
    }

    pid_t pid() const noexcept { return pid_; }

    /// Writes all of `text` to the child's stdin (blocking).
    bool write_stdin(std::string_view text) {
        while (!text.empty()) {
            ssize_t n = ::write(stdin_, text.data(), text.size());
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return false;
            text.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    void close_stdin() noexcept {
        if (stdin_ >= 0) ::close(std::exchange(stdin_, -1));
    }

    /// The next complete line of stdout (without "\n"), or nothing on timeout or end of output.
    std::optional<std::string> read_line(std::chrono::milliseconds timeout) {
        const auto deadline = clock::now() + timeout;
        for (;;) {
            if (auto newline = pending_.find('\n'); newline != std::string::npos) {
                std::string line = pending_.substr(0, newline);
                pending_.erase(0, newline + 1);
                lines_.push_back(line);
                return line;
            }
            if (!fill(deadline)) return std::nullopt;
        }
    }

    /// Reads lines until one satisfies `wanted` and returns it; nothing on timeout or end.
    std::optional<std::string> wait_for_line(const std::function<bool(std::string_view)>& wanted,
                                             std::chrono::milliseconds timeout) {
        const auto deadline = clock::now() + timeout;
        for (;;) {
            auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
            auto line = read_line(std::max(left, std::chrono::milliseconds(0)));
            if (!line) return std::nullopt;
            if (wanted(*line)) return line;
        }
    }

    bool wait_for_line(std::string_view exact, std::chrono::milliseconds timeout) {
        return wait_for_line([exact](std::string_view line) { return line == exact; }, timeout)
            .has_value();
    }

    /// Reads stdout until it holds `text`, and consumes it up to the end of `text`; false on
    /// timeout or end of output (what was read stays for transcript()).
    bool wait_for_text(std::string_view text, std::chrono::milliseconds timeout) {
        const auto deadline = clock::now() + timeout;
        for (;;) {
            if (auto at = pending_.find(text); at != std::string::npos) {
                lines_.push_back(pending_.substr(0, at + text.size()));
                pending_.erase(0, at + text.size());
                return true;
            }
            if (!fill(deadline)) return false;
        }
    }

    /// Everything the child writes to stdout until it closes it (or the timeout).
    std::string read_all(std::chrono::milliseconds timeout) {
        const auto deadline = clock::now() + timeout;
        while (fill(deadline)) {
        }
        return std::exchange(pending_, std::string{});
    }

    /// Everything the child writes to stderr until it closes it (or the timeout); empty
    /// unless started with stderr_to::pipe.
    std::string read_all_stderr(std::chrono::milliseconds timeout) {
        std::string errors;
        if (stderr_ < 0) return errors;
        const auto deadline = clock::now() + timeout;
        while (fill_from(stderr_, errors, deadline)) {
        }
        return errors;
    }

    /// Reads the "listening on HOST:PORT" start-up line and returns the port (0 if none came).
    std::uint16_t wait_for_port(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        auto line = read_line(timeout);
        if (!line || !line->starts_with("listening on ")) return 0;
        auto colon = line->rfind(':');
        if (colon == std::string::npos) return 0;
        return static_cast<std::uint16_t>(std::stoul(line->substr(colon + 1)));
    }

    /// Asks the child to stop (SIGTERM) and returns its exit status; nothing if it is still
    /// running after `timeout` (the destructor then kills it).
    std::optional<int> stop(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        if (!status_) ::kill(pid_, SIGTERM);
        return wait_exit(timeout);
    }

    /// The exit status (exit code, or 128 + signal) once the child has ended; nothing if
    /// it is still running after `timeout`.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
        if (status_) return status_;
        const auto deadline = clock::now() + timeout;
        for (;;) {
            int status = 0;
            pid_t r = ::waitpid(pid_, &status, WNOHANG);
            if (r == pid_) {
                status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                return status_;
            }
            if (r < 0 && errno != EINTR) return std::nullopt;
            if (clock::now() >= deadline) return std::nullopt;
            ::usleep(5'000);
        }
    }

    /// Every line read so far, for failure messages.
    std::string transcript() const {
        std::string all;
        for (const auto& line : lines_) all += line + "\n";
        return all + pending_;
    }

private:
    /// Reads what is available on stdout before `deadline`; false on timeout or end of output.
    bool fill(clock::time_point deadline) { return fill_from(stdout_, pending_, deadline); }

    /// Appends what is available on `fd` before `deadline` to `into`; false on timeout or
    /// end of output.
    static bool fill_from(int fd, std::string& into, clock::time_point deadline) {
        for (;;) {
            auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
            if (left.count() < 0) return false;
            pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
            int ready = ::poll(&p, 1, static_cast<int>(left.count()));
            if (ready < 0 && errno == EINTR) continue;
            if (ready <= 0) return false;
            char chunk[4096];
            ssize_t n = ::read(fd, chunk, sizeof chunk);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return false;
            into.append(chunk, static_cast<std::size_t>(n));
            return true;
        }
    }

    std::string path_;
    pid_t pid_ = -1;
    int stdin_ = -1;
    int stdout_ = -1;
    int stderr_ = -1; // only with stderr_to::pipe
    std::string pending_;
    std::vector<std::string> lines_;
    std::optional<int> status_;
};

} // namespace snow::testing
