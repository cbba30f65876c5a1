// tests/http/query_test.cpp: percent-decoding and query-string splitting.
#include "snow/http/query.hpp"

#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

namespace {
using namespace snow::http;
using pairs = std::vector<std::pair<std::string, std::string>>;
} // namespace

TEST_SUITE_BEGIN("http.query");

TEST_CASE("percent-escapes decode to their bytes") {
    CHECK(percent_decode("caf%C3%A9") == "caf\xc3\xa9");
    CHECK(percent_decode("%7euser%2Fname") == "~user/name");
    CHECK(percent_decode("a%00b") == std::string("a\0b", 3));
    CHECK(percent_decode("") == "");
}

TEST_CASE("plus means space only when asked") {
    CHECK(percent_decode("a+b") == "a+b");
    CHECK(percent_decode("a+b", true) == "a b");
    CHECK(percent_decode("a%2Bb", true) == "a+b");
}

TEST_CASE("a malformed escape makes percent_decode fail") {
    CHECK_FALSE(percent_decode("%").has_value());
    CHECK_FALSE(percent_decode("a%4").has_value());
    CHECK_FALSE(percent_decode("%zz").has_value());
    CHECK_FALSE(percent_decode("100%").has_value());
}

TEST_CASE("a query splits into decoded pairs in order") {
    CHECK(parse_query("q=snow+flake&lang=en&q=2") ==
          pairs{{"q", "snow flake"}, {"lang", "en"}, {"q", "2"}});
    CHECK(parse_query("k%20ey=v%3Dal") == pairs{{"k ey", "v=al"}});
}

TEST_CASE("pairs without a value, empty pairs and bad escapes are handled like browsers do") {
    CHECK(parse_query("flag&&x=&=y&") == pairs{{"flag", ""}, {"x", ""}, {"", "y"}});
    CHECK(parse_query("p=100%&q=%zz") == pairs{{"p", "100%"}, {"q", "%zz"}});
    CHECK(parse_query("").empty());
    CHECK(parse_query("a=b=c") == pairs{{"a", "b=c"}});
}

TEST_SUITE_END();
