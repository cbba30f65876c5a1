// snow/http/client/detail/proxy.hpp: choosing the proxy a request goes through
// (client_options::proxy in client.hpp says how to set one).
#pragma once

#include <optional>

#include "snow/core/result.hpp"
#include "snow/http/client/client.hpp"
#include "snow/http/url.hpp"

namespace snow::http::detail {

/// The proxy `target` goes through under `proxies`: none when none is set for its scheme or
/// its host is in no_proxy. Errors: client_error::proxy_url for a proxy that is not
/// "http://host:port".
result<std::optional<url>> proxy_for(const proxy_options& proxies, const url& target);

} // namespace snow::http::detail
