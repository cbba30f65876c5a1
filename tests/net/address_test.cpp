// tests/net/address_test.cpp: parsing and printing socket addresses.
#include "snow/net/address.hpp"

#include <doctest/doctest.h>

using snow::net::address;

TEST_SUITE_BEGIN("net.address");

TEST_CASE("an IPv4 address with port parses and prints back") {
    auto a = address::parse("127.0.0.1:8080");
    REQUIRE(a.has_value());
    CHECK_FALSE(a->is_ipv6());
    CHECK(a->port() == 8080);
    CHECK(a->ip() == "127.0.0.1");
    CHECK(fmt::format("{}", *a) == "127.0.0.1:8080");
}

TEST_CASE("a bracketed IPv6 address with port parses and prints back") {
    auto a = address::parse("[::1]:80");
    REQUIRE(a.has_value());
    CHECK(a->is_ipv6());
    CHECK(a->port() == 80);
    CHECK(a->to_string() == "[::1]:80");
}

TEST_CASE("malformed addresses are rejected with invalid_address") {
    for (const char* bad :
         {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "1.2.3:80", "::1:80", "[::1]80",
          "[::1]", "[127.0.0.1]:80", "host:80", "127.0.0.1:80x", "127.0.0.1:-1"}) {
        CAPTURE(bad);
        auto a = address::parse(bad);
        REQUIRE_FALSE(a.has_value());
        CHECK(a.error() == snow::errc::invalid_address);
    }
}

TEST_CASE("addresses compare by family, host and port") {
    CHECK(*address::parse("127.0.0.1:1") == address::ipv4_loopback(1));
    CHECK_FALSE(*address::parse("127.0.0.1:1") == address::ipv4_loopback(2));
    CHECK(*address::parse("[::1]:9") == address::ipv6_loopback(9));
}

TEST_SUITE_END();
