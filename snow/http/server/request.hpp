// snow/http/server/request.hpp: what a handler receives: the parsed head and body of one request,
// as views into the connection's buffer (valid until the handler's task completes), plus
// the route's captures and the peer's address.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "snow/core/export.hpp"
#include "snow/http/headers.hpp"
#include "snow/http/method.hpp"
#include "snow/http/parser.hpp"
#include "snow/http/server/body_reader.hpp"
#include "snow/net/address.hpp"

namespace snow::http {

/// The request a handler answers: the parsed head, the whole body, the route's parameters and
/// the peer's address. Every view points into the connection's buffer and is valid until the
/// handler's response has been written; copy what must live longer.
class SNOW_API request {
public:
    /// The request method; method::other for one snow does not know.
    http::method method() const noexcept { return head_->method; }
    /// The method as sent ("GET", "PROPFIND").
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
    /// The value of the first field named `name` (case-insensitive), or nullopt.
    std::optional<std::string_view> header(std::string_view name) const noexcept {
        return headers().get(name);
    }

    /// The Last-Event-ID field: the id of the last Server-Sent Event a reconnecting browser
    /// received (see event_stream_response), or nullopt.
    std::optional<std::string_view> last_event_id() const noexcept {
        return header("Last-Event-ID");
    }

    /// The whole body, de-chunked; empty on a streamed() route, whose handler reads it from
    /// body_stream() instead.
    std::string_view body() const noexcept { return body_; }
    /// The body as it arrives: on a streamed() route read from the connection piece by piece
    /// (the first next() sends `100 Continue` to a client that asked for it), elsewhere the
    /// whole body as one piece.
    body_reader& body_stream() noexcept { return stream_ != nullptr ? *stream_ : buffered_; }

    /// A path-template parameter ("{id}" in "/users/{id}"); empty if there is none.
    std::string_view param(std::string_view name) const noexcept;
    /// Regex route capture groups, 1-based as in regex (group(0) is the whole match).
    std::string_view group(std::size_t index) const noexcept;
    /// The number of regex capture groups, group 0 included; 0 for a template route.
    std::size_t group_count() const noexcept { return groups_.size(); }

    /// The address of the client: the TCP peer, or with server_options::proxy_protocol the
    /// source the connection's PROXY header named.
    const net::address& peer() const noexcept { return peer_; }
    /// Whether the connection may carry another request after this one.
    bool keep_alive() const noexcept { return head_->keep_alive; }

    // --- for the connection and the router ---
    /// Made by the server's connection for each request; handlers receive it, they do not
    /// make it.
    request(const request_head& head, std::string_view body, const net::address& peer) noexcept
        : head_(&head)
        , body_(body)
        , peer_(peer)
        , buffered_(body) {}
    /// Set by the connection for a streamed() route: where body_stream() reads.
    void set_body_stream(body_reader* stream) noexcept { stream_ = stream; }
    /// Set by the router once it has matched: the template parameters and regex groups.
    void set_route(std::vector<std::pair<std::string_view, std::string_view>> params,
                   std::vector<std::string_view> groups) {
        params_ = std::move(params);
        groups_ = std::move(groups);
    }
    /// set_route() that also records the pattern of the matched route, for route().
    void set_route(std::vector<std::pair<std::string_view, std::string_view>> params,
                   std::vector<std::string_view> groups, std::string_view pattern) {
        set_route(std::move(params), std::move(groups));
        route_ = pattern;
    }
    /// The route that matched, as it was registered ("/users/{id}"); empty when none did.
    std::string_view route() const noexcept { return route_; }

private:
    const request_head* head_;
    std::string_view body_;
    net::address peer_;
    std::vector<std::pair<std::string_view, std::string_view>> params_;
    std::vector<std::string_view> groups_;
    std::string_view route_;        // points into the router, which outlives every request
    body_reader* stream_ = nullptr; // the connection's, on a streamed() route
    buffered_body_reader buffered_;
    mutable std::optional<std::vector<std::pair<std::string, std::string>>> query_;
};

} // namespace snow::http
