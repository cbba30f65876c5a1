// snow/io/log.hpp: the library's own diagnostics (a handler that threw, accept paused, a signal
// received) with levels, so an operator can quiet them or ask for more. The level comes from
// SNOW_LOG_LEVEL (error, warn, info, debug) unless set_level() or the server's options say
// otherwise. Lines go to stderr through a log_file, so a loop thread never waits on a full
// pipe: "snow: warn: accept paused: Too many open files".
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "snow/core/export.hpp"
#include "snow/io/log_file.hpp"

namespace snow::log {

enum class level { error = 0, warn = 1, info = 2, debug = 3 };

/// "error", "warn" (or "warning"), "info", "debug"; none for anything else.
SNOW_API std::optional<level> parse_level(std::string_view name) noexcept;
SNOW_API std::string_view to_string(level l) noexcept;

namespace detail {
/// SNOW_LOG_LEVEL is read once, before main's loops start; info when unset or unknown.
extern SNOW_API std::atomic<int> threshold;
SNOW_API void emit(level l, std::string_view message);
} // namespace detail

/// Lines at `l` and more severe are written; the rest cost one relaxed load.
inline bool enabled(level l) noexcept {
    return static_cast<int>(l) <= detail::threshold.load(std::memory_order_relaxed);
}
SNOW_API void set_level(level l) noexcept;
SNOW_API level current_level() noexcept;

/// Sends the diagnostics to `sink` instead of stderr (null: back to stderr).
SNOW_API void set_sink(std::shared_ptr<io::log_file> sink);

template <typename... Args>
void write(level l, fmt::format_string<Args...> format, Args&&... args) {
    if (!enabled(l)) return;
    detail::emit(l, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> format, Args&&... args) {
    write(level::error, format, std::forward<Args>(args)...);
}
template <typename... Args>
void warn(fmt::format_string<Args...> format, Args&&... args) {
    write(level::warn, format, std::forward<Args>(args)...);
}
template <typename... Args>
void info(fmt::format_string<Args...> format, Args&&... args) {
    write(level::info, format, std::forward<Args>(args)...);
}
template <typename... Args>
void debug(fmt::format_string<Args...> format, Args&&... args) {
    write(level::debug, format, std::forward<Args>(args)...);
}

} // namespace snow::log
