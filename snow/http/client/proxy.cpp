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

result<std::optional<url>> proxy_for(const proxy_options& proxies, const url& target) {
    const std::string& chosen = target.is_https() ? proxies.https : proxies.http;
    if (chosen.empty()) return std::optional<url>{};
    for (const std::string& entry : proxies.no_proxy)
        if (matches(target.host(), entry)) return std::optional<url>{};
    // "host:port" alone is taken as http://host:port, as curl takes it.
    auto parsed = url::parse(chosen.find("://") == std::string::npos ? "http://" + chosen : chosen);
    if (!parsed || parsed->is_https()) return make_error_code(client_error::proxy_url);
    return std::optional<url>(std::move(*parsed));
}

} // namespace detail
} // namespace snow::http
