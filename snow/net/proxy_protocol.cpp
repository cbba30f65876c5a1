// snow/net/proxy_protocol.cpp: the PROXY header parser, v1 (a text line) and v2 (binary),
// stateless over the bytes received so far, and the "snow.proxy" error category.
#include "snow/net/proxy_protocol.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

#include "snow/core/error.hpp"

namespace snow::net {

namespace {

std::string_view message_of(proxy_errc e) noexcept {
    switch (e) {
    case proxy_errc::not_proxy_protocol:
        return "the connection did not begin with a PROXY protocol header";
    case proxy_errc::v1_too_long:
        return "PROXY v1 header: no CRLF within the first 107 bytes";
    case proxy_errc::v1_bad_line_end:
        return "PROXY v1 header: a CR without LF, or an LF without CR";
    case proxy_errc::v1_bad_protocol:
        return "PROXY v1 header: the protocol is not TCP4, TCP6 or UNKNOWN";
    case proxy_errc::v1_bad_syntax:
        return "PROXY v1 header: fields missing, extra, or not separated by single spaces";
    case proxy_errc::v1_bad_address:
        return "PROXY v1 header: an address is not in the canonical form of its family";
    case proxy_errc::v1_bad_port:
        return "PROXY v1 header: a port is not a decimal 0..65535 without leading zeros";
    case proxy_errc::v2_bad_version:
        return "PROXY v2 header: the version is not 2";
    case proxy_errc::v2_bad_command:
        return "PROXY v2 header: the command is neither LOCAL nor PROXY";
    case proxy_errc::v2_bad_family:
        return "PROXY v2 header: an undefined address family or transport, or datagrams";
    case proxy_errc::v2_too_long:
        return "PROXY v2 header: longer than the 1040 bytes accepted";
    case proxy_errc::v2_short_addresses:
        return "PROXY v2 header: too short for its address family's addresses";
    case proxy_errc::v2_bad_tlv:
        return "PROXY v2 header: a TLV runs past the end of the header";
    }
    return "unknown PROXY protocol error";
}

constexpr std::string_view v1_prefix = "PROXY ";
constexpr std::array<unsigned char, 12> v2_signature{0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                                     0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr std::size_t v2_fixed_bytes = 16; // signature, version and command, family, length

bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

bool is_hex_digit(char c) noexcept {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// A decimal number up to `max` with no leading zero (the specification forbids them, so that
// nobody reads them as octal). With `partial`, `text` may also be the start of one.
bool decimal(std::string_view text, bool partial, unsigned max, unsigned& value) noexcept {
    value = 0;
    if (text.empty()) return partial;
    if (text.size() > 1 && text[0] == '0') return false;
    for (char c : text) {
        if (!is_digit(c)) return false;
        value = value * 10 + static_cast<unsigned>(c - '0');
        if (value > max) return false;
    }
    return true;
}

// Four numbers 0..255 separated by single dots, without leading zeros.
bool parse_ipv4(std::string_view text, bool partial, in_addr& out) noexcept {
    std::uint32_t host_order = 0;
    int parts = 0;
    std::size_t start = 0;
    for (;;) {
        const auto dot = text.find('.', start);
        const bool last = dot == std::string_view::npos;
        unsigned part = 0;
        if (!decimal(text.substr(start, last ? dot : dot - start), partial && last, 255, part))
            return false;
        if (++parts > 4) return false;
        host_order = host_order << 8 | part;
        if (last) break;
        start = dot + 1;
    }
    if (partial) return true;
    if (parts != 4) return false;
    out.s_addr = htonl(host_order);
    return true;
}

// Hexadecimal groups and colons (and an embedded IPv4 tail), as inet_pton reads them.
bool parse_ipv6(std::string_view text, bool partial, in6_addr& out) noexcept {
    if (text.size() >= INET6_ADDRSTRLEN) return false;
    for (char c : text)
        if (!is_hex_digit(c) && c != ':' && c != '.') return false;
    if (partial) return true;
    char terminated[INET6_ADDRSTRLEN];
    std::memcpy(terminated, text.data(), text.size());
    terminated[text.size()] = '\0';
    return inet_pton(AF_INET6, terminated, &out) == 1;
}

// The fields after "PROXY ": the whole line before its CRLF when `complete`, else what has
// arrived of it, which is checked only for what can no longer become valid.
proxy_errc parse_v1_fields(std::string_view rest, bool complete, proxy_header& h) noexcept {
    const auto space = rest.find(' ');
    const std::string_view protocol = rest.substr(0, space);
    if (space == std::string_view::npos && !complete) {
        for (std::string_view known : {"TCP4", "TCP6", "UNKNOWN"})
            if (known.starts_with(protocol)) return {};
        return proxy_errc::v1_bad_protocol;
    }
    if (protocol.empty()) return proxy_errc::v1_bad_syntax;
    // The receiver ignores whatever an UNKNOWN line carries before its CRLF.
    if (protocol == "UNKNOWN") return {};
    const bool v6 = protocol == "TCP6";
    if (!v6 && protocol != "TCP4") return proxy_errc::v1_bad_protocol;
    if (space == std::string_view::npos) return proxy_errc::v1_bad_syntax;

    // source SP destination SP source-port SP destination-port
    sockaddr_in v4_source{}, v4_destination{};
    sockaddr_in6 v6_source{}, v6_destination{};
    unsigned ports[2] = {0, 0};
    const std::string_view fields = rest.substr(space + 1);
    std::size_t count = 0;
    std::size_t start = 0;
    for (;;) {
        const auto end = fields.find(' ', start);
        const bool last = end == std::string_view::npos;
        const std::string_view field = fields.substr(start, last ? end : end - start);
        const bool partial = last && !complete;
        if (count == 4) return proxy_errc::v1_bad_syntax;
        if (field.empty() && !partial) return proxy_errc::v1_bad_syntax;
        if (count < 2) {
            const bool parsed =
                v6 ? parse_ipv6(field, partial,
                                count == 0 ? v6_source.sin6_addr : v6_destination.sin6_addr)
                   : parse_ipv4(field, partial,
                                count == 0 ? v4_source.sin_addr : v4_destination.sin_addr);
            if (!parsed) return proxy_errc::v1_bad_address;
        } else if (!decimal(field, partial, 65535, ports[count - 2])) {
            return proxy_errc::v1_bad_port;
        }
        ++count;
        if (last) break;
        start = end + 1;
    }
    if (!complete) return {};
    if (count != 4) return proxy_errc::v1_bad_syntax;

    if (v6) {
        v6_source.sin6_family = v6_destination.sin6_family = AF_INET6;
        v6_source.sin6_port = htons(static_cast<std::uint16_t>(ports[0]));
        v6_destination.sin6_port = htons(static_cast<std::uint16_t>(ports[1]));
        h.source =
            address::from_sockaddr(reinterpret_cast<const sockaddr*>(&v6_source), sizeof v6_source);
        h.destination = address::from_sockaddr(reinterpret_cast<const sockaddr*>(&v6_destination),
                                               sizeof v6_destination);
    } else {
        v4_source.sin_family = v4_destination.sin_family = AF_INET;
        v4_source.sin_port = htons(static_cast<std::uint16_t>(ports[0]));
        v4_destination.sin_port = htons(static_cast<std::uint16_t>(ports[1]));
        h.source =
            address::from_sockaddr(reinterpret_cast<const sockaddr*>(&v4_source), sizeof v4_source);
        h.destination = address::from_sockaddr(reinterpret_cast<const sockaddr*>(&v4_destination),
                                               sizeof v4_destination);
    }
    h.has_addresses = true;
    return {};
}

// `in` starts with a prefix of "PROXY ".
proxy_parse_result parse_v1(std::string_view in) noexcept {
    if (in.size() < v1_prefix.size()) return proxy_parse_result::need_more();
    proxy_header h;
    h.version = 1;
    h.command = proxy_command::proxy;
    const auto end = in.substr(0, proxy_v1_max_bytes).find_first_of("\r\n");
    if (end == std::string_view::npos) {
        if (in.size() >= proxy_v1_max_bytes) return proxy_errc::v1_too_long;
        const auto failure = parse_v1_fields(in.substr(v1_prefix.size()), false, h);
        if (failure != proxy_errc{}) return failure;
        return proxy_parse_result::need_more();
    }
    // A lone CR or LF never ends the line, nor stands where a space is expected.
    if (in[end] == '\n') return proxy_errc::v1_bad_line_end;
    if (end + 1 >= proxy_v1_max_bytes) return proxy_errc::v1_too_long; // the LF would be past
    if (end + 1 < in.size() && in[end + 1] != '\n') return proxy_errc::v1_bad_line_end;
    // With the CR in, the line is whole: only its LF may be missing.
    const auto failure =
        parse_v1_fields(in.substr(v1_prefix.size(), end - v1_prefix.size()), true, h);
    if (failure != proxy_errc{}) return failure;
    if (end + 1 == in.size()) return proxy_parse_result::need_more();
    return proxy_parse_result::done(end + 2, h);
}

std::size_t big_endian_16(const unsigned char* p) noexcept {
    return static_cast<std::size_t>(p[0]) << 8 | p[1];
}

// `in` starts with a prefix of the v2 signature.
proxy_parse_result parse_v2(std::span<const unsigned char> in) noexcept {
    if (in.size() <= 12) return proxy_parse_result::need_more();
    const unsigned version = in[12] >> 4;
    const unsigned command = in[12] & 0x0F;
    if (version != 2) return proxy_errc::v2_bad_version;
    if (command > 1) return proxy_errc::v2_bad_command;
    const bool local = command == 0;
    if (in.size() <= 13) return proxy_parse_result::need_more();
    // Family (UNSPEC, INET, INET6, UNIX) and transport (UNSPEC, STREAM, DGRAM): UNSPEC goes
    // only with UNSPEC, and the other combinations are undefined.
    const unsigned family = in[13] >> 4;
    const unsigned transport = in[13] & 0x0F;
    const bool defined =
        in[13] == 0x00 || (family >= 1 && family <= 3 && (transport == 1 || transport == 2));
    if (!defined) return proxy_errc::v2_bad_family;
    // Datagram addresses cannot describe the stream this header arrived on.
    if (!local && transport == 2) return proxy_errc::v2_bad_family;
    if (in.size() < v2_fixed_bytes) return proxy_parse_result::need_more();
    const std::size_t length = big_endian_16(&in[14]);
    if (v2_fixed_bytes + length > proxy_v2_max_bytes) return proxy_errc::v2_too_long;
    // LOCAL ignores the address block; PROXY needs the whole of its family's.
    const std::size_t address_bytes = local         ? 0
                                      : family == 1 ? 12  // 2 × 4 bytes, 2 ports
                                      : family == 2 ? 36  // 2 × 16 bytes, 2 ports
                                      : family == 3 ? 216 // 2 × 108 bytes of path
                                                    : 0;
    if (length < address_bytes) return proxy_errc::v2_short_addresses;
    const std::size_t total = v2_fixed_bytes + length;
    if (in.size() < total) return proxy_parse_result::need_more();

    proxy_header h;
    h.version = 2;
    h.command = local ? proxy_command::local : proxy_command::proxy;
    if (local) return proxy_parse_result::done(total, h);
    const unsigned char* block = &in[v2_fixed_bytes];
    if (family == 1) {
        sockaddr_in source{}, destination{};
        source.sin_family = destination.sin_family = AF_INET;
        std::memcpy(&source.sin_addr, block, 4);
        std::memcpy(&destination.sin_addr, block + 4, 4);
        std::memcpy(&source.sin_port, block + 8, 2); // both in network order already
        std::memcpy(&destination.sin_port, block + 10, 2);
        h.source =
            address::from_sockaddr(reinterpret_cast<const sockaddr*>(&source), sizeof source);
        h.destination = address::from_sockaddr(reinterpret_cast<const sockaddr*>(&destination),
                                               sizeof destination);
        h.has_addresses = true;
    } else if (family == 2) {
        sockaddr_in6 source{}, destination{};
        source.sin6_family = destination.sin6_family = AF_INET6;
        std::memcpy(&source.sin6_addr, block, 16);
        std::memcpy(&destination.sin6_addr, block + 16, 16);
        std::memcpy(&source.sin6_port, block + 32, 2);
        std::memcpy(&destination.sin6_port, block + 34, 2);
        h.source =
            address::from_sockaddr(reinterpret_cast<const sockaddr*>(&source), sizeof source);
        h.destination = address::from_sockaddr(reinterpret_cast<const sockaddr*>(&destination),
                                               sizeof destination);
        h.has_addresses = true;
    }
    // TLVs (type, 16-bit length, value) fill the rest; snow reads none, but each must fit.
    // With UNSPEC nothing says where the addresses end, so nor where TLVs begin.
    if (family != 0) {
        std::size_t at = address_bytes;
        while (at < length) {
            if (length - at < 3) return proxy_errc::v2_bad_tlv;
            at += 3 + big_endian_16(block + at + 1);
        }
        if (at > length) return proxy_errc::v2_bad_tlv;
    }
    return proxy_parse_result::done(total, h);
}

} // namespace

const std::error_category& proxy_category() noexcept {
    static const enum_category<proxy_errc> category("snow.proxy", message_of);
    return category;
}

proxy_parse_result parse_proxy_header(std::span<const std::byte> received) noexcept {
    if (received.empty()) return proxy_parse_result::need_more();
    const std::string_view text(reinterpret_cast<const char*>(received.data()), received.size());
    if (text.front() == 'P') {
        const std::size_t n = std::min(text.size(), v1_prefix.size());
        if (text.substr(0, n) != v1_prefix.substr(0, n)) return proxy_errc::not_proxy_protocol;
        return parse_v1(text);
    }
    const auto* bytes = reinterpret_cast<const unsigned char*>(received.data());
    const std::size_t n = std::min(received.size(), v2_signature.size());
    if (std::memcmp(bytes, v2_signature.data(), n) != 0) return proxy_errc::not_proxy_protocol;
    return parse_v2(std::span(bytes, received.size()));
}

} // namespace snow::net
