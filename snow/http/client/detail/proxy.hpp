// snow/http/client/detail/proxy.hpp: choosing the proxy a request goes through
// (client_options::proxy in client.hpp says how to set one).
#pragma once

#include <optional>

#include "snow/core/result.hpp"
#include "snow/http/client/client.hpp"
#include "snow/http/url.hpp"
#include "snow/net/socks5.hpp"

namespace snow::http::detail {

/// A proxy a request goes through, parsed from its URL.
struct proxy_route {
    enum class protocol {
        http,   ///< http://: absolute-form requests, CONNECT tunnels for https
        socks5, ///< socks5:// (names resolved here) or socks5h:// (by the proxy)
    };
    protocol kind = protocol::http;
    url address;             ///< the proxy's host and port (as an http:// URL)
    bool remote_dns = false; ///< socks5h://: the proxy resolves the destination's name
    net::socks5_credentials credentials{}; ///< from "user:password@" in a socks5 URL

    /// What tells its connections apart in the client's pool: "proxy http://host:port".
    std::string key() const;
};

/// The proxy `target` goes through under `proxies`: none when none is set for its scheme,
/// its host is in no_proxy, or it is an http+unix:// URL. Errors: client_error::proxy_url for a
/// proxy that is not "http://host:port", "socks5://[user:password@]host:port" or "socks5h://…".
result<std::optional<proxy_route>> proxy_for(const proxy_options& proxies, const url& target);

} // namespace snow::http::detail
