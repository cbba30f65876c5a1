// snow/net/socks5.hpp: the client side of SOCKS5 (RFC 1928), with the username/password method
// (RFC 1929): over a TCP stream connected to a SOCKS5 proxy, asks it to connect onward.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

#include "snow/core/export.hpp"
#include "snow/core/result.hpp"
#include "snow/core/task.hpp"
#include "snow/net/tcp_stream.hpp"

namespace snow::net {

/// What a SOCKS5 proxy refused or got wrong, in the "snow.socks5" category. The values from
/// general_failure to address_type_not_supported are the proxy's own reply codes (RFC 1928
/// §6), so a log names the reason the proxy gave.
enum class socks5_errc {
    general_failure = 1,          ///< X'01': the proxy failed for a reason of its own
    not_allowed = 2,              ///< X'02': the proxy's rules forbid this connection
    network_unreachable = 3,      ///< X'03'
    host_unreachable = 4,         ///< X'04'
    connection_refused = 5,       ///< X'05': the destination refused the proxy's connection
    ttl_expired = 6,              ///< X'06'
    command_not_supported = 7,    ///< X'07'
    address_type_not_supported,   ///< X'08'
    no_acceptable_method = 0x100, ///< the proxy accepts none of the methods offered
    authentication_failed,        ///< the proxy refused the username and password
    malformed_reply,              ///< the proxy's answer is not SOCKS5
    name_too_long,                ///< a host name, username or password over 255 bytes
};

/// The "snow.socks5" error category of socks5_errc.
SNOW_API const std::error_category& socks5_category() noexcept;

/// `e` as a std::error_code.
inline std::error_code make_error_code(socks5_errc e) noexcept {
    return {static_cast<int>(e), socks5_category()};
}

/// A username and password for the proxy (RFC 1929); both empty: none is offered.
struct socks5_credentials {
    std::string username{}; ///< at most 255 bytes
    std::string password{}; ///< at most 255 bytes
};

/// Over `tcp`, connected to a SOCKS5 proxy, asks the proxy for a TCP connection to
/// `host`:`port`. An IP literal is sent as an address; any other host is sent as a name that
/// the proxy resolves (what curl calls socks5h). On success the stream carries the
/// destination's bytes. Errors: socks5_errc, or the stream's own.
SNOW_API task<result<void>> socks5_connect(tcp_stream& tcp, std::string host, std::uint16_t port,
                                           socks5_credentials credentials);

} // namespace snow::net

template <>
struct std::is_error_code_enum<snow::net::socks5_errc> : std::true_type {};
