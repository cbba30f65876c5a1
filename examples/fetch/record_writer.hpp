// examples/fetch/record_writer.hpp: snow-fetch's output, written on a thread of its own so that
// a slow reader of stdout never stalls the loop and never shows in the latencies measured
// there. The loop hands lines over through a bounded queue; when it is full, the loop-side
// writer waits (suspending its task, not the thread) until the writer thread has drained it
// to half and posted back to the loop. No line is ever dropped.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "snow/core/task.hpp"
#include "snow/io/event_loop.hpp"
#include "snow/sync/event.hpp"

namespace snow::examples::fetch {

/// The writer thread and its queue. Create and use it on the loop thread; close() before
/// the loop ends.
class record_writer {
public:
    /// Where a line goes.
    enum class stream { out, err };

    /// Starts the thread. At most `capacity` lines (at least 1) wait for it at a time.
    explicit record_writer(std::size_t capacity)
        : capacity_(capacity == 0 ? 1 : capacity)
        , loop_(io::event_loop::current().handle())
        , state_(std::make_shared<loop_state>())
        , thread_([this] { drain(); }) {}
    record_writer(const record_writer&) = delete;
    record_writer& operator=(const record_writer&) = delete;
    ~record_writer() { close(); }

    /// Queues `line` (its "\n" included) for `to`, waiting while the queue is full. Loop
    /// thread only. Not cancellable: a line once produced is always written.
    task<void> write(std::string line, stream to) {
        for (;;) {
            if (try_push(line, to)) co_return;
            // The thread posts `space` once it has room again; try_push reset it under the
            // lock, before the thread could see `wanted`.
            const bool woken = co_await shielded(wait_for_space(state_));
            (void)woken;
        }
    }

    /// Lets the thread write what is queued, then joins it. Loop thread; idempotent.
    void close() {
        {
            std::lock_guard lock(mutex_);
            closing_ = true;
        }
        ready_.notify_one();
        if (thread_.joinable()) thread_.join();
    }

private:
    struct line_entry {
        std::string text;
        stream to = stream::out;
    };

    /// What the thread's posts touch: shared, so a post arriving after the writer has gone
    /// finds it alive (the loop runs posts until it is destroyed).
    struct loop_state {
        event space;
    };

    static task<bool> wait_for_space(std::shared_ptr<loop_state> state) {
        co_return co_await state->space.wait();
    }

    bool try_push(std::string& line, stream to) {
        std::unique_lock lock(mutex_);
        if (queue_.size() >= capacity_) {
            wanted_ = true;
            state_->space.reset();
            return false;
        }
        const bool was_empty = queue_.empty();
        queue_.push_back({std::move(line), to});
        lock.unlock();
        if (was_empty) ready_.notify_one();
        return true;
    }

    void drain() {
        std::deque<line_entry> batch;
        bool unflushed_out = false;
        bool unflushed_err = false;
        for (;;) {
            {
                std::unique_lock lock(mutex_);
                ready_.wait(lock, [this] { return !queue_.empty() || closing_; });
                if (queue_.empty() && closing_) return;
                // Half a queue at a time, so the loop can refill the other half meanwhile.
                const std::size_t take = std::max<std::size_t>(1, capacity_ / 2);
                for (std::size_t i = 0; i < take && !queue_.empty(); ++i) {
                    batch.push_back(std::move(queue_.front()));
                    queue_.pop_front();
                }
                if (wanted_ && queue_.size() <= capacity_ / 2) {
                    wanted_ = false;
                    loop_->post([state = state_] { state->space.set(); });
                }
            }
            for (auto& entry : batch) {
                std::FILE* file = entry.to == stream::out ? stdout : stderr;
                std::fwrite(entry.text.data(), 1, entry.text.size(), file);
                (entry.to == stream::out ? unflushed_out : unflushed_err) = true;
            }
            batch.clear();
            // A reader sees each line as soon as nothing newer is waiting behind it.
            bool idle = false;
            {
                std::lock_guard lock(mutex_);
                idle = queue_.empty();
            }
            if (idle && unflushed_out) std::fflush(stdout);
            if (idle && unflushed_err) std::fflush(stderr);
            if (idle) unflushed_out = unflushed_err = false;
        }
    }

    const std::size_t capacity_;
    std::shared_ptr<io::loop_handle> loop_;
    std::shared_ptr<loop_state> state_;
    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<line_entry> queue_; // under mutex_
    bool wanted_ = false;          // under mutex_: the loop waits for room
    bool closing_ = false;         // under mutex_
    std::thread thread_;           // last: starts once everything it uses exists
};

} // namespace snow::examples::fetch
