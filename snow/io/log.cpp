// snow/io/log.cpp: the level, SNOW_LOG_LEVEL, and where the lines go.
#include "snow/io/log.hpp"

#include <cstdlib>
#include <mutex>

namespace snow::log {

std::optional<level> parse_level(std::string_view name) noexcept {
    if (name == "error") return level::error;
    if (name == "warn" || name == "warning") return level::warn;
    if (name == "info") return level::info;
    if (name == "debug") return level::debug;
    return std::nullopt;
}

std::string_view to_string(level l) noexcept {
    switch (l) {
    case level::error:
        return "error";
    case level::warn:
        return "warn";
    case level::info:
        return "info";
    case level::debug:
        return "debug";
    }
    return "info";
}

namespace {
int level_from_environment() noexcept {
    const char* value = std::getenv("SNOW_LOG_LEVEL");
    auto parsed = parse_level(value != nullptr ? value : "");
    return static_cast<int>(parsed.value_or(level::info));
}

std::mutex sink_mutex;
std::shared_ptr<io::log_file> custom_sink; // guarded by sink_mutex
std::atomic<bool> has_custom_sink{false};
} // namespace

namespace detail {

// Initialised during static initialisation, before main() starts any thread.
std::atomic<int> threshold{level_from_environment()};

void emit(level l, std::string_view message) {
    std::string line = fmt::format("snow: {}: {}\n", to_string(l), message);
    std::shared_ptr<io::log_file> sink;
    if (has_custom_sink.load(std::memory_order_acquire)) {
        std::lock_guard lock(sink_mutex);
        sink = custom_sink;
    }
    if (!sink) sink = io::log_file::standard_error();
    sink->write(line);
}

} // namespace detail

void set_level(level l) noexcept {
    detail::threshold.store(static_cast<int>(l), std::memory_order_relaxed);
}

level current_level() noexcept {
    return static_cast<level>(detail::threshold.load(std::memory_order_relaxed));
}

void set_sink(std::shared_ptr<io::log_file> sink) {
    std::lock_guard lock(sink_mutex);
    custom_sink = std::move(sink);
    has_custom_sink.store(custom_sink != nullptr, std::memory_order_release);
}

} // namespace snow::log
