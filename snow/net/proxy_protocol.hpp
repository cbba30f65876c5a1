// snow/net/proxy_protocol.hpp: the PROXY protocol (HAProxy's, versions 1 and 2), the header a
// load balancer sends ahead of a connection's own bytes to name the client it forwards. Pure.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <system_error>
#include <type_traits>

#include "snow/core/export.hpp"
#include "snow/net/address.hpp"

namespace snow::net {

/// The longest v1 header, its CRLF included (the specification's bound).
inline constexpr std::size_t proxy_v1_max_bytes = 107;
/// The longest v2 header accepted: the 16 fixed bytes and up to 1024 more. The addresses
/// take at most 216 of those (AF_UNIX); the rest is TLVs, which in practice (HAProxy's
/// authority, unique ID and SSL details, cloud endpoint IDs) stay well under 1 KiB. The
/// format allows 64 KiB; the cap keeps a broken or hostile peer from making a connection
/// wait for, and hold, that much before its first request.
inline constexpr std::size_t proxy_v2_max_bytes = 16 + 1024;

/// What a PROXY header asks of the receiver.
enum class proxy_command : unsigned char {
    local, ///< v2 LOCAL: the proxy's own connection (a health check); keep the real peer
    proxy, ///< a forwarded connection (v1 is always this); see proxy_header::has_addresses
};

/// What a complete PROXY header says.
struct proxy_header {
    /// 1 (the text line) or 2 (the binary header).
    int version = 0;
    /// LOCAL or PROXY.
    proxy_command command = proxy_command::proxy;
    /// Whether source and destination hold the forwarded connection's addresses: a v1 TCP4
    /// or TCP6 line, or v2 PROXY over TCP/IPv4 or TCP/IPv6. False for v1 UNKNOWN, v2 LOCAL
    /// and v2 UNSPEC or AF_UNIX addresses: the receiver keeps the connection's own peer.
    bool has_addresses = false;
    /// The client, as the proxy saw it.
    address source{};
    /// The address the client connected to: the proxy's.
    address destination{};
};

/// Why bytes are not a PROXY header, in the "snow.proxy" category.
enum class proxy_errc {
    not_proxy_protocol = 1, ///< the first bytes start neither a v1 line nor the v2 signature
    v1_too_long,            ///< no CRLF within the first 107 bytes of a v1 line
    v1_bad_line_end,        ///< a v1 line with a CR not followed by LF, or an LF alone
    v1_bad_protocol,        ///< a v1 protocol other than TCP4, TCP6 or UNKNOWN
    v1_bad_syntax,          ///< v1 fields missing, extra, or not separated by exactly one space
    v1_bad_address,         ///< a v1 address not in the canonical form of its family
    v1_bad_port,            ///< a v1 port not decimal 0..65535, or with a leading zero
    v2_bad_version,         ///< the v2 signature followed by a version other than 2
    v2_bad_command,         ///< a v2 command other than LOCAL and PROXY
    v2_bad_family,          ///< an undefined v2 family or transport, or PROXY over datagrams
    v2_too_long,            ///< a v2 header longer than proxy_v2_max_bytes
    v2_short_addresses,     ///< a v2 length too short for its family's addresses
    v2_bad_tlv,             ///< a v2 TLV that runs past the end of the header
};

/// The "snow.proxy" error category of proxy_errc.
SNOW_API const std::error_category& proxy_category() noexcept;

/// `e` as a std::error_code.
inline std::error_code make_error_code(proxy_errc e) noexcept {
    return {static_cast<int>(e), proxy_category()};
}

/// What parse_proxy_header() found: a complete header and its length, a need for more
/// bytes, or an invalid header and why.
class [[nodiscard]] proxy_parse_result {
public:
    /// The header is not complete yet, and what there is of it is valid so far.
    static proxy_parse_result need_more() noexcept { return proxy_parse_result(); }
    /// A complete header of `consumed` bytes saying `header`.
    static proxy_parse_result done(std::size_t consumed, const proxy_header& header) noexcept {
        proxy_parse_result r;
        r.consumed_ = consumed;
        r.header_ = header;
        return r;
    }
    /// An invalid header.
    proxy_parse_result(proxy_errc error) noexcept : error_(error) {}

    /// A whole header was parsed: see consumed() and header().
    bool complete() const noexcept { return consumed_ > 0; }
    /// More bytes are needed.
    bool incomplete() const noexcept { return consumed_ == 0 && error_ == proxy_errc{}; }
    /// The bytes are not a valid PROXY header; see error().
    bool failed() const noexcept { return error_ != proxy_errc{}; }
    /// The header's length: the connection's own bytes start there. Zero unless complete().
    std::size_t consumed() const noexcept { return consumed_; }
    /// What the header says; meaningful only when complete().
    const proxy_header& header() const noexcept { return header_; }
    /// Why the header is invalid; meaningful only when failed().
    proxy_errc error() const noexcept { return error_; }

private:
    proxy_parse_result() noexcept = default;

    std::size_t consumed_ = 0;
    proxy_errc error_{};
    proxy_header header_{};
};

/// Parses a PROXY header, v1 or v2, from the first bytes a connection received: call it
/// again with every byte so far (it keeps no state) while it answers need_more(). Bytes after
/// the header are not looked at. It fails as soon as the bytes cannot begin a valid header,
/// so a client that sends something else (a plain HTTP request) is told apart from its first
/// byte or two, not at a timeout. Strict: v1 exactly as specified (single spaces, canonical
/// addresses, ports without leading zeros, CRLF within 107 bytes); v2 with the defined
/// families only, and TLVs checked to fit, then skipped. Allocates nothing.
SNOW_API proxy_parse_result parse_proxy_header(std::span<const std::byte> received) noexcept;

/// The same over bytes held as text (a receive_buffer's view()).
inline proxy_parse_result parse_proxy_header(std::string_view received) noexcept {
    return parse_proxy_header(std::as_bytes(std::span(received.data(), received.size())));
}

} // namespace snow::net

template <>
struct std::is_error_code_enum<snow::net::proxy_errc> : std::true_type {};
