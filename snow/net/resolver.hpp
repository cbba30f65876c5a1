// snow/net/resolver.hpp: host name → addresses without blocking the loop. Numeric addresses
// are parsed in place and "localhost" is answered locally; other names go to c-ares, whose
// sockets the loop drives through io_uring (no resolver threads), with /etc/hosts consulted
// first and answers cached for their DNS TTL. Lookups of one name on a loop share one query.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "snow/core/export.hpp"
#include "snow/core/result.hpp"
#include "snow/core/task.hpp"
#include "snow/net/address.hpp"

namespace snow::net {

/// How the calling loop's resolver asks name servers.
struct resolver_options {
    /// Name servers as "IP" or "IP:port" ("[IPv6]:port"); empty: those of /etc/resolv.conf
    /// (127.0.0.1 when there is none).
    std::vector<std::string> servers{};
    /// How long one try waits for an answer before the next server or try.
    std::chrono::milliseconds timeout{2000};
    /// Tries per server before a lookup fails with errc::resolve_timeout.
    int tries = 2;
    /// The most seconds an answer is cached, whatever its TTL; 0 turns the cache off.
    std::uint32_t max_cache_seconds = 300;
};

/// Sets the calling loop's resolver options for the lookups that start from now on.
/// Errors: operation_in_progress while a lookup of this loop is pending, invalid_argument
/// for a server that is not an IP address.
SNOW_API result<void> configure_resolver(const resolver_options& options);

/// Addresses for `host` (IPv6 and IPv4) with `port`. "localhost" and names under
/// ".localhost" are 127.0.0.1 then ::1, and names under ".invalid" fail, without a lookup
/// (RFC 6761). Errors: errc::resolve_failed
/// (unknown name, no addresses), errc::resolve_timeout (no answer from the name servers),
/// operation_canceled.
SNOW_API task<result<std::vector<address>>> resolve(std::string host, std::uint16_t port);

/// Lookups this loop sent to name servers so far (cache hits and local answers excluded).
SNOW_API std::uint64_t resolver_queries_sent();

} // namespace snow::net
