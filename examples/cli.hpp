// examples/cli.hpp: what every example shares at its edges: hand-parsed `--name value` flags
// (--host and --port everywhere; a bad flag prints the usage on stderr and exits 2), the
// flushed "listening on HOST:PORT" start-up line tests wait for, and running main's body
// so that a failure to start (no io_uring) is one line on stderr and exit status 1.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "snow/core/task.hpp"
#include "snow/io/run.hpp"
#include "snow/net/address.hpp"

namespace snow::examples {

class command_line {
public:
    /// Every flag takes a value (`--port 9000` or `--port=9000`) except --help; anything
    /// else is positional. `usage` is the text after "usage: PROGRAM".
    command_line(int argc, char** argv, std::string_view usage)
        : program_(argc > 0 ? argv[0] : "example")
        , usage_(usage) {
        for (int i = 1; i < argc; ++i) {
            std::string_view arg = argv[i];
            if (arg == "--help" || arg == "-h") {
                fmt::print("usage: {} {}\n", program_, usage_);
                std::exit(0);
            }
            if (arg == "--") {
                for (++i; i < argc; ++i) positional_.emplace_back(argv[i]);
                break;
            }
            if (!arg.starts_with("--")) {
                positional_.emplace_back(arg);
                continue;
            }
            arg.remove_prefix(2);
            if (auto eq = arg.find('='); eq != std::string_view::npos) {
                flags_.insert_or_assign(std::string(arg.substr(0, eq)),
                                        std::string(arg.substr(eq + 1)));
            } else if (i + 1 < argc) {
                flags_.insert_or_assign(std::string(arg), std::string(argv[++i]));
            } else {
                fail(fmt::format("--{} needs a value", arg));
            }
        }
    }

    std::string text(std::string_view name, std::string_view fallback) {
        used_.emplace(name);
        auto it = flags_.find(name);
        return it == flags_.end() ? std::string(fallback) : it->second;
    }

    /// A decimal number in [min, max].
    std::uint64_t number(std::string_view name, std::uint64_t fallback, std::uint64_t min,
                         std::uint64_t max) {
        used_.emplace(name);
        auto it = flags_.find(name);
        if (it == flags_.end()) return fallback;
        const std::string& value = it->second;
        char* end = nullptr;
        errno = 0;
        unsigned long long n = std::strtoull(value.c_str(), &end, 10);
        if (value.empty() || value.front() == '-' || *end != '\0' || errno != 0 || n < min ||
            n > max)
            fail(fmt::format("--{} wants a number from {} to {}, not '{}'", name, min, max, value));
        return n;
    }

    /// --host (a numeric IPv4 or IPv6 address, default 127.0.0.1) and --port (for a server, 0
    /// picks a free one).
    net::address endpoint(std::uint16_t default_port) {
        std::string host = text("host", "127.0.0.1");
        auto port = static_cast<std::uint16_t>(number("port", default_port, 0, 65535));
        auto parsed = net::address::from_ip(host, port);
        if (!parsed) fail(fmt::format("--host wants a numeric address, not '{}'", host));
        return *parsed;
    }

    const std::vector<std::string>& positional() const noexcept { return positional_; }

    /// Rejects flags no query asked about, and positional arguments unless `allow_positional`.
    /// Call after the last query.
    void finish(bool allow_positional = false) const {
        for (const auto& [name, value] : flags_)
            if (!used_.contains(name)) fail(fmt::format("unknown flag --{}", name));
        if (!allow_positional && !positional_.empty())
            fail(fmt::format("unexpected argument '{}'", positional_.front()));
    }

    [[noreturn]] void fail(std::string_view message) const {
        fmt::print(stderr, "{}: {}\nusage: {} {}\n", program_, message, program_, usage_);
        std::exit(2);
    }

private:
    std::string program_;
    std::string usage_;
    std::map<std::string, std::string, std::less<>> flags_;
    std::set<std::string, std::less<>> used_;
    std::vector<std::string> positional_;
};

/// One line on stdout, flushed at once: a pipe would otherwise hold it back for a reader
/// (a test, a log collector) that is waiting on it.
/// One write per line, so lines from several threads never interleave.
template <typename... Args>
void print_line(fmt::format_string<Args...> format, Args&&... args) {
    std::string line = fmt::format(format, std::forward<Args>(args)...);
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
}

/// The start-up line: the real bound address, so `--port 0` callers learn the port.
inline void announce(const net::address& local) {
    print_line("listening on {}", local);
}

/// Runs main's body (a callable returning the exit status) so that no exception escapes
/// main: an escaping one would end in std::terminate and SIGABRT. The exception's what()
/// becomes one line on stderr and the status 1. When io_uring is blocked that line is
/// snow's own (io::describe_ring_failure, from snow::run): the cause and the remedy.
template <typename Body>
int guard_main(Body&& body) noexcept {
    try {
        return std::forward<Body>(body)();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what()); // fmt::print could throw in here
    } catch (...) {
        std::fputs("snow: stopped by an unknown exception\n", stderr);
    }
    return 1;
}

/// Runs main's task on a fresh loop under guard_main.
inline int run_main(task<int> main_task) {
    return guard_main([&] { return snow::run(std::move(main_task)); });
}

} // namespace snow::examples
