// snow/http/server/response.cpp
#include "snow/http/server/response.hpp"

#include <fmt/format.h>

#include "snow/http/status.hpp"

namespace snow::http {

std::string cookie::to_string() const {
    std::string out = fmt::format("{}={}", name, value);
    if (!path.empty()) fmt::format_to(std::back_inserter(out), "; Path={}", path);
    if (!domain.empty()) fmt::format_to(std::back_inserter(out), "; Domain={}", domain);
    if (max_age) fmt::format_to(std::back_inserter(out), "; Max-Age={}", max_age->count());
    if (secure) out += "; Secure";
    if (http_only) out += "; HttpOnly";
    switch (same_site) {
    case same_site_policy::strict:
        out += "; SameSite=Strict";
        break;
    case same_site_policy::lax:
        out += "; SameSite=Lax";
        break;
    case same_site_policy::none:
        out += "; SameSite=None";
        break;
    case same_site_policy::unset:
        break;
    }
    return out;
}

namespace {
response with_type(std::string body, int status, std::string_view type) {
    response r;
    r.status = status;
    r.body = std::move(body);
    r.headers.add("Content-Type", type);
    return r;
}
} // namespace

response text(std::string body, int status) {
    return with_type(std::move(body), status, "text/plain; charset=utf-8");
}
response html(std::string body, int status) {
    return with_type(std::move(body), status, "text/html; charset=utf-8");
}
response json(std::string body, int status) {
    return with_type(std::move(body), status, "application/json");
}

response redirect(std::string_view location, int status) {
    response r = text(fmt::format("{} {}\n", status, reason_phrase(status)), status);
    r.headers.add("Location", location);
    return r;
}

response status_page(int status) {
    return text(fmt::format("{} {}\n", status, reason_phrase(status)), status);
}

} // namespace snow::http
