// tests/net/resolver_test.cpp: name resolution without the network: localhost and names under
// .localhost are loopback (RFC 6761), answered without a lookup; other names go to a DNS
// server the test runs on loopback, one of whose names is never answered.
#include "snow/net/resolver.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <optional>

#include "snow/core/task_group.hpp"
#include "snow/core/when_all.hpp"
#include "snow/io/clock.hpp"
#include "snow/io/run.hpp"
#include "support/dns_server.hpp"
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

namespace {

testing::dns_server::record fast_record(std::uint32_t ttl = 60) {
    return {.ipv4 = {127, 0, 0, 1},
            .ipv6 = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
            .ttl = ttl,
            .silent = false};
}

struct timed_lookup {
    std::optional<result<std::vector<net::address>>> answer;
    io::clock::duration took{};
};

task<void> timed(std::string name, timed_lookup& out) {
    const auto start = io::clock::now();
    out.answer.emplace(co_await net::resolve(std::move(name), 80));
    out.took = io::clock::now() - start;
}

} // namespace

TEST_CASE(
    "a name the server never answers fails with resolve_timeout; another resolves meanwhile") {
    struct seen {
        timed_lookup slow;
        timed_lookup fast;
    };
    auto s = run_test([]() -> task<seen> {
        testing::dns_server dns;
        dns.add("fast.test", fast_record());
        dns.add("slow.test", {.ipv4 = {}, .ipv6 = {}, .ttl = 60, .silent = true});
        REQUIRE(
            net::configure_resolver({.servers = {dns.address()}, .timeout = 400ms, .tries = 1}));
        task_group server;
        server.spawn(dns.serve());
        seen out;
        co_await when_all(timed("slow.test", out.slow), timed("fast.test", out.fast));
        server.cancel();
        co_await server.join();
        co_return out;
    }());
    REQUIRE(s.fast.answer.has_value());
    REQUIRE(s.fast.answer->has_value());
    CHECK((*s.fast.answer)->size() == 2); // the A and the AAAA answer
    REQUIRE(s.slow.answer.has_value());
    REQUIRE_FALSE(s.slow.answer->has_value());
    CHECK(s.slow.answer->error() == errc::resolve_timeout);
    CHECK(s.slow.answer->error().message() == "name servers did not answer in time");
    CHECK(s.slow.took >= 400ms);
    CHECK(s.fast.took < s.slow.took); // the fast name did not wait behind the slow one
}

TEST_CASE(
    "lookups of one name share a query, its answer is cached for the TTL, and NXDOMAIN fails") {
    struct seen {
        std::uint64_t after_shared = 0;
        std::uint64_t after_cached = 0;
        std::uint64_t after_uncached = 0;
        std::size_t server_questions = 0;
        std::error_code unknown;
        bool all_ok = true;
    };
    auto s = run_test([]() -> task<seen> {
        testing::dns_server dns;
        dns.add("cached.test", fast_record(60));
        dns.add("fresh.test", fast_record(0));
        REQUIRE(net::configure_resolver({.servers = {dns.address()}, .timeout = 2s, .tries = 1}));
        task_group server;
        server.spawn(dns.serve());
        seen out;
        timed_lookup a;
        timed_lookup b;
        co_await when_all(timed("cached.test", a), timed("cached.test", b));
        out.after_shared = net::resolver_queries_sent();
        timed_lookup c;
        co_await timed("cached.test", c);
        out.after_cached = net::resolver_queries_sent();
        timed_lookup d;
        timed_lookup e;
        co_await timed("fresh.test", d); // TTL 0: never cached
        co_await timed("fresh.test", e);
        out.after_uncached = net::resolver_queries_sent();
        out.server_questions = dns.questions("cached.test");
        for (auto* l : {&a, &b, &c, &d, &e})
            out.all_ok =
                out.all_ok && l->answer && l->answer->has_value() && (*l->answer)->size() == 2;
        auto unknown = co_await net::resolve("unknown.test", 80);
        out.unknown = unknown ? std::error_code{} : unknown.error();
        server.cancel();
        co_await server.join();
        co_return out;
    }());
    CHECK(s.all_ok);
    CHECK(s.after_shared == 1);
    CHECK(s.after_cached == 1);
    CHECK(s.after_uncached == 3);
    CHECK(s.server_questions == 2); // one A and one AAAA question, for three lookups
    CHECK(s.unknown == errc::resolve_failed);
}

TEST_SUITE_END();
