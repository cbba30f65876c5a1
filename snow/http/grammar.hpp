// snow/http/grammar.hpp: the small rules of RFC 9110 and RFC 3986 that the parsers, fields, URLs,
// queries, the server and the client share, each in one place: characters, tokens, lists, hosts.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "snow/core/export.hpp"

namespace snow::http {

// ---------------------------------------------------------------------------------------------
// Characters

/// Character classes, as bits of one 256-entry table, so a hot loop tests a byte against any
/// union of them (`char_class::tchar | char_class::target`) with one lookup.
enum class char_class : std::uint8_t {
    tchar = 1,     ///< token characters (RFC 9110 §5.6.2)
    target = 2,    ///< pchar and '/' but '%' (RFC 3986 §3.3): the request-target's plain bytes
    hex = 4,       ///< HEXDIG
    field = 8,     ///< SP, VCHAR and obs-text: every field-value byte but HTAB (RFC 9110 §5.5)
    reg_name = 16, ///< unreserved and sub-delims: reg-name but pct-encoded (RFC 3986 §3.2.2)
    scheme = 32,   ///< ALPHA, DIGIT, "+", "-", "." (RFC 3986 §3.1)
    /// VCHAR and obs-text but '?' (which still splits off the query): the request-target
    /// under parser_leniency::any_target_chars.
    relaxed_target = 64,
    digit = 128, ///< DIGIT
};

/// The union of two sets of classes, for in_class().
constexpr char_class operator|(char_class a, char_class b) noexcept {
    return static_cast<char_class>(static_cast<std::uint8_t>(a) | static_cast<std::uint8_t>(b));
}

namespace detail {

constexpr std::uint8_t bits_of(char_class classes) noexcept {
    return static_cast<std::uint8_t>(classes);
}

constexpr std::array<std::uint8_t, 256> make_char_classes() noexcept {
    std::array<std::uint8_t, 256> table{};
    auto add = [&table](std::string_view chars, char_class classes) {
        for (char c : chars) table[static_cast<unsigned char>(c)] |= bits_of(classes);
    };
    auto add_range = [&table](int first, int last, char_class classes) {
        for (int c = first; c <= last; ++c) table[static_cast<std::size_t>(c)] |= bits_of(classes);
    };
    using enum char_class;
    add("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", tchar | target | reg_name | scheme);
    add("0123456789", tchar | target | reg_name | scheme | hex | digit);
    add("ABCDEFabcdef", hex);
    add("!#$%&'*+-.^_`|~", tchar);
    add("-._~", target | reg_name);        // unreserved marks
    add("!$&'()*+,;=", target | reg_name); // sub-delims
    add(":@/", target);
    add("+-.", scheme);
    add_range(0x20, 0x7e, field);
    add_range(0x21, 0x7e, relaxed_target);
    add_range(0x80, 0xff, field | relaxed_target);
    table[static_cast<unsigned char>('?')] &= static_cast<std::uint8_t>(~bits_of(relaxed_target));
    return table;
}

inline constexpr std::array<std::uint8_t, 256> char_classes = make_char_classes();

} // namespace detail

/// True if `c` belongs to any of `classes`.
constexpr bool in_class(char c, char_class classes) noexcept {
    return (detail::char_classes[static_cast<unsigned char>(c)] & detail::bits_of(classes)) != 0;
}

/// A token character (RFC 9110 §5.6.2): what methods and field names are made of.
constexpr bool is_tchar(char c) noexcept {
    return in_class(c, char_class::tchar);
}
/// DIGIT: '0' to '9'.
constexpr bool is_digit(char c) noexcept {
    return in_class(c, char_class::digit);
}
/// HEXDIG: a digit or 'a' to 'f' in either case.
constexpr bool is_hex_digit(char c) noexcept {
    return in_class(c, char_class::hex);
}
/// ALPHA: an ASCII letter in either case.
constexpr bool is_alpha(char c) noexcept {
    const char lower = static_cast<char>(c | 0x20);
    return lower >= 'a' && lower <= 'z';
}
/// OWS and BWS are runs of these (RFC 9110 §5.6.3).
constexpr bool is_ows(char c) noexcept {
    return c == ' ' || c == '\t';
}
/// CTL (RFC 5234 B.1): 0x00-0x1F and DEL.
constexpr bool is_control(char c) noexcept {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
}
/// A byte a field value may hold: HTAB, SP, VCHAR, obs-text.
constexpr bool is_field_char(char c) noexcept {
    return c == '\t' || in_class(c, char_class::field);
}
/// qdtext (RFC 9110 §5.6.4): a quoted-string byte other than DQUOTE and the backslash that starts
/// a quoted-pair (whose second byte may be any is_field_char()).
constexpr bool is_qdtext(char c) noexcept {
    return is_field_char(c) && c != '"' && c != '\\';
}

/// The value of a HEXDIG, or -1 for any other byte.
constexpr int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    const char lower = static_cast<char>(c | 0x20);
    if (lower >= 'a' && lower <= 'f') return lower - 'a' + 10;
    return -1;
}

