// snow/http/server/router.hpp: maps method + path to a handler. Routes are tried in the order they
// were added and the first match wins. Two kinds: path templates ("/users/{id}/posts", exact
// match) and regular expressions matched at the start of the path, as the original Snow's
// re.match did. Regexes are RE2: linear time in the path, so no request can make one
// backtrack. A path that matches only under other methods is 405 with Allow; none is 404.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "snow/http/method.hpp"
#include "snow/http/server/request.hpp"
#include "snow/http/server/response.hpp"
#include "snow/core/task.hpp"

namespace snow::http {

/// A request handler: a coroutine that may await anything the runtime offers. The request
/// stays valid until the returned task completes.
using handler = std::function<task<response>(request&)>;

class router {
public:
    router();
    router(router&&) noexcept;
    router& operator=(router&&) noexcept;
    ~router();

    /// A regex route for every method. Throws std::invalid_argument for a bad pattern.
    router& route(std::string_view regex, handler h);
    /// A regex route for one method.
    router& route(http::method m, std::string_view regex, handler h);

    /// A path-template route: literal segments, "{name}" for one segment, "{name...}" for
    /// the rest of the path. Throws std::invalid_argument for a malformed template.
    router& add(http::method m, std::string_view path_template, handler h);
    router& get(std::string_view path_template, handler h) {
        return add(method::get, path_template, std::move(h));
    }
    router& post(std::string_view path_template, handler h) {
        return add(method::post, path_template, std::move(h));
    }
    router& put(std::string_view path_template, handler h) {
        return add(method::put, path_template, std::move(h));
    }
    router& patch(std::string_view path_template, handler h) {
        return add(method::patch, path_template, std::move(h));
    }
    router& del(std::string_view path_template, handler h) {
        return add(method::delete_, path_template, std::move(h));
    }

    struct match {
        const handler* target = nullptr; ///< null: see status
        int status = 404;                ///< 200 when matched, 404 or 405 otherwise
        std::string allow;               ///< for 405: the methods that would match
        std::vector<std::pair<std::string_view, std::string_view>> params;
        std::vector<std::string_view> groups;
    };

    /// The first route for `m` and `path`. HEAD falls back to GET routes. Captured views
    /// point into `path`.
    match find(http::method m, std::string_view path) const;

private:
    struct route_entry;
    std::vector<std::unique_ptr<route_entry>> routes_;
};

} // namespace snow::http
