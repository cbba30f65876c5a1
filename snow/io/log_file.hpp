// snow/io/log_file.hpp: a log destination (stderr or a file) that a loop thread can write to
// without ever waiting on it. Each thread gathers its lines in memory; its loop writes them
// with io_uring writes on a later turn, one write for everything gathered meanwhile, so a
// slow disk or a full pipe holds up the log and never the requests. The access log and the
// library's diagnostics (snow/io/log.hpp) both go through one.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "snow/core/export.hpp"
#include "snow/core/result.hpp"
#include "snow/core/task.hpp"

namespace snow::io {

/// How a log_file buffers.
struct log_file_options {
    /// A thread's unwritten lines are capped at this: while its writes cannot keep up, the
    /// lines beyond it are dropped (and counted) rather than held in an ever-growing buffer.
    std::size_t max_pending_bytes = std::size_t{4} << 20;
};

/// A log destination written by io_uring from the loops: lines are gathered per thread and
/// written on the loop's next turn, so writing a line never blocks. Shared by its writers.
class SNOW_API log_file : public std::enable_shared_from_this<log_file> {
public:
    /// "-" or "" is stderr (never closed or reopened); anything else is a path opened for
    /// appending and created 0644 if missing. Opening is a plain open(2): do it at start-up,
    /// before the loops run; reopen() is the loop's way.
    static result<std::shared_ptr<log_file>> open(std::string path, log_file_options options = {});
    /// The process's stderr, shared by everything that logs there.
    static std::shared_ptr<log_file> standard_error();

    log_file(const log_file&) = delete;
    log_file& operator=(const log_file&) = delete;
    /// Writes what threads still hold with write(2): by then no loop is writing.
    ~log_file();

    /// Appends whole lines (each ending in '\n'). On a loop thread they are gathered and the
    /// loop writes them on its next turn (or after the write in flight); on any other
    /// thread they are written at once with write(2).
    void write(std::string_view lines);

    /// Opens the path again and sends later writes there: after logrotate renamed the file
    /// (SIGHUP, SIGUSR1). Loop thread only; the open goes through the ring. Lines already
    /// gathered go to the new file. stderr has nothing to reopen and succeeds at once.
    [[nodiscard]] task<result<void>> reopen();

    /// Loop thread only: completes once every line this thread gathered has been written.
    [[nodiscard]] task<void> drain();

    /// Writes every thread's gathered lines with write(2): for the end of the program, once
    /// no loop writes to this log any more.
    void flush_blocking();

    /// The path given to open(); empty for stderr.
    const std::string& path() const noexcept { return path_; }
    /// True for stderr ("-" or "" at open()).
    bool is_stderr() const noexcept { return path_.empty(); }
    ///@{
    /// Lines dropped because a thread's buffer was full; writes that failed.
    std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }
    std::uint64_t failed_writes() const noexcept {
        return failed_writes_.load(std::memory_order_relaxed);
    }
    ///@}

private:
    struct descriptor;
    struct shard;
    class flush_guard;

    log_file(std::string path, std::shared_ptr<descriptor> fd, log_file_options options);
    shard& local_shard();
    std::shared_ptr<descriptor> descriptor_for(shard& s);
    static task<void> flush_loop(std::shared_ptr<log_file> self, flush_guard guard);

    const std::string path_; // empty for stderr
    const log_file_options options_;
    const std::uint64_t id_; // never reused, unlike an address: keys the threads' caches
    std::mutex mutex_;       // guards fd_ and shards_; taken on a thread's first line only
    std::shared_ptr<descriptor> fd_;
    std::atomic<std::uint64_t> generation_{1}; // bumped by reopen()
    std::vector<std::unique_ptr<shard>> shards_;
    std::atomic<std::uint64_t> dropped_{0};
    std::atomic<std::uint64_t> failed_writes_{0};
};

} // namespace snow::io
