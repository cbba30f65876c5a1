// tests/http/server/router_test.cpp: snow::http::router on its own, without a connection:
// templates with "{name}" and "{name...}", literal templates, regex routes matched at the start
// of the path, first match wins, HEAD falling back to GET, 405 with Allow, 404, malformed
// routes refused, and which callables are plain handlers.
#include "snow/http/server/router.hpp"

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "snow/http/parser.hpp"
#include "support/run_test.hpp"

using namespace snow;
using http::method;
using http::request;
using http::response;
using http::router;

TEST_SUITE_BEGIN("http.router");

namespace {

/// A plain handler that answers `word`, so a test can tell which route matched.
http::handler says(std::string word) {
    return [word](const request&) { return http::text(word); };
}

/// What the matched (plain) handler answers.
std::string answer_of(const router::match& found) {
    REQUIRE(found.target != nullptr);
    REQUIRE(found.target->is_plain());
    const http::request_head head{};
    request req(head, "", net::address{});
    return found.target->answer(req).body;
}

/// The captured template parameters as "name=value" words.
std::string params_of(const router::match& found) {
    std::string out;
    for (const auto& [name, value] : found.params)
        out += fmt::format("{}{}={}", out.empty() ? "" : " ", name, value);
    return out;
}

/// The captured regex groups, group 0 (the whole match) first, separated by '|'.
std::string groups_of(const router::match& found) {
    std::string out;
    for (std::size_t i = 0; i < found.groups.size(); ++i)
        out += fmt::format("{}{}", i == 0 ? "" : "|", found.groups[i]);
    return out;
}

} // namespace

TEST_CASE("a template matches whole segments and hands over its parameters") {
    router r;
    r.get("/users/{id}/posts/{post}", says("post"));
    const auto found = r.find(method::get, "/users/42/posts/7");
    CHECK(found.status == 200);
    CHECK(answer_of(found) == "post");
    CHECK(params_of(found) == "id=42 post=7");
    CHECK(found.groups.empty());
    for (std::string_view miss : {"/users/42/posts", "/users/42/posts/7/more", "/users//posts/7",
                                  "/users/42/comments/7", "/users/42/posts/", "users/42/posts/7"}) {
        CAPTURE(miss);
        const auto missed = r.find(method::get, miss);
        CHECK(missed.status == 404);
        CHECK(missed.target == nullptr);
    }
}

TEST_CASE("a rest parameter takes the rest of the path, slashes and all, or nothing") {
    router r;
    r.get("/files/{path...}", says("files"));
    const auto deep = r.find(method::get, "/files/a/b/c");
    CHECK(deep.status == 200);
    CHECK(answer_of(deep) == "files");
    CHECK(params_of(deep) == "path=a/b/c");
    CHECK(params_of(r.find(method::get, "/files/readme.txt")) == "path=readme.txt");
    CHECK(params_of(r.find(method::get, "/files/a//b/")) == "path=a//b/");
    const auto empty = r.find(method::get, "/files/");
    CHECK(empty.status == 200);
    REQUIRE(empty.params.size() == 1);
    CHECK(empty.params[0].first == "path");
    CHECK(empty.params[0].second.empty());
    // The segments before it still match whole: no slash after "files", no match.
    CHECK(r.find(method::get, "/files").status == 404);
    CHECK(r.find(method::get, "/filesystem/a").status == 404);

    router everything;
    everything.get("/{all...}", says("all"));
    CHECK(params_of(everything.find(method::get, "/")) == "all=");
    CHECK(params_of(everything.find(method::get, "/x/y")) == "all=x/y");
}

TEST_CASE("a template without parameters matches only its exact path") {
    router r;
    r.get("/index/", says("index"));
    r.get("/", says("root"));
    const auto found = r.find(method::get, "/index/");
    CHECK(found.status == 200);
    CHECK(answer_of(found) == "index");
    CHECK(found.params.empty());
    CHECK(answer_of(r.find(method::get, "/")) == "root");
    for (std::string_view miss : {"/index", "/index/x", "/INDEX/", "/index//", "//"}) {
        CAPTURE(miss);
        CHECK(r.find(method::get, miss).status == 404);
    }
}

TEST_CASE("a regex route matches at the start of the path and captures its groups") {
    router r;
    r.get_regex("/index/", says("index"));
    r.add_regex(R"(/user/(\d+))", says("user")); // every method
    for (std::string_view path : {"/index/", "/index/anything", "/index/a/b?"}) {
        CAPTURE(path);
        const auto found = r.find(method::get, path);
        CHECK(found.status == 200);
        CHECK(answer_of(found) == "index");
        CHECK(groups_of(found) == "/index/");
    }
    CHECK(r.find(method::get, "/x/index/").status == 404); // anchored at the start
    CHECK(r.find(method::get, "/index").status == 404);

    const auto user = r.find(method::post, "/user/42/more");
    CHECK(user.status == 200);
    CHECK(answer_of(user) == "user");
    CHECK(groups_of(user) == "/user/42|42");
    CHECK(user.params.empty());
    CHECK(r.find(method::delete_, "/user/7").status == 200);
    CHECK(r.find(method::get, "/user/x").status == 404);
}

TEST_CASE("the first route that matches wins") {
    router template_first;
    template_first.get("/users/{id}", says("template"));
    template_first.get("/users/me", says("literal"));
    CHECK(answer_of(template_first.find(method::get, "/users/me")) == "template");

    router literal_first;
    literal_first.get("/users/me", says("literal"));
    literal_first.get("/users/{id}", says("template"));
    CHECK(answer_of(literal_first.find(method::get, "/users/me")) == "literal");
    CHECK(answer_of(literal_first.find(method::get, "/users/you")) == "template");

    router regex_first;
    regex_first.get_regex("/users/", says("regex"));
    regex_first.get("/users/{id}", says("template"));
    CHECK(answer_of(regex_first.find(method::get, "/users/me")) == "regex");
}

