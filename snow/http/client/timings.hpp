// snow/http/client/timings.hpp: where one request's time went, phase by phase, as the client
// measured it with the loop's own clock (the instant each turn began), so taking the
// timings costs nothing per request beyond storing them.
#pragma once

#include <chrono>
#include <string_view>

#include "snow/net/address.hpp"

namespace snow::http {

/// The phases of one request. A phase that did not happen is zero: a pooled connection
/// needs no dns, connect or tls. With redirects followed, these are the last hop's.
struct request_timings {
    /// Waiting for a connection slot to the host (client_options::max_connections_per_host).
    std::chrono::nanoseconds queue{};
    std::chrono::nanoseconds dns{};     ///< resolving the host name
    std::chrono::nanoseconds connect{}; ///< the TCP handshakes, Happy Eyeballs' race included
    std::chrono::nanoseconds tls{};     ///< the TLS handshake
    std::chrono::nanoseconds send{};    ///< writing the request
    std::chrono::nanoseconds ttfb{};    ///< from the request written to its response head read
    std::chrono::nanoseconds body{};    ///< from the head to the end of the body
    bool reused_connection = false;     ///< the connection came from the pool
    net::address remote{};              ///< the server's address, once connected

    /// The phase a failure happened in, by name ("queue", "dns", "connect", "tls", "send",
    /// "ttfb", "body"); empty for a request that did not fail.
    std::string_view failed_in{};
};

} // namespace snow::http
