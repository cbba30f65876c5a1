// tests/http/json_test.cpp: JSON string literals: escapes, and the two policies for bytes
// outside ASCII (UTF-8 kept or replaced; Latin-1 escapes that keep every byte).
#include "snow/http/json.hpp"

#include <doctest/doctest.h>

#include <string>

using snow::http::append_json_string;
using snow::http::json_bytes;

TEST_SUITE_BEGIN("http.json");

namespace {
std::string literal(std::string_view text, json_bytes policy = json_bytes::utf8) {
    std::string out;
    append_json_string(out, text, policy);
    return out;
}
} // namespace

TEST_CASE("quotes, backslashes and control characters are escaped") {
    CHECK(literal("a\"b\\c\nd\re\tf\x01") == R"("a\"b\\c\nd\re\tf\u0001")");
    CHECK(literal("") == R"("")");
    CHECK(literal("\x7f") == R"("\u007f")");
}

TEST_CASE("valid UTF-8 is kept and any other byte becomes U+FFFD") {
    CHECK(literal("caf\xc3\xa9") == "\"caf\xc3\xa9\"");
    CHECK(literal("\xff") == R"("\ufffd")");
    CHECK(literal("\xc0\xaf") == R"("\ufffd\ufffd")");           // overlong
    CHECK(literal("\xed\xa0\x80") == R"("\ufffd\ufffd\ufffd")"); // a surrogate
    CHECK(literal("\xe2\x82") == R"("\ufffd\ufffd")");           // cut short
}

TEST_CASE("the Latin-1 policy escapes every byte outside ASCII, so none is lost") {
    CHECK(literal("caf\xc3\xa9", json_bytes::latin1) == R"("caf\u00c3\u00a9")");
    CHECK(literal("\xff\"", json_bytes::latin1) == R"("\u00ff\"")");
}

TEST_SUITE_END();
