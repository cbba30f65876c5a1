// snow/io/signal.hpp: signals as values on the ring. A signal_set blocks its signals and owns a
// signalfd for them, so a signal arrives as a completed read and what it triggers (a graceful
// stop) runs as ordinary loop code rather than in a handler.
#pragma once

#include <signal.h>

#include <initializer_list>

#include "snow/core/export.hpp"
#include "snow/core/result.hpp"
#include "snow/core/task.hpp"

namespace snow::io {

/// Some signals, blocked and read through a signalfd. Blocking is per thread and inherited:
/// create the set on the thread that later starts the loop threads, before it starts them,
/// or a thread that still accepts the signal takes it with its default action. Destroy it on
/// the thread that created it: that restores the mask it changed. Movable, not copyable.
class SNOW_API signal_set {
public:
    /// Blocks `signals` in the calling thread and opens a signalfd for them. Fails with the
    /// errno of sigaddset (an invalid signal) or signalfd, leaving the mask as it was.
    static result<signal_set> create(std::initializer_list<int> signals);

    /// Takes the signalfd and the mask change of `other`, which is left empty.
    signal_set(signal_set&& other) noexcept;
    /// Releases the current set (as the destructor does) and takes `other`'s.
    signal_set& operator=(signal_set&& other) noexcept;
    signal_set(const signal_set&) = delete;
    signal_set& operator=(const signal_set&) = delete;
    /// Closes the signalfd and unblocks, in the calling thread, the signals that create()
    /// blocked; one of them still pending is then delivered as usual.
    ~signal_set();

    /// The number of the next signal of the set to arrive (SIGINT…), or the error of the
    /// read. Cancel-safe: a wait cancelled before a signal arrived yields operation_canceled
    /// and consumes none; a signal that won the race with the cancel is returned as usual.
    /// Awaited by one task at a time, on any loop.
    [[nodiscard]] task<result<int>> next();

private:
    signal_set(int fd, const sigset_t& blocked) noexcept;
    void release() noexcept;

    int fd_ = -1;
    sigset_t blocked_{}; ///< the signals create() blocked that were not blocked before
};

} // namespace snow::io
