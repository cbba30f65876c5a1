// snow/io/log_file.cpp: per-thread gathering, the loop's flusher, reopening.
#include "snow/io/log_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <span>
#include <utility>

#include "snow/io/event_loop.hpp"
#include "snow/io/ops.hpp"
#include "snow/sync/event.hpp"

namespace snow::io {

namespace {
constexpr int open_flags = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC;
constexpr mode_t open_mode = 0644;

std::atomic<std::uint64_t> next_id{1};

/// For threads without a loop and for the end of the program, where waiting is allowed.
bool write_all_blocking(int fd, std::string_view bytes) noexcept {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}
} // namespace

/// A descriptor shared by the threads that write to it: after a reopen() the old one closes
/// when the last thread that still held it has moved on.
struct log_file::descriptor {
    int fd;
    bool owned;
    descriptor(int f, bool o) noexcept : fd(f), owned(o) {}
    descriptor(const descriptor&) = delete;
    descriptor& operator=(const descriptor&) = delete;
    ~descriptor() {
        if (owned) ::close(fd);
    }
};

/// One thread's lines. Touched only by its thread, except by flush_blocking at the end.
struct log_file::shard {
    std::string pending; // gathered since the last write began
    std::string writing; // the write in flight
    bool flushing = false;
    event idle; // set when the flusher finishes
    std::shared_ptr<descriptor> fd;
    std::uint64_t generation = 0;
};

/// Owned by the flusher's frame: however the frame ends (finished, or destroyed with its loop
/// before it ever ran), the thread's next line starts a new flusher.
class log_file::flush_guard {
public:
    explicit flush_guard(shard& s) noexcept : shard_(&s) {}
    flush_guard(flush_guard&& other) noexcept : shard_(std::exchange(other.shard_, nullptr)) {}
    flush_guard& operator=(flush_guard&&) = delete;
    ~flush_guard() {
        if (shard_ != nullptr) shard_->flushing = false;
    }
    shard& get() const noexcept { return *shard_; }

private:
    shard* shard_;
};

log_file::log_file(std::string path, std::shared_ptr<descriptor> fd, log_file_options options)
    : path_(std::move(path))
    , options_(options)
    , id_(next_id.fetch_add(1, std::memory_order_relaxed))
    , fd_(std::move(fd)) {}

log_file::~log_file() {
    flush_blocking();
}

result<std::shared_ptr<log_file>> log_file::open(std::string path, log_file_options options) {
    if (path.empty() || path == "-")
        return std::shared_ptr<log_file>(
            new log_file({}, std::make_shared<descriptor>(STDERR_FILENO, false), options));
    const int fd = ::open(path.c_str(), open_flags, open_mode);
    if (fd < 0) return system_error_code(errno);
    return std::shared_ptr<log_file>(
        new log_file(std::move(path), std::make_shared<descriptor>(fd, true), options));
}

std::shared_ptr<log_file> log_file::standard_error() {
    static const std::shared_ptr<log_file> shared = *open("-");
    return shared;
}

log_file::shard& log_file::local_shard() {
    // A handful of logs per process at most, so a short list searched in order.
    thread_local std::vector<std::pair<std::uint64_t, shard*>> known;
    for (const auto& [id, s] : known)
        if (id == id_) return *s;
    std::lock_guard lock(mutex_);
    shards_.push_back(std::make_unique<shard>());
    known.emplace_back(id_, shards_.back().get());
    return *shards_.back();
}

std::shared_ptr<log_file::descriptor> log_file::descriptor_for(shard& s) {
    const auto now = generation_.load(std::memory_order_acquire);
    if (s.generation != now) {
        std::lock_guard lock(mutex_);
        s.fd = fd_;
        s.generation = generation_.load(std::memory_order_relaxed);
    }
    return s.fd;
}

void log_file::write(std::string_view lines) {
    if (lines.empty()) return;
    event_loop* loop = event_loop::current_or_null();
    if (loop == nullptr) {
        std::shared_ptr<descriptor> fd;
        {
            std::lock_guard lock(mutex_);
            fd = fd_;
        }
        if (!write_all_blocking(fd->fd, lines))
            failed_writes_.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    shard& s = local_shard();
    if (s.pending.size() + lines.size() > options_.max_pending_bytes) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    s.pending.append(lines);
    if (s.flushing) return; // the flusher in flight takes these after its write
    s.flushing = true;
    s.idle.reset();
    loop->spawn(flush_loop(shared_from_this(), flush_guard(s)));
}

task<void> log_file::flush_loop(std::shared_ptr<log_file> self, flush_guard guard) {
    shard& s = guard.get();
    while (!s.pending.empty()) {
        s.writing.swap(s.pending); // lines that arrive meanwhile gather in `pending`
        const auto fd = self->descriptor_for(s);
        std::size_t done = 0;
        while (done < s.writing.size()) {
            const auto rest = std::as_bytes(std::span(s.writing).subspan(done));
            auto n = co_await write_op(fd->fd, rest);
            if (!n || *n == 0) {
                // Errors are values and a log has no one to return them to: count them.
                self->failed_writes_.fetch_add(1, std::memory_order_relaxed);
                break;
            }
            done += *n;
        }
        s.writing.clear();
    }
    s.flushing = false;
    s.idle.set();
}

task<void> log_file::drain() {
    shard& s = local_shard();
    while (s.flushing) {
        const bool woken = co_await s.idle.wait();
        if (!woken) co_return; // cancelled
    }
}

task<result<void>> log_file::reopen() {
    if (is_stderr()) co_return result<void>{};
    auto opened = co_await openat_op(path_.c_str(), open_flags, open_mode);
    if (!opened) co_return opened.error();
    auto fresh = std::make_shared<descriptor>(*opened, true);
    {
        std::lock_guard lock(mutex_);
        fd_ = std::move(fresh);
        generation_.fetch_add(1, std::memory_order_release);
    }
    co_return result<void>{};
}

void log_file::flush_blocking() {
    std::lock_guard lock(mutex_);
    for (auto& s : shards_) {
        if (s->pending.empty()) continue;
        if (!write_all_blocking(fd_->fd, s->pending))
            failed_writes_.fetch_add(1, std::memory_order_relaxed);
        s->pending.clear();
    }
}

} // namespace snow::io
