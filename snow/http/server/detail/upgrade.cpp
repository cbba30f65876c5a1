// snow/http/server/detail/upgrade.cpp: a connection handed over to another protocol after a 101
// response (a WebSocket): the head goes out, then the upgrade function owns the connection.
#include <exception>
#include <string>
#include <vector>

#include "snow/http/server/detail/connection.hpp"
#include "snow/io/log.hpp"

namespace snow::http::detail {

task<bool> connection::take_over() {
    // Taken out of the state, so that run() sees no upgrade pending when this returns.
    const std::unique_ptr<pending_upgrade> upgrade = std::move(s_->upgrade);
    response& resp = upgrade->resp;
    // Under the write deadline the caller armed; from then on the new protocol keeps its own.
    write_head(s_->output, resp, upgrade->context);
    const auto sent = co_await flush();
    if (!sent) co_return false;
    deadline_.disarm();
    // What served HTTP is not needed any more, and a long-lived connection should not keep
    // it: only the input, which holds the new protocol's first bytes, stays.
    std::string().swap(s_->output);
    std::vector<char>().swap(s_->side);

    // A graceful stop reaches the new protocol through `stopping` (worker::begin_shutdown
    // requests streaming_stop()); one that began before is passed on at once.
    cancel_source stopping;
    if (owner_.draining) stopping.request();
    struct published {
        cancel_source*& slot;
        ~published() { slot = nullptr; } // also if this frame is destroyed mid-way
    };
    s_->streaming_stop = &stopping;
    const published unpublish{s_->streaming_stop};
    upgraded_connection handed{.stream = stream_,
                               .input = s_->input,
                               .pool = receive_pool(),
                               .io_scope = io_scope,
                               .stopping = stopping};
    try {
        co_await resp.upgrade(handed);
    } catch (const std::exception& e) {
        log::error("upgraded connection failed: {}", e.what());
    } catch (...) {
        log::error("upgraded connection failed with a non-standard exception");
    }
    co_return false;
}

} // namespace snow::http::detail
