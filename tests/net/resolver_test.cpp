// tests/net/resolver_test.cpp: name resolution without the network: localhost and names under
// .localhost are loopback (RFC 6761), answered without a lookup.
#include "snow/net/resolver.hpp"

#include <doctest/doctest.h>

#include <chrono>

#include "snow/io/run.hpp"
#include "support/run_test.hpp"

using namespace snow;
using namespace std::chrono_literals;
using testing::run_test;

TEST_SUITE_BEGIN("net.resolver");

TEST_CASE("localhost and names under .localhost are loopback, without a lookup") {
    for (const char* name : {"localhost", "LocalHost.", "app.localhost", "a.b.localhost"}) {
        auto addresses = run_test(net::resolve(name, 8080));
        REQUIRE_MESSAGE(addresses.has_value(), name);
        REQUIRE(addresses->size() == 2);
        CHECK((*addresses)[0].to_string() == "127.0.0.1:8080");
        CHECK((*addresses)[1].to_string() == "[::1]:8080");
    }
}

TEST_SUITE_END();
