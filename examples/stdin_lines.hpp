// examples/stdin_lines.hpp: the clients' input: lines of standard input read through the
// ring (IORING_OP_READ), so waiting on a terminal or a pipe never blocks the loop.
// net::buffered_reader only reads sockets (it needs a tcp_stream), hence this small twin.
#pragma once

#include <unistd.h>

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "snow/core/task.hpp"
#include "snow/io/ops.hpp"

namespace snow::examples {

class stdin_lines {
public:
    /// The next line without its "\n" (or "\r\n"); a last line without "\n" counts too.
    /// Nothing at end of input; a read error is reported on stderr and ends the input.
    task<std::optional<std::string>> next() {
        for (;;) {
            if (auto newline = pending_.find('\n'); newline != std::string::npos) {
                std::string line = pending_.substr(0, newline);
                pending_.erase(0, newline + 1);
                if (!line.empty() && line.back() == '\r') line.pop_back();
                co_return line;
            }
            if (ended_) {
                if (pending_.empty()) co_return std::nullopt;
                co_return std::exchange(pending_, std::string{});
            }
            auto n = co_await io::read_op(STDIN_FILENO, chunk_);
            if (!n) {
                fmt::print(stderr, "reading stdin: {}\n", n.error().message());
                ended_ = true;
            } else if (*n == 0) {
                ended_ = true;
            } else {
                pending_.append(reinterpret_cast<const char*>(chunk_.data()), *n);
            }
        }
    }

private:
    std::array<std::byte, 4096> chunk_; // the kernel writes here while a read is in flight
    std::string pending_;
    bool ended_ = false;
};

} // namespace snow::examples