TEST_CASE("HEAD falls back to a GET route, and a HEAD route of its own wins") {
    router r;
    r.get("/page", says("get"));
    r.post("/form", says("post"));
    const auto head = r.find(method::head, "/page");
    CHECK(head.status == 200);
    CHECK(answer_of(head) == "get");
    const auto no_get = r.find(method::head, "/form");
    CHECK(no_get.status == 405);
    CHECK(no_get.allow == "POST");

    router own;
    own.get("/page", says("get"));
    own.add_template(method::head, "/page", says("head"));
    CHECK(answer_of(own.find(method::head, "/page")) == "head");
    CHECK(answer_of(own.find(method::get, "/page")) == "get");
}

TEST_CASE("a route's captures are its own, not those of the routes tried before it") {
    // One match is filled by each route tried: a route for another method, or a template that
    // failed after a parameter, leaves nothing behind.
    router r;
    r.post("/users/{id}", says("post"));           // matches the path, not the method
    r.get("/users/{id}/posts", says("posts"));     // captures "id", then fails
    r.get_regex(R"(/users/(\w+))", says("regex")); // the one that answers
    const auto found = r.find(method::get, "/users/ann");
    CHECK(answer_of(found) == "regex");
    CHECK(found.params.empty());
    CHECK(groups_of(found) == "/users/ann|ann");

    router fallback;
    fallback.get("/items/{id}", says("get"));
    fallback.post("/items/{name}", says("post"));
    const auto head = fallback.find(method::head, "/items/7");
    CHECK(answer_of(head) == "get");
    REQUIRE(head.params.size() == 1);
    CHECK(head.params[0].first == "id");
    CHECK(head.params[0].second == "7");
    CHECK(head.groups.empty());
    const auto refused = fallback.find(method::put, "/items/7");
    CHECK(refused.status == 405);
    CHECK(refused.params.empty());
}

TEST_CASE("a path routed only for other methods is 405 with each allowed method once") {
    router r;
    r.post("/thing", says("post"));
    r.put("/thing", says("put"));
    r.post("/thing", says("second post"));
    const auto found = r.find(method::get, "/thing");
    CHECK(found.status == 405);
    CHECK(found.target == nullptr);
    CHECK(found.allow == "POST, PUT");

    // A GET route answers HEAD too, so Allow lists it.
    router with_get;
    with_get.get("/both", says("get"));
    with_get.del("/both", says("delete"));
    const auto refused = with_get.find(method::post, "/both");
    CHECK(refused.status == 405);
    CHECK(refused.allow == "GET, DELETE, HEAD");
    CHECK(answer_of(with_get.find(method::delete_, "/both")) == "delete");
}

TEST_CASE("a path no route matches is 404 with nothing captured") {
    router none;
    const auto empty = none.find(method::get, "/");
    CHECK(empty.status == 404);
    CHECK(empty.target == nullptr);

    router r;
    r.get("/users/{id}", says("user"));
    r.get_regex(R"(/files/(\w+))", says("file"));
    const auto missed = r.find(method::get, "/nowhere");
    CHECK(missed.status == 404);
    CHECK(missed.target == nullptr);
    CHECK(missed.allow.empty());
    CHECK(missed.params.empty());
    CHECK(missed.groups.empty());
}

TEST_CASE("a malformed template or regex throws std::invalid_argument and adds no route") {
    router r;
    for (std::string_view bad :
         {"", "users", "users/{id}", "/a/{}", "/a/{", "/a/b}", "/a{b}", "/{rest...}/more"}) {
        CAPTURE(bad);
        CHECK_THROWS_AS(r.get(bad, says("bad")), std::invalid_argument);
    }
    for (std::string_view bad : {"(", "/a/(b", "[z-a]", "/x**"}) {
        CAPTURE(bad);
        CHECK_THROWS_AS(r.get_regex(bad, says("bad")), std::invalid_argument);
        CHECK_THROWS_AS(r.add_regex(bad, says("bad")), std::invalid_argument);
    }
    // Nothing half-added: every path is still unrouted.
    for (std::string_view path : {"/", "/a/b", "/users", "/x"}) {
        CAPTURE(path);
        CHECK(r.find(method::get, path).status == 404);
    }
}

TEST_CASE("a plain callable is a plain handler and a coroutine is not") {
    const http::handler plain = [](const request&) { return http::text("hi"); };
    CHECK(plain.is_plain());
    const http::request_head head{};
    request req(head, "", net::address{});
    const response answered = plain.answer(req);
    CHECK(answered.status == 200);
    CHECK(answered.body == "hi");

    const http::handler coroutine = [](request&) -> task<response> { co_return http::text("hi"); };
    CHECK_FALSE(coroutine.is_plain());
    const std::string body =
        snow::testing::run_test([](const http::handler& h, request& r) -> task<std::string> {
            const response resp = co_await h.start(r);
            co_return resp.body;
        }(coroutine, req));
    CHECK(body == "hi");

    // Registered on a router, each keeps its kind.
    router r;
    r.get("/plain", [](const request&) { return http::text("hi"); });
    r.get("/coroutine", [](request&) -> task<response> { co_return http::text("hi"); });
    const auto plain_route = r.find(method::get, "/plain");
    REQUIRE(plain_route.target != nullptr);
    CHECK(plain_route.target->is_plain());
    const auto coroutine_route = r.find(method::get, "/coroutine");
    REQUIRE(coroutine_route.target != nullptr);
    CHECK_FALSE(coroutine_route.target->is_plain());
}

TEST_SUITE_END();
