// snow/http/url.cpp: parsing absolute http URLs (RFC 3986 §3) and resolving references
// against them (§5.2), with the percent-encoding rules of a request-target (RFC 9112 §3.2), and
// the http+unix form whose authority is a percent-encoded socket path.
#include "snow/http/url.hpp"

#include <arpa/inet.h>

#include <cstring>

#include <fmt/format.h>

#include "snow/core/error.hpp"
#include "snow/http/grammar.hpp"

namespace snow::http {
namespace {

std::string_view message_for(url_errc e) noexcept {
    switch (e) {
    case url_errc::not_absolute:
        return "not an absolute URL (expected http://host/...)";
    case url_errc::unsupported_scheme:
        return "unsupported URL scheme (only http, https and http+unix are supported)";
    case url_errc::userinfo:
        return "credentials in the URL (user@host) are not supported";
    case url_errc::invalid_host:
        return "invalid host in URL";
    case url_errc::invalid_port:
        return "invalid port in URL (expected 1 to 65535)";
    case url_errc::invalid_character:
        return "invalid character in URL";
    }
    return "invalid URL";
}

/// pchar and '/' (RFC 3986 §3.3), plus '?' in a query (§3.4).
constexpr bool allowed_in_target(char c, bool query) noexcept {
    return in_class(c, char_class::target) || (query && c == '?');
}

/// Appends `text` with every byte a request-target cannot carry percent-encoded. Escapes
/// that are already valid stay as they are, so encoding twice changes nothing.
void append_encoded(std::string& out, std::string_view text, bool query) {
    static constexpr char digits[] = "0123456789ABCDEF";
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '%' && i + 2 < text.size() && is_hex_digit(text[i + 1]) &&
            is_hex_digit(text[i + 2])) {
            out.append(text.substr(i, 3));
            i += 2;
        } else if (allowed_in_target(c, query)) {
            out.push_back(c);
        } else {
            const auto u = static_cast<unsigned char>(c);
            out.push_back('%');
            out.push_back(digits[u >> 4]);
            out.push_back(digits[u & 0xf]);
        }
    }
}

/// RFC 3986 §5.2.4: "/a/b/../c/./d" → "/a/c/d". The input starts with '/'.
std::string remove_dot_segments(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    auto drop_last_segment = [&out] {
        auto slash = out.rfind('/');
        out.erase(slash == std::string::npos ? 0 : slash);
    };
    while (!in.empty()) {
        if (in.starts_with("../")) {
            in.remove_prefix(3);
        } else if (in.starts_with("./")) {
            in.remove_prefix(2);
        } else if (in.starts_with("/./")) {
            in.remove_prefix(2);
        } else if (in == "/.") {
            in = "/";
        } else if (in.starts_with("/../")) {
            in.remove_prefix(3);
            drop_last_segment();
        } else if (in == "/..") {
            in = "/";
            drop_last_segment();
        } else if (in == "." || in == "..") {
            in = {};
        } else {
            const auto next = in.find('/', 1);
            const auto segment = in.substr(0, next);
            out.append(segment);
            in.remove_prefix(segment.size());
        }
    }
    return out.empty() ? std::string("/") : out;
}

/// The length of a scheme followed by ':' at the front of `text`, or 0 if there is none.
std::size_t scheme_length(std::string_view text) noexcept {
    const std::size_t colon = text.find(':');
    return colon != std::string_view::npos && is_scheme(text.substr(0, colon)) ? colon : 0;
}

/// Decodes the escape "%XY" at text[i] into `c` and moves `i` to its last digit; false when
/// two hex digits do not follow.
bool take_percent_escape(std::string_view text, std::size_t& i, char& c) noexcept {
    if (i + 2 >= text.size() || !is_hex_digit(text[i + 1]) || !is_hex_digit(text[i + 2]))
        return false;
    c = static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
    i += 2;
    return true;
}

