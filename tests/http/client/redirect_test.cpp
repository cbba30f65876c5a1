// tests/http/client/redirect_test.cpp: redirects: not followed unless asked, followed over the
// pooled connection up to max_redirects, and 303 and 307 after a POST.
#include "snow/http/client/client.hpp"

#include <doctest/doctest.h>

#include <chrono>

#include <fmt/format.h>

#include "support/run_test.hpp"

#include "http/support/client_fixture.hpp"

using namespace snow;
using namespace std::chrono_literals;
using http::client;
using http::client_error;
using http::client_failure;
using testing::local_server;
using testing::run_test;

TEST_SUITE_BEGIN("http.client");

TEST_CASE("redirects are not followed by default: the 3xx is the result") {
    run_test([]() -> task<void> {
        local_server srv;
        client http;
        auto r = co_await http.get(srv.url("/redirect/2"));
        REQUIRE(r.has_value());
        CHECK(r->status == 302);
        CHECK(r->headers.get("Location") == "/redirect/1");
        CHECK(r->redirects == 0);
        co_await srv.stop();
    }());
}

TEST_CASE("followed redirects land on the final response, over the pooled connection") {
    run_test([]() -> task<void> {
        local_server srv;
        client http;
        auto r = co_await http.get(srv.url("/redirect/5"), {.follow_redirects = true});
        REQUIRE_MESSAGE(r.has_value(), r.error().message());
        CHECK(r->status == 200);
        CHECK(r->body == "landed");
        CHECK(r->redirects == 5);
        CHECK(r->url == srv.url("/redirect/0"));
        CHECK(http.idle_connections() == 1); // every hop reused the one connection

        auto relative = co_await http.get(srv.url("/relative/a/b"), {.follow_redirects = true});
        REQUIRE(relative.has_value());
        CHECK(relative->body == "c from=b");
        co_await srv.stop();
    }());
}

TEST_CASE("more redirects than the limit is a redirects error") {
    run_test([]() -> task<void> {
        local_server srv;
        client http;
        auto six = co_await http.get(srv.url("/redirect/6"), {.follow_redirects = true});
        REQUIRE_FALSE(six.has_value());
        CHECK(six.error() == client_error::too_many_redirects);
        CHECK(six.error() == client_failure::redirects);
        auto loop =
            co_await http.get(srv.url("/loop"), {.follow_redirects = true, .max_redirects = 2});
        CHECK(loop.error() == client_failure::redirects);
        auto one = co_await http.get(srv.url("/redirect/1"),
                                     {.follow_redirects = true, .max_redirects = 1});
        CHECK(one.has_value());
        co_await srv.stop();
    }());
}

TEST_CASE("303 after POST turns into GET; 307 repeats the POST with its body") {
    run_test([]() -> task<void> {
        local_server srv;
        client http;
        auto see_other =
            co_await http.post(srv.url("/see-other"), "data", {}, {.follow_redirects = true});
        REQUIRE(see_other.has_value());
        CHECK(see_other->body == "OK");
        auto keep =
            co_await http.post(srv.url("/keep-post"), "data", {}, {.follow_redirects = true});
        REQUIRE(keep.has_value());
        CHECK(keep->body == "data");
        co_await srv.stop();
    }());
}

TEST_SUITE_END();
