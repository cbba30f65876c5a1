// snow/http/server/detail/handshake_gate.hpp: one loop's cap on TLS handshakes under way at
// once. A connection over it waits in line, first come first served, holding no TLS state.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "snow/core/task.hpp"
#include "snow/sync/event.hpp"

namespace snow::http::detail {

class handshake_gate {
public:
    /// At most `capacity` handshakes at once (at least one). `waiting` counts the connections
    /// in line (server_stats::handshakes_waiting, shared by every loop's gate).
    handshake_gate(std::size_t capacity, std::atomic<std::uint64_t>& waiting) noexcept
        : capacity_(capacity > 0 ? capacity : 1)
        , waiting_stat_(waiting) {}
    handshake_gate(const handshake_gate&) = delete;
    handshake_gate& operator=(const handshake_gate&) = delete;

    /// Takes a place if one is free and nobody is in line for one. Loop thread only.
    bool try_enter() noexcept;
    /// Waits in line for a place that leave() hands over; false if the waiting task was
    /// cancelled first, with no place taken. Loop thread only.
    task<bool> wait_turn();
    /// Gives a place back: to the first in line, if anyone waits.
    void leave() noexcept;
    /// For a graceful stop: everyone in line, and anyone who comes later, is turned away
    /// (wait_turn() yields false). Handshakes under way go on.
    void close_line() noexcept;

private:
    /// One connection in line, in its wait_turn() frame. A place handed over is counted in
    /// active_ at once and its event set, so nobody else can take it meanwhile.
    struct waiter {
        explicit waiter(handshake_gate& g) noexcept : gate(g) {}
        waiter(const waiter&) = delete;
        waiter& operator=(const waiter&) = delete;
        ~waiter();
        handshake_gate& gate;
        waiter* next = nullptr;
        waiter* prev = nullptr;
        bool linked = false;
        bool refused = false; // woken by close_line(), with no place
        event admitted;
    };
    void push(waiter& w) noexcept;
    void unlink(waiter& w) noexcept;

    std::size_t capacity_;
    std::atomic<std::uint64_t>& waiting_stat_;
    std::size_t active_ = 0; // places held, including ones handed over and not yet resumed
    bool closed_ = false;
    waiter* head_ = nullptr;
    waiter* tail_ = nullptr;
};

} // namespace snow::http::detail
