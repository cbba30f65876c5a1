// snow/http/server/router.hpp: maps method + path to a handler. Routes are tried in the order they
// were added and the first match wins. Two kinds: path templates ("/users/{id}/posts", exact
// match) and regular expressions matched at the start of the path, as the original Snow's
// re.match did. Regexes are RE2: linear time in the path, so no request can make one
// backtrack. A path that matches only under other methods is 405 with Allow; none is 404.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "snow/core/export.hpp"
#include "snow/core/task.hpp"
#include "snow/http/method.hpp"
#include "snow/http/server/request.hpp"
#include "snow/http/server/response.hpp"

namespace snow::http {

/// What a route runs: either a coroutine returning task<response>, which may await anything
/// the runtime offers (the request stays valid until its task completes), or a plain
/// callable returning response, which runs inline and costs no coroutine frame:
///     [](const request&) { return text("hi"); }
class handler {
public:
    handler() noexcept = default;
    /// Wraps any callable taking `request&` and returning response or task<response>.
    template <typename F>
    requires std::is_invocable_v<F&, request&>
    handler(F f) { // NOLINT(google-explicit-constructor): any callable is a handler
        using returned = std::invoke_result_t<F&, request&>;
        if constexpr (std::is_same_v<returned, task<response>>) {
            coroutine_ = std::move(f);
        } else {
            static_assert(std::is_convertible_v<returned, response>,
                          "a handler returns response or task<response>");
            plain_ = [f = std::move(f)](request& req) mutable -> response { return f(req); };
        }
    }

    /// True for a plain callable: call it with answer(), not start().
    bool is_plain() const noexcept { return static_cast<bool>(plain_); }
    /// Runs a plain handler inline and returns its response.
    response answer(request& req) const { return plain_(req); }
    /// Starts a coroutine handler; its task yields the response.
    task<response> start(request& req) const { return coroutine_(req); }

    /// True when the handler reads its body as it arrives (see streamed()).
    bool streams_body() const noexcept { return streams_body_; }
    /// This route's own limit on a streamed body, under the server's; 0: the server's.
    std::size_t max_body_bytes() const noexcept { return max_body_bytes_; }
    /// Makes the handler read its body as it arrives, within `max_body_bytes` (0: the
    /// server's limit alone); streamed() says more.
    handler& stream_body(std::size_t max_body_bytes) noexcept {
        streams_body_ = true;
        max_body_bytes_ = max_body_bytes;
        return *this;
    }

private:
    std::function<task<response>(request&)> coroutine_;
    std::function<response(request&)> plain_;
    bool streams_body_ = false;
    std::size_t max_body_bytes_ = 0;
};

/// A route handler that reads its request body as it arrives, through request::body_stream(),
/// instead of after the server has received all of it: an upload of any size then costs one
/// receive buffer. Only this route's bodies stream, so middleware elsewhere still sees whole
/// bodies (here it sees an empty one). The server's max_body_bytes applies, and
/// `max_body_bytes` (0: none) lowers it for this route: a Content-Length over the limit is
/// answered 413 before anything is read, a chunked body that grows over it 413 when it does;
/// either closes the connection. What the handler leaves unread is read and dropped (up to a
/// bound; past it, and after an unanswered `Expect: 100-continue`, the connection closes
/// after the response), so the requests that follow are framed correctly. Each read has the
/// server's body_timeout. A client that leaves while the handler waits on something other
/// than the body is noticed only when the response is written.
///     app.post("/upload/", snow::http::streamed([](request& req) -> task<response> { ... }));
inline handler streamed(handler h, std::size_t max_body_bytes = 0) {
    h.stream_body(max_body_bytes);
    return h;
}

/// The routes of a server: method and path to handler, tried in the order added, the first
/// match winning. A path that matches only under other methods is answered 405 with Allow,
/// one that matches nothing 404. Build it, then hand it to the server (or add routes on the
/// server directly, which has the same methods).
class SNOW_API router {
public:
    router();
    /// Moves the routes.
    router(router&&) noexcept;
    /// Moves the routes.
    router& operator=(router&&) noexcept;
    ~router();

    /// A path-template route: literal segments, "{name}" for one segment, "{name...}" for
    /// the rest of the path; the whole path must match. Throws std::invalid_argument for a
    /// malformed template.
    router& add_template(http::method m, std::string_view path_template, handler h);
    ///@{
    /// Template routes by method: get("/users/{id}", h).
    router& get(std::string_view path_template, handler h) {
        return add_template(method::get, path_template, std::move(h));
    }
    router& post(std::string_view path_template, handler h) {
        return add_template(method::post, path_template, std::move(h));
    }
    router& put(std::string_view path_template, handler h) {
        return add_template(method::put, path_template, std::move(h));
    }
    router& patch(std::string_view path_template, handler h) {
        return add_template(method::patch, path_template, std::move(h));
    }
    router& del(std::string_view path_template, handler h) {
        return add_template(method::delete_, path_template, std::move(h));
    }
    ///@}

    ///@{
    /// An RE2 regex route, matched at the start of the path (the rest may follow, as the
    /// original framework's re.match did), for one method or every method. Groups reach the
    /// handler as request::group(i). Throws std::invalid_argument for a bad pattern.
    router& add_regex(http::method m, std::string_view regex, handler h);
    router& add_regex(std::string_view regex, handler h);
    router& get_regex(std::string_view regex, handler h) {
        return add_regex(method::get, regex, std::move(h));
    }
    ///@}

    /// What find() decided for one request.
    struct match {
        const handler* target = nullptr; ///< null: see status
        int status = 404;                ///< 200 when matched, 404 or 405 otherwise
        std::string allow;               ///< for 405: the methods that would match
        /// Template parameters by name, in template order.
        std::vector<std::pair<std::string_view, std::string_view>> params;
        /// Regex capture groups, group 0 (the whole match) first.
        std::vector<std::string_view> groups;
        /// The matched route as registered ("/users/{id}", a regex): a label of bounded
        /// cardinality for metrics and logs, unlike the raw path. Empty when none matched.
        std::string_view pattern;
    };

    /// The first route for `m` and `path`. HEAD falls back to GET routes. Captured views
    /// point into `path`.
    match find(http::method m, std::string_view path) const;

private:
    struct route_entry;
    std::vector<std::unique_ptr<route_entry>> routes_;
};

} // namespace snow::http
