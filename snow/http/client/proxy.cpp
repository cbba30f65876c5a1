// snow/http/client/proxy.cpp: which proxy, if any, a URL goes through: the client's options,
// or the conventional environment variables read once by proxy_options::from_environment().
#include "snow/http/client/detail/proxy.hpp"

#include <cstdlib>
#include <string_view>

namespace snow::http {
namespace {

std::string variable(const char* lower, const char* upper) {
    if (const char* v = std::getenv(lower); v != nullptr && *v != '\0') return v;
    if (upper == nullptr) return {};
    if (const char* v = std::getenv(upper); v != nullptr && *v != '\0') return v;
    return {};
}

bool iequal(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if ((a[i] | 0x20) != (b[i] | 0x20)) return false;
    return true;
}

/// Whether `host` is `entry` or a name under it (a leading dot in the entry is optional).
bool matches(std::string_view host, std::string_view entry) noexcept {
    while (!entry.empty() && (entry.front() == ' ' || entry.front() == '.')) entry.remove_prefix(1);
    while (!entry.empty() && entry.back() == ' ') entry.remove_suffix(1);
    if (entry.empty()) return false;
    if (entry == "*") return true;
    if (host.size() == entry.size()) return iequal(host, entry);
    return host.size() > entry.size() && host[host.size() - entry.size() - 1] == '.' &&
           iequal(host.substr(host.size() - entry.size()), entry);
}

} // namespace

proxy_options proxy_options::from_environment() {
    proxy_options p;
    // HTTP_PROXY in upper case is what a CGI request's Proxy: header becomes (httpoxy).
    const bool cgi = std::getenv("REQUEST_METHOD") != nullptr;
    p.http = variable("http_proxy", cgi ? nullptr : "HTTP_PROXY");
    p.https = variable("https_proxy", "HTTPS_PROXY");
    const std::string bypass = variable("no_proxy", "NO_PROXY");
    std::string_view rest = bypass;
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        std::string_view entry = rest.substr(0, comma);
        if (!entry.empty()) p.no_proxy.emplace_back(entry);
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
    }
    return p;
}

namespace detail {

std::string proxy_route::key() const {
    return std::string(kind == protocol::http ? "proxy "
                       : remote_dns           ? "socks5h "
                                              : "socks5 ") +
           address.origin();
}

result<std::optional<proxy_route>> proxy_for(const proxy_options& proxies, const url& target) {
    // A Unix socket is on this machine: there is nothing to reach it through.
    if (target.is_unix()) return std::optional<proxy_route>{};
    const std::string& chosen = target.is_https() ? proxies.https : proxies.http;
    if (chosen.empty()) return std::optional<proxy_route>{};
    for (const std::string& entry : proxies.no_proxy)
        if (matches(target.host(), entry)) return std::optional<proxy_route>{};
    std::string_view text = chosen;
    proxy_route::protocol kind = proxy_route::protocol::http;
    bool remote_dns = false;
    net::socks5_credentials credentials;
    if (text.starts_with("socks5://") || text.starts_with("socks5h://")) {
        kind = proxy_route::protocol::socks5;
        remote_dns = text.starts_with("socks5h://");
        text.remove_prefix(text.find("://") + 3);
        // user:password@ is the SOCKS5 login (RFC 1929); url::parse takes no userinfo.
        const auto at = text.substr(0, text.find('/')).rfind('@');
        if (at != std::string_view::npos) {
            const std::string_view login = text.substr(0, at);
            const auto colon = login.find(':');
            credentials.username = login.substr(0, colon);
            if (colon != std::string_view::npos) credentials.password = login.substr(colon + 1);
            text.remove_prefix(at + 1);
        }
    } else if (text.find("://") == std::string_view::npos) {
        // "host:port" alone is taken as http://host:port, as curl takes it.
    } else if (!text.starts_with("http://")) {
        return make_error_code(client_error::proxy_url);
    } else {
        text.remove_prefix(7);
    }
    auto parsed = url::parse("http://" + std::string(text));
    if (!parsed) return make_error_code(client_error::proxy_url);
    return std::optional<proxy_route>(proxy_route{.kind = kind,
                                                  .address = std::move(*parsed),
                                                  .remote_dns = remote_dns,
                                                  .credentials = std::move(credentials)});
}

} // namespace detail
} // namespace snow::http
