// snow/http/server/request.hpp: what a handler receives: the parsed head and body of one request,
// as views into the connection's buffer (valid until the handler's task completes), plus
// the route's captures and the peer's address.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "snow/http/headers.hpp"
#include "snow/http/method.hpp"
#include "snow/http/parser.hpp"
#include "snow/net/address.hpp"

namespace snow::http {

class request {
public:
    http::method method() const noexcept { return head_->method; }
    std::string_view method_name() const noexcept { return head_->method_name; }
    /// The request-target as sent ("/users/7?tab=posts").
    std::string_view target() const noexcept { return head_->target; }
    /// The path part of the target, still percent-encoded.
    std::string_view path() const noexcept { return head_->path; }
    /// The raw query string after '?', still percent-encoded.
    std::string_view query_string() const noexcept { return head_->query; }
    /// The first value of query parameter `name`, decoded; none if absent.
    std::optional<std::string> query(std::string_view name) const;
    /// Every decoded query parameter in order (parsed once, on first use).
    const std::vector<std::pair<std::string, std::string>>& query_parameters() const;
    /// "HTTP/1.0" or "HTTP/1.1".
    int version_minor() const noexcept { return head_->version_minor; }

    /// Case-insensitive lookup; repeated fields are kept in order (get_all).
    header_list headers() const noexcept { return head_->headers(); }
    std::optional<std::string_view> header(std::string_view name) const noexcept {
        return headers().get(name);
    }

    /// The whole body, de-chunked.
    std::string_view body() const noexcept { return body_; }

    /// A path-template parameter ("{id}" in "/users/{id}"); empty if there is none.
    std::string_view param(std::string_view name) const noexcept;
    /// Regex route capture groups, 1-based as in regex (group(0) is the whole match).
    std::string_view group(std::size_t index) const noexcept;
    std::size_t group_count() const noexcept { return groups_.size(); }

    const net::address& peer() const noexcept { return peer_; }
    bool keep_alive() const noexcept { return head_->keep_alive; }

    // --- for the connection and the router ---
    request(const request_head& head, std::string_view body, const net::address& peer) noexcept
        : head_(&head)
        , body_(body)
        , peer_(peer) {}
    void set_route(std::vector<std::pair<std::string_view, std::string_view>> params,
                   std::vector<std::string_view> groups) {
        params_ = std::move(params);
        groups_ = std::move(groups);
    }

private:
    const request_head* head_;
    std::string_view body_;
    net::address peer_;
    std::vector<std::pair<std::string_view, std::string_view>> params_;
    std::vector<std::string_view> groups_;
    mutable std::optional<std::vector<std::pair<std::string, std::string>>> query_;
};

} // namespace snow::http
