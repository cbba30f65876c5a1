// snow/http/server/detail/proxy_header.cpp: a connection's first step behind a load balancer
// (server_options::proxy_protocol): the PROXY header, read and taken off before TLS or HTTP.
#include <chrono>

#include "snow/http/server/detail/connection.hpp"
#include "snow/io/log.hpp"
#include "snow/net/proxy_protocol.hpp"

namespace snow::http::detail {

namespace {
/// One warning a second per thread at most: a port that a scanner reaches directly, or a
/// proxy not told to send the header, fails every connection.
bool may_warn() {
    thread_local io::clock::time_point last{};
    const auto now = io::clock::now();
    if (last != io::clock::time_point{} && now - last < std::chrono::seconds(1)) return false;
    last = now;
    return true;
}
} // namespace

task<bool> connection::accept_proxy_header() {
    server_stats& stats = owner_.owner.mutable_stats();
    s_ = owner_.take_state();
    for (;;) {
        const auto parsed = net::parse_proxy_header(s_->input.view());
        if (parsed.complete()) {
            if (parsed.header().has_addresses) peer_ = parsed.header().source;
            s_->input.consume(parsed.consumed());
            break;
        }
        if (parsed.failed()) {
            // No HTTP answer: the peer is a proxy that broke the protocol, or a client that
            // went around it, and neither is owed one.
            ++stats.rejected;
            if (log::enabled(log::level::warn) && may_warn())
                log::warn("closed a connection from {} (proxy_protocol is on): {}", peer_,
                          make_error_code(parsed.error()).message());
            co_return false;
        }
        // Nothing of a request has come yet, so a graceful stop ends the wait as it ends an
        // idle one.
        if (owner_.draining) co_return false;
        auto n = co_await stream_.recv(make_room(s_->input.size() + 1, false), &idle_wait);
        if (!n || *n == 0) {
            if (deadline_.expired()) ++stats.timeouts;
            co_return false;
        }
        s_->input.commit(*n);
    }
    if (s_->input.empty()) owner_.give_back(std::move(s_)); // wait for the request as usual
    co_return true;
}

} // namespace snow::http::detail
