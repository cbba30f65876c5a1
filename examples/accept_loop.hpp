// examples/accept_loop.hpp: the loop every example server shares: bind, print the
// "listening on" line, then one coroutine per accepted connection until the task is
// cancelled (stop_signal does that on SIGINT/SIGTERM).
#pragma once

#include <fmt/format.h>

#include <chrono>
#include <system_error>

#include "cli.hpp"
#include "snow/io/run.hpp"
#include "snow/net/tcp_listener.hpp"
#include "snow/time/sleep.hpp"

namespace snow::examples {

/// `start(tcp_stream)` returns the task<void> that serves one connection. Returns 1 when
/// it cannot bind, 0 when stopped.
template <typename Start>
task<int> accept_connections(net::address local, Start start) {
    auto listener = net::tcp_listener::bind(local);
    if (!listener) {
        fmt::print(stderr, "cannot listen on {}: {}\n", local, listener.error().message());
        co_return 1;
    }
    announce(listener->local_address());
    for (;;) {
        auto stream = co_await listener->accept();
        if (!stream) {
            if (stream.error() == std::errc::operation_canceled) co_return 0; // stopping
            // Out of descriptors (EMFILE) and the like: say so and give clients time to
            // leave instead of spinning on the same error.
            fmt::print(stderr, "accept: {}\n", stream.error().message());
            co_await sleep(std::chrono::milliseconds(100));
            continue;
        }
        spawn(start(std::move(*stream)));
    }
}

} // namespace snow::examples