/// A registered name: percent-decoded, lower-cased, restricted to what DNS names and IPv4
/// literals use (no IDNA: a non-ASCII name is refused rather than guessed at). Narrower than the
/// grammar's reg-name, since the client must resolve what it accepts.
result<std::string> parse_reg_name(std::string_view text) {
    std::string host;
    host.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '%' && !take_percent_escape(text, i, c)) return url_errc::invalid_host;
        if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '.' && c != '_')
            return url_errc::invalid_host;
        host.push_back(static_cast<char>(is_alpha(c) ? (c | 0x20) : c));
    }
    if (host.empty()) return url_errc::invalid_host;
    return host;
}

/// The longest Unix socket path (sun_path less its NUL); net/unix_socket.hpp says the same,
/// and the http layer's URLs do not depend on the socket code.
constexpr std::size_t max_unix_path_bytes = 107;

/// The socket path of an http+unix authority: percent-decoded, anything but empty, over
/// the length a sockaddr_un holds, or holding a NUL.
result<std::string> parse_unix_socket(std::string_view text) {
    std::string path;
    path.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '%' && !take_percent_escape(text, i, c)) return url_errc::invalid_host;
        if (c == '\0') return url_errc::invalid_host;
        path.push_back(c);
    }
    if (path.empty() || path.size() > max_unix_path_bytes) return url_errc::invalid_host;
    return path;
}

/// A socket path as an http+unix authority: every byte but RFC 3986's unreserved ones
/// percent-encoded, so '/' becomes %2F.
std::string encode_unix_socket(std::string_view path) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(path.size() * 3);
    for (const char c : path) {
        if (is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out.push_back(c);
        } else {
            const auto u = static_cast<unsigned char>(c);
            out.push_back('%');
            out.push_back(digits[u >> 4]);
            out.push_back(digits[u & 0xf]);
        }
    }
    return out;
}

result<std::uint16_t> parse_port(std::string_view text, std::uint16_t default_port) {
    if (text.empty()) return default_port; // "http://host:/" means the default port
    std::uint32_t value = 0;
    for (char c : text) {
        if (!is_digit(c)) return url_errc::invalid_port;
        value = value * 10 + static_cast<std::uint32_t>(c - '0');
        if (value > 65535) return url_errc::invalid_port;
    }
    if (value == 0) return url_errc::invalid_port;
    return static_cast<std::uint16_t>(value);
}

} // namespace

const std::error_category& url_error_category() noexcept {
    static const enum_category<url_errc> instance("snow.http.url", message_for);
    return instance;
}

