// examples/cli.hpp: what every example shares at its edges: its flags, parsed by CLI11 (--host
// and --port everywhere, --help and --version; a bad flag is one line on stderr and exit status
// 2), the flushed "listening on HOST:PORT" start-up line tests wait for, and running main's body
// so that a failure to start (no io_uring) is one line on stderr and exit status 1.
#pragma once

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "snow/core/task.hpp"
#include "snow/io/run.hpp"
#include "snow/net/address.hpp"

// examples/meson.build passes the project's version to every example.
#ifndef SNOW_VERSION
#define SNOW_VERSION "unknown"
#endif

namespace snow::examples {

/// The version --version prints after the program's name.
inline constexpr std::string_view version = SNOW_VERSION;

/// A program's flags, parsed by CLI11. Every flag takes a value, written `--port 9000` or
/// `--port=9000`; given twice, the last one counts. -h/--help and --version print on stdout and
/// exit 0. An unknown flag, a bad value or a stray argument prints one line on stderr and exits
/// 2, before the program starts anything.
class command_line {
public:
    command_line(const std::string& program, std::string description)
        : app_(std::move(description), program) {
        app_.set_version_flag("--version", fmt::format("{} {}", program, version),
                              "Print the version and exit");
        app_.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    }

    /// --FLAG TEXT; `value` holds the default, and the flag's value after parse().
    CLI::Option* text(const std::string& flag, std::string& value, std::string_view help,
                      const std::string& type_name = "TEXT") {
        const std::string described =
            value.empty() ? std::string(help) : fmt::format("{} (default {})", help, value);
        return app_.add_option(flag, value, described)->type_name(type_name);
    }

    /// --FLAG TEXT that may be given many times: each occurrence adds its one value to
    /// `values`, in order (the one exception to "the last one counts").
    CLI::Option* repeated_text(const std::string& flag, std::vector<std::string>& values,
                               std::string_view help, const std::string& type_name = "TEXT") {
        return app_.add_option(flag, values, std::string(help))
            ->type_name(type_name)
            ->allow_extra_args(false)
            ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    }

    /// --FLAG N: a decimal number from `min` to `max`; `value` holds the default, and the
    /// number after parse().
    template <std::unsigned_integral Number>
    CLI::Option* number(const std::string& flag, Number& value, std::type_identity_t<Number> min,
                        std::type_identity_t<Number> max, std::string_view help,
                        const std::string& type_name = "N") {
        return app_
            .add_option(flag, value,
                        fmt::format("{} ({} to {}; default {})", help, min, max, value))
            ->type_name(type_name)
            ->check(decimal())
            ->check(CLI::Range(min, max).description(""));
    }

    /// --host (a numeric IPv4 or IPv6 address, default 127.0.0.1) and --port (0 to 65535; for
    /// a server, 0 picks a free one). address() combines them after parse().
    void endpoint(std::uint16_t default_port, std::string_view host_help,
                  std::string_view port_help) {
        text("--host", host_, host_help, "ADDRESS")
            ->check(CLI::Validator(
                [](std::string& value) -> std::string {
                    return net::address::from_ip(value, 0)
                               ? std::string{}
                               : fmt::format("wants a numeric IPv4 or IPv6 address, not '{}'",
                                             value);
                },
                ""));
        port_ = default_port;
        number("--port", port_, 0, 65535, port_help, "PORT");
    }

    /// The --host and --port of endpoint(), after parse() (which has checked the address).
    net::address address() const { return *net::address::from_ip(host_, port_); }

    /// For what the helpers above do not cover (positional arguments).
    CLI::App& app() noexcept { return app_; }

    /// Parses the flags, or exits: 0 after --help or --version, 2 after one line on a usage
    /// error.
    void parse(int argc, char** argv) {
        try {
            app_.parse(argc, argv);
        } catch (const CLI::ParseError& e) {
            if (e.get_exit_code() == 0) std::exit(app_.exit(e)); // --help, --version: stdout
            fail(e.what());
        }
    }

    /// A usage error found after parse(), such as two flags that go together: one line on
    /// stderr, then exit status 2.
    [[noreturn]] void fail(std::string_view message) const {
        const std::string& program = app_.get_name();
        std::string line = fmt::format("{}: {} (see {} --help)", program, message, program);
        std::replace(line.begin(), line.end(), '\n', ' '); // one line, whatever CLI11 says
        line.push_back('\n');
        std::fwrite(line.data(), 1, line.size(), stderr);
        std::exit(2);
    }

private:
    /// Digits only, as the flags were always documented: no sign, and no 0x or leading-zero
    /// octal, which CLI11's own conversion would accept.
    static CLI::Validator decimal() {
        return CLI::Validator(
            [](std::string& value) -> std::string {
                if (value.empty() || !std::all_of(value.begin(), value.end(),
                                                  [](char c) { return c >= '0' && c <= '9'; }))
                    return fmt::format("wants a decimal number, not '{}'", value);
                const auto first = value.find_first_not_of('0');
                value.erase(0, std::min(first, value.size() - 1)); // 010 is ten
                return {};
            },
            "");
    }

    CLI::App app_;
    std::string host_ = "127.0.0.1";
    std::uint16_t port_ = 0;
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
