// tests/http/client/error_test.cpp: the client's errors: every error code it can return falls in
// exactly one client_failure class, and each class and code has a message.
#include "snow/http/client/error.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <system_error>

#include <fmt/format.h>

#include "snow/http/client/client.hpp"

#include "http/support/client_fixture.hpp"

using namespace snow;
using http::client_error;
using http::client_failure;

TEST_SUITE_BEGIN("http.client");

TEST_CASE("every error the client can return falls in exactly one class") {
    using std::errc;
    CHECK(http::classify(std::make_error_code(errc::timed_out)) == client_failure::timeout);
    CHECK(http::classify(system_error_code(ETIMEDOUT)) == client_failure::timeout);
    CHECK(http::classify(system_error_code(ECONNREFUSED)) == client_failure::connect);
    CHECK(http::classify(system_error_code(ENETUNREACH)) == client_failure::connect);
    CHECK(http::classify(system_error_code(EHOSTUNREACH)) == client_failure::connect);
    CHECK(http::classify(make_error_code(snow::errc::resolve_failed)) == client_failure::dns);
    CHECK(http::classify(make_error_code(http::url_errc::invalid_port)) == client_failure::url);
    CHECK(http::classify(system_error_code(ECONNRESET)) == client_failure::truncated);
    CHECK(http::classify(system_error_code(EPIPE)) == client_failure::truncated);
    CHECK(http::classify(make_error_code(client_error::body_truncated)) ==
          client_failure::truncated);
    CHECK(http::classify(make_error_code(http::errc::unexpected_eof)) == client_failure::truncated);
    CHECK(http::classify(make_error_code(http::errc::malformed_status_line)) ==
          client_failure::protocol);
    CHECK(http::classify(make_error_code(http::errc::body_too_large)) == client_failure::protocol);
    CHECK(http::classify(make_error_code(client_error::too_many_redirects)) ==
          client_failure::redirects);
    CHECK(http::classify(system_error_code(EMFILE)) == client_failure::io);
    CHECK(http::classify(std::make_error_code(errc::operation_canceled)) == client_failure::io);

    // == compares a code with a class, both ways round, and only with its own class.
    const std::error_code refused = system_error_code(ECONNREFUSED);
    CHECK(refused == client_failure::connect);
    CHECK(client_failure::connect == refused);
    CHECK(refused != client_failure::timeout);
    CHECK_FALSE(make_error_code(client_error::head_truncated) == client_failure::protocol);

    for (int c = 1; c <= static_cast<int>(client_failure::io); ++c) {
        const auto condition = make_error_condition(static_cast<client_failure>(c));
        CHECK_FALSE(condition.message().empty());
        CHECK(http::to_string(static_cast<client_failure>(c)).size() > 1);
    }
    CHECK(make_error_code(client_error::body_truncated).message().find("body") !=
          std::string::npos);
}

TEST_SUITE_END();