result<url> url::parse(std::string_view text) {
    for (char c : text)
        if (is_control(c)) return url_errc::invalid_character;

    const std::size_t scheme_end = scheme_length(text);
    if (scheme_end == 0) return url_errc::not_absolute;
    const std::string_view scheme = text.substr(0, scheme_end);
    const bool https = iequals(scheme, "https");
    const bool unix_socket = iequals(scheme, "http+unix");
    if (!https && !unix_socket && !iequals(scheme, "http")) return url_errc::unsupported_scheme;
    std::string_view rest = text.substr(scheme_end + 1);
    if (!rest.starts_with("//")) return url_errc::not_absolute;
    rest.remove_prefix(2);

    const std::size_t authority_end = rest.find_first_of("/?#");
    const std::string_view authority = rest.substr(0, authority_end);
    rest.remove_prefix(authority.size());
    if (authority.find_first_of(" \t") != std::string_view::npos)
        return url_errc::invalid_character;
    if (authority.find('@') != std::string_view::npos) return url_errc::userinfo;

    url u;
    u.https_ = https;
    std::string_view port_text;
    if (unix_socket) {
        auto path = parse_unix_socket(authority);
        if (!path) return path.error();
        u.unix_socket_ = std::move(*path);
        u.host_ = "localhost"; // the Host field's value, unless the request sets one
    } else if (authority.starts_with('[')) {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) return url_errc::invalid_host;
        // Zone identifiers ("%25eth0") and IPvFuture are refused with the rest.
        const auto address = parse_ipv6_address(authority.substr(1, close - 1));
        if (!address) return url_errc::invalid_host;
        // inet_ntop only prints: the RFC 5952 form, so that one address has one pool key.
        in6_addr parsed{};
        std::memcpy(&parsed, address->data(), address->size());
        char canonical[INET6_ADDRSTRLEN] = {};
        ::inet_ntop(AF_INET6, &parsed, canonical, sizeof canonical);
        u.host_ = canonical;
        u.ipv6_ = true;
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after[0] != ':') return url_errc::invalid_host;
            port_text = after.substr(1);
        }
    } else {
        const auto colon = authority.find(':');
        auto host = parse_reg_name(authority.substr(0, colon));
        if (!host) return host.error();
        u.host_ = std::move(*host);
        if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
    }
    auto port = parse_port(port_text, https ? 443 : 80);
    if (!port) return port.error();
    u.port_ = *port;

    const std::size_t fragment = rest.find('#');
    if (fragment != std::string_view::npos) rest = rest.substr(0, fragment);
    const std::size_t question = rest.find('?');
    std::string encoded;
    append_encoded(encoded, rest.substr(0, question), false);
    u.target_ = remove_dot_segments(encoded.empty() ? std::string_view("/") : encoded);
    u.path_end_ = u.target_.size();
    if (question != std::string_view::npos) {
        u.target_.push_back('?');
        append_encoded(u.target_, rest.substr(question + 1), true);
    }
    return u;
}

result<url> url::resolve(std::string_view reference) const {
    for (char c : reference)
        if (is_control(c)) return url_errc::invalid_character;
    if (scheme_length(reference) != 0) return parse(reference);
    if (reference.starts_with("//")) return parse(fmt::format("{}:{}", scheme(), reference));

    const std::size_t fragment = reference.find('#');
    if (fragment != std::string_view::npos) reference = reference.substr(0, fragment);
    const std::size_t question = reference.find('?');
    const std::string_view ref_path = reference.substr(0, question);

    url u = *this;
    // §5.2.2: an empty reference (or a bare fragment) names the base itself, query and all.
    if (ref_path.empty() && question == std::string_view::npos) return u;
    if (!ref_path.empty()) {
        std::string merged;
        if (ref_path.front() != '/') {
            // §5.2.3: everything of the base path up to its last '/', then the reference.
            const std::string_view base = path();
            merged.append(base.substr(0, base.rfind('/') + 1));
        }
        merged.append(ref_path);
        std::string encoded;
        append_encoded(encoded, merged, false);
        u.target_ = remove_dot_segments(encoded);
    } else {
        u.target_ = std::string(path());
    }
    u.path_end_ = u.target_.size();
    if (question != std::string_view::npos) {
        u.target_.push_back('?');
        append_encoded(u.target_, reference.substr(question + 1), true);
    }
    return u;
}

std::string url::authority() const {
    const bool default_port = port_ == (https_ ? 443 : 80);
    if (ipv6_)
        return default_port ? fmt::format("[{}]", host_) : fmt::format("[{}]:{}", host_, port_);
    return default_port ? host_ : fmt::format("{}:{}", host_, port_);
}

std::string url::endpoint() const {
    if (is_unix()) return encode_unix_socket(unix_socket_);
    return ipv6_ ? fmt::format("[{}]:{}", host_, port_) : fmt::format("{}:{}", host_, port_);
}

std::string url::origin() const {
    return fmt::format("{}://{}", scheme(), endpoint());
}

std::string url::to_string() const {
    if (is_unix()) return fmt::format("{}://{}{}", scheme(), endpoint(), target_);
    return fmt::format("{}://{}{}", scheme(), authority(), target_);
}

} // namespace snow::http
