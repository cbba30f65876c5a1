// examples/fetch/input_source.hpp: snow-fetch's stream of input lines: the URLs given as
// arguments, then the lines of the -i file (or stdin), read through the ring a chunk at a time
// so that a million-line input costs no more memory than a short one, and a slow pipe never
// blocks the loop. The whole list repeats for -n and -z when the file can be read again.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "snow/core/task.hpp"
#include "snow/io/ops.hpp"

namespace snow::examples::fetch {

/// One line as read, with where it came from for messages.
struct input_line {
    std::string text{};
    std::uint64_t number = 0; ///< 1-based line number in the file; 0 for an argument
    bool too_long = false;    ///< cut at max_line_bytes; the rest of the line was skipped
};

class input_source {
public:
    /// Lines longer than this are cut short and reported, so one bad line cannot take all
    /// memory.
    static constexpr std::size_t max_line_bytes = 1 << 20;

    /// `arguments` first, then the lines of `fd` (none when -1), `passes` times (none:
    /// until the input runs dry, which a rewindable file never does unless it is empty).
    /// `fd` stays open until the source is destroyed; stdin is not closed.
    input_source(std::vector<std::string> arguments, int fd, std::optional<std::uint64_t> passes)
        : arguments_(std::move(arguments))
        , fd_(fd)
        , passes_left_(passes) {}
    input_source(const input_source&) = delete;
    input_source& operator=(const input_source&) = delete;
    ~input_source() {
        if (fd_ > STDIN_FILENO) ::close(fd_);
    }

    /// Whether `fd` can be read again from the start (a file, not a pipe or terminal).
    static bool rewindable(int fd) noexcept { return ::lseek(fd, 0, SEEK_CUR) >= 0; }

    /// The next line, or nothing once the input (every pass of it) has ended. A read that
    /// fails or is cancelled ends the input; a failure is reported on stderr.
    task<std::optional<input_line>> next() {
        for (;;) {
            if (finished_) co_return std::nullopt;
            if (next_argument_ < arguments_.size()) {
                yielded_any_ = true;
                co_return input_line{.text = arguments_[next_argument_++]};
            }
            if (fd_ >= 0 && !file_ended_) {
                auto line = co_await file_line();
                if (line) {
                    yielded_any_ = true;
                    co_return line;
                }
                continue; // file_line set file_ended_ (or finished_)
            }
            end_of_pass();
        }
    }

private:
    void end_of_pass() {
        if (passes_left_ && --*passes_left_ == 0) {
            finished_ = true;
            return;
        }
        // An empty list repeated forever would spin; a pipe cannot be read twice.
        if (!yielded_any_ || (fd_ >= 0 && ::lseek(fd_, 0, SEEK_SET) < 0)) {
            finished_ = true;
            return;
        }
        next_argument_ = 0;
        file_ended_ = false;
        line_number_ = 0;
    }

    task<std::optional<input_line>> file_line() {
        input_line line;
        for (;;) {
            const auto newline = pending_.find('\n', std::max(start_, scanned_));
            if (newline != std::string::npos) {
                const std::size_t length = std::min(newline - start_, max_line_bytes);
                if (!line.too_long) line.text.assign(pending_, start_, length);
                line.too_long = line.too_long || newline - start_ > max_line_bytes;
                start_ = newline + 1;
                scanned_ = start_;
                if (!line.text.empty() && line.text.back() == '\r') line.text.pop_back();
                line.number = ++line_number_;
                co_return line;
            }
            scanned_ = pending_.size();
            if (pending_.size() - start_ > max_line_bytes) {
                // Keep the start of an overlong line only; drop the rest as it arrives.
                if (!line.too_long) line.text.assign(pending_, start_, max_line_bytes);
                line.too_long = true;
                start_ = scanned_ = pending_.size();
            }
            if (at_eof_) {
                at_eof_ = false;
                if (start_ == pending_.size() && !line.too_long) {
                    file_ended_ = true;
                    co_return std::nullopt;
                }
                // A last line without "\n" counts too.
                if (!line.too_long) line.text.assign(pending_, start_);
                start_ = scanned_ = pending_.size();
                line.number = ++line_number_;
                co_return line;
            }
            // Lines are handed out by offset; the bytes before the first unread one go only
            // here, once per read, so splitting a chunk into lines stays linear.
            pending_.erase(0, start_);
            scanned_ -= start_;
            start_ = 0;
            auto n = co_await io::read_op(fd_, chunk_);
            if (!n) {
                if (n.error() != std::errc::operation_canceled)
                    fmt::print(stderr, "snow-fetch: reading the input: {}\n", n.error().message());
                finished_ = true;
                file_ended_ = true;
                co_return std::nullopt;
            }
            if (*n == 0) {
                at_eof_ = true;
            } else {
                pending_.append(reinterpret_cast<const char*>(chunk_.data()), *n);
            }
        }
    }

    std::vector<std::string> arguments_;
    std::size_t next_argument_ = 0;
    int fd_;
    std::optional<std::uint64_t> passes_left_;
    std::array<std::byte, 64 * 1024> chunk_{}; // the kernel writes here while a read is in flight
    std::string pending_;                      // read; lines before start_ handed out
    std::size_t start_ = 0;                    // where the next line begins in pending_
    std::size_t scanned_ = 0;                  // pending_ holds no '\n' in [start_, scanned_)
    std::uint64_t line_number_ = 0;
    bool at_eof_ = false;
    bool file_ended_ = false;
    bool finished_ = false;
    bool yielded_any_ = false;
};

} // namespace snow::examples::fetch