// ---------------------------------------------------------------------------------------------
// Tokens and case

/// `c` in lower case if it is an ASCII capital, unchanged otherwise (no locale).
constexpr char ascii_lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c | 0x20) : c;
}

/// ASCII case-insensitive equality, the comparison RFC 9110 uses for field names and tokens.
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    return true;
}

/// iequals for a token (a field name the parser has validated) against a lower-case literal of
/// letters, digits and '-'. OR-ing 0x20 folds case, and no other token character folds onto
/// those, so one operation per byte does what ascii_lower does with two comparisons.
template <std::size_t N>
constexpr bool token_is(std::string_view token, const char (&lower)[N]) noexcept {
    if (token.size() != N - 1) return false;
    for (std::size_t i = 0; i < N - 1; ++i)
        if ((token[i] | 0x20) != lower[i]) return false;
    return true;
}

/// scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 §3.1).
SNOW_API bool is_scheme(std::string_view s) noexcept;

/// True if `s` is a non-empty RFC 9110 token (a valid field name or method).
SNOW_API bool is_token(std::string_view s) noexcept;

/// True if `s` may be sent as a field value: visible ASCII, obs-text, SP and HTAB, with no
/// leading or trailing whitespace. CR, LF and NUL are refused, so a value taken from user
/// input can never split the message.
SNOW_API bool is_field_value(std::string_view s) noexcept;

// ---------------------------------------------------------------------------------------------
// Lists (RFC 9110 §5.6.1)

/// Calls `visit` on each element of a comma-separated list, OWS trimmed; empty elements are
/// skipped, as a recipient must. Stops early when `visit` returns false. Returns how many
/// elements were visited.
template <typename Visit>
std::size_t for_each_list_element(std::string_view list, Visit&& visit) {
    std::size_t count = 0;
    while (!list.empty()) {
        const auto comma = list.find(',');
        auto element = list.substr(0, comma);
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        while (!element.empty() && is_ows(element.front())) element.remove_prefix(1);
        while (!element.empty() && is_ows(element.back())) element.remove_suffix(1);
        if (element.empty()) continue;
        ++count;
        if (!visit(element)) break;
    }
    return count;
}

/// True if an element of `list` is `token`, compared case-insensitively and whole: "a, b"
/// contains "b", never "a, bc".
SNOW_API bool list_contains(std::string_view list, std::string_view token) noexcept;

/// True if a Connection field value carries the `close` option (RFC 9112 §9.6): the one
/// test the parsers, the server and the client all make. "closeable" is not "close".
SNOW_API bool has_close_option(std::string_view connection_value) noexcept;

// ---------------------------------------------------------------------------------------------
// Hosts (RFC 3986 §3.2.2)

/// reg-name: unreserved, pct-encoded and sub-delims; may be empty. Covers dotted IPv4 too.
SNOW_API bool is_reg_name(std::string_view s) noexcept;

/// IPv4address: four dec-octets, without leading zeros.
SNOW_API bool is_ipv4_address(std::string_view s) noexcept;

/// An IPv6 address in network byte order.
using ipv6_bytes = std::array<std::uint8_t, 16>;

/// IPv6address: up to eight h16 groups, at most one "::" standing for one or more zero groups,
/// optionally ending in an IPv4address. nullopt if `s` is not one (zone identifiers included).
SNOW_API std::optional<ipv6_bytes> parse_ipv6_address(std::string_view s) noexcept;

/// IP-literal without its brackets: IPv6address or IPvFuture ("v1.anything").
SNOW_API bool is_ip_literal(std::string_view s) noexcept;

/// Whether is_host_and_port() requires the ":port".
enum class port_rule : bool { optional, required };

/// uri-host [ ":" port ], as in a Host field or an authority-form target (RFC 9112 §3.2), where
/// CONNECT requires the port. The port is digits, unchecked against 65535 as the grammar is.
SNOW_API bool is_host_and_port(std::string_view s, port_rule port) noexcept;

} // namespace snow::http
