// snow/http/grammar.cpp: the string rules of grammar.hpp: tokens, field values, list membership
// and the host grammar.
#include "snow/http/grammar.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace snow::http {
namespace {

bool all_hex_digits(std::string_view s) noexcept {
    return std::all_of(s.begin(), s.end(), is_hex_digit);
}

/// dec-octet "." dec-octet "." dec-octet "." dec-octet, each without leading zeros.
std::optional<std::array<std::uint8_t, 4>> parse_ipv4_address(std::string_view s) noexcept {
    std::array<std::uint8_t, 4> octets{};
    for (std::size_t octet = 0; octet < octets.size(); ++octet) {
        if (octet > 0) {
            if (s.empty() || s.front() != '.') return std::nullopt;
            s.remove_prefix(1);
        }
        std::size_t n = 0;
        int value = 0;
        while (n < s.size() && n < 4 && is_digit(s[n])) value = value * 10 + (s[n++] - '0');
        if (n == 0 || n > 3 || value > 255 || (n > 1 && s[0] == '0')) return std::nullopt;
        octets[octet] = static_cast<std::uint8_t>(value);
        s.remove_prefix(n);
    }
    if (!s.empty()) return std::nullopt;
    return octets;
}

} // namespace

bool is_token(std::string_view s) noexcept {
    return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

bool is_scheme(std::string_view s) noexcept {
    return !s.empty() && is_alpha(s.front()) &&
           std::all_of(s.begin(), s.end(), [](char c) { return in_class(c, char_class::scheme); });
}

bool is_field_value(std::string_view s) noexcept {
    if (!s.empty() && (is_ows(s.front()) || is_ows(s.back()))) return false;
    // Eight bytes at a time: a word with no byte below 0x20 and none equal to DEL holds only
    // field bytes. A word that may hold one (HTAB is below 0x20 and allowed) is looked at
    // byte by byte. The word tests never miss a byte they look for; a false alarm only costs
    // the byte-wise look.
    constexpr std::uint64_t ones = 0x0101010101010101;
    constexpr std::uint64_t highs = 0x8080808080808080;
    const char* at = s.data();
    const char* const end = at + s.size();
    for (; end - at >= 8; at += 8) {
        std::uint64_t word = 0;
        std::memcpy(&word, at, sizeof word);
        const std::uint64_t del = word ^ (0x7f * ones);
        const std::uint64_t below_space = (word - 0x20 * ones) & ~word & highs;
        const std::uint64_t is_del = (del - ones) & ~del & highs;
        if ((below_space | is_del) != 0 && !std::all_of(at, at + 8, is_field_char)) return false;
    }
    return std::all_of(at, end, is_field_char);
}

bool list_contains(std::string_view list, std::string_view token) noexcept {
    bool found = false;
    for_each_list_element(list, [&](std::string_view element) {
        found = iequals(element, token);
        return !found;
    });
    return found;
}

bool has_close_option(std::string_view connection_value) noexcept {
    return list_contains(connection_value, "close");
}

bool is_reg_name(std::string_view s) noexcept {
    for (std::size_t i = 0; i < s.size();) {
        if (in_class(s[i], char_class::reg_name)) {
            ++i;
        } else if (s[i] == '%' && i + 2 < s.size() && is_hex_digit(s[i + 1]) &&
                   is_hex_digit(s[i + 2])) {
            i += 3;
        } else {
            return false;
        }
    }
    return true;
}

bool is_ipv4_address(std::string_view s) noexcept {
    return parse_ipv4_address(s).has_value();
}

std::optional<ipv6_bytes> parse_ipv6_address(std::string_view s) noexcept {
    std::array<std::uint16_t, 8> groups{};
    std::size_t count = 0;
    // Where "::" stands: the index of the group that follows it. Absent: the address is whole.
    std::optional<std::size_t> gap;
    std::size_t i = 0;
    if (s.starts_with("::")) {
        gap = 0;
        i = 2;
    } else if (s.starts_with(":")) {
        return std::nullopt;
    }
    while (i < s.size()) {
        const auto stop = s.find(':', i);
        const auto group =
            s.substr(i, stop == std::string_view::npos ? std::string_view::npos : stop - i);
        if (stop == std::string_view::npos && group.find('.') != std::string_view::npos) {
            // ls32 written as an IPv4address: the last two groups.
            const auto octets = parse_ipv4_address(group);
            if (!octets || count > groups.size() - 2) return std::nullopt;
            groups[count++] = static_cast<std::uint16_t>((*octets)[0] << 8 | (*octets)[1]);
            groups[count++] = static_cast<std::uint16_t>((*octets)[2] << 8 | (*octets)[3]);
            break;
        }
        if (group.empty() || group.size() > 4 || !all_hex_digits(group) || count == groups.size())
            return std::nullopt;
        std::uint16_t value = 0;
        for (char c : group) value = static_cast<std::uint16_t>(value << 4 | hex_value(c));
        groups[count++] = value;
        if (stop == std::string_view::npos) break;
        i = stop + 1;
        if (i < s.size() && s[i] == ':') {
            if (gap) return std::nullopt; // a second "::"
            gap = count;
            ++i;
        } else if (i == s.size()) {
            return std::nullopt; // a single trailing ':'
        }
    }
    // "::" stands for at least one group, so a compressed address has at most seven.
    if (gap ? count > groups.size() - 1 : count != groups.size()) return std::nullopt;

    ipv6_bytes bytes{};
    std::size_t position = 0;
    for (std::size_t g = 0; g < count; ++g) {
        if (gap && g == *gap) position += groups.size() - count;
        bytes[2 * position] = static_cast<std::uint8_t>(groups[g] >> 8);
        bytes[2 * position + 1] = static_cast<std::uint8_t>(groups[g] & 0xff);
        ++position;
    }
    return bytes;
}

bool is_ip_literal(std::string_view s) noexcept {
    if (!s.empty() && (s[0] == 'v' || s[0] == 'V')) {
        // IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )
        const auto dot = s.find('.');
        if (dot == std::string_view::npos || dot < 2 || dot + 1 == s.size()) return false;
        if (!all_hex_digits(s.substr(1, dot - 1))) return false;
        return std::all_of(s.begin() + static_cast<std::ptrdiff_t>(dot) + 1, s.end(),
                           [](char c) { return in_class(c, char_class::reg_name) || c == ':'; });
    }
    return parse_ipv6_address(s).has_value();
}

bool is_host_and_port(std::string_view s, port_rule port) noexcept {
    // Nearly every Host is a name or a dotted IPv4 address of plain reg-name bytes, then
    // perhaps a port: checked in one pass. A percent-escape, an IP literal or a byte that
    // does not belong stops the pass, and the full grammar below decides.
    std::size_t i = 0;
    while (i < s.size() && in_class(s[i], char_class::reg_name)) ++i;
    if (i == s.size()) return port == port_rule::optional;
    if (s[i] == ':') {
        if (++i == s.size()) return port == port_rule::optional;
        while (i < s.size() && is_digit(s[i])) ++i;
        return i == s.size();
    }

    std::string_view after_host;
    if (s.starts_with('[')) {
        const auto close = s.find(']');
        if (close == std::string_view::npos || !is_ip_literal(s.substr(1, close - 1))) return false;
        after_host = s.substr(close + 1);
    } else {
        // A reg-name holds no ':', so the first one starts the port.
        const auto colon = s.find(':');
        if (!is_reg_name(s.substr(0, colon))) return false;
        after_host = colon == std::string_view::npos ? std::string_view{} : s.substr(colon);
    }
    if (after_host.empty()) return port == port_rule::optional;
    if (after_host[0] != ':') return false;
    const auto digits = after_host.substr(1);
    if (port == port_rule::required && digits.empty()) return false;
    return std::all_of(digits.begin(), digits.end(), is_digit);
}

} // namespace snow::http
