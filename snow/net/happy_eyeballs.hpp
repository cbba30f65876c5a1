// snow/net/happy_eyeballs.hpp: connecting to a host with several addresses the way RFC 8305
// (Happy Eyeballs v2) says: IPv6 first, the families alternating, each next attempt started
// when the previous one fails or after a short delay, the first connection to complete
// winning and every other attempt cancelled in the kernel. A black-holed address then costs
// one delay, not a whole connect timeout.
#pragma once

#include <chrono>
#include <vector>

#include "snow/core/export.hpp"
#include "snow/core/result.hpp"
#include "snow/core/task.hpp"
#include "snow/net/address.hpp"
#include "snow/net/tcp_stream.hpp"

namespace snow::net {

/// RFC 8305 §8's recommended Connection Attempt Delay.
inline constexpr std::chrono::milliseconds default_attempt_delay{250};

/// `addresses` in the order connect_first() tries them: IPv6 first when there is one, then
/// the families alternating, each family's addresses in the order given (RFC 8305 §4).
SNOW_API std::vector<address> interleave_families(std::vector<address> addresses);

/// Connects to one of `addresses`, racing them as RFC 8305 describes: the next attempt
/// starts when the previous one fails or `attempt_delay` has passed without a connection,
/// and the first to connect wins; the others are cancelled and joined before this returns.
/// `options.timeout` bounds each attempt. Errors: the last attempt's when all fail
/// (a refusal is reported in preference to a timeout), operation_canceled when the caller
/// cancels, errc::resolve_failed for an empty list.
SNOW_API task<result<tcp_stream>> connect_first(std::vector<address> addresses,
                                                connect_options options,
                                                std::chrono::nanoseconds attempt_delay);

} // namespace snow::net
