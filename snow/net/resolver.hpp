// snow/net/resolver.hpp: host name → addresses without blocking the loop. Numeric addresses
// are parsed in place; names go to getaddrinfo on a small worker pool, and the answer is
// posted back to the loop that asked.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "snow/core/export.hpp"
#include "snow/core/result.hpp"
#include "snow/core/task.hpp"
#include "snow/net/address.hpp"

namespace snow::net {

/// Addresses for `host` (IPv6 and IPv4, in getaddrinfo's preference order) with `port`.
/// "localhost" and names under ".localhost" are 127.0.0.1 then ::1, without a lookup.
/// Errors: errc::resolve_failed (unknown name, no addresses), operation_canceled.
SNOW_API task<result<std::vector<address>>> resolve(std::string host, std::uint16_t port);

} // namespace snow::net
