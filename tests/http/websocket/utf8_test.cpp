// tests/http/websocket/utf8_test.cpp: the UTF-8 validator on the classic cases (valid
// multibyte text, overlongs, surrogates, code points past U+10FFFF, truncation), fed whole
// and split at every byte, as a text message's fragments may be.
#include "snow/http/websocket/utf8.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

using snow::http::ws::is_valid_utf8;
using snow::http::ws::utf8_validator;

TEST_SUITE_BEGIN("http.websocket");

namespace {
/// The verdict on `text` fed in two pieces cut at `at`.
bool valid_split_at(std::string_view text, std::size_t at) {
    utf8_validator v;
    const bool first = v.feed(text.substr(0, at));
    const bool second = v.feed(text.substr(at));
    return first && second && v.complete();
}

void check_everywhere(std::string_view text, bool valid) {
    CAPTURE(text);
    CHECK(is_valid_utf8(text) == valid);
    for (std::size_t at = 0; at <= text.size(); ++at) {
        CAPTURE(at);
        CHECK(valid_split_at(text, at) == valid);
    }
}
} // namespace

TEST_CASE("valid UTF-8 passes, whole and split at every byte") {
    check_everywhere("", true);
    check_everywhere("Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!",
                     true);
    check_everywhere("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", true); // κόσμε
    check_everywhere("\xf0\x9f\x98\x80 and plain ASCII long enough for a word or two", true);
    // The boundaries of each sequence length.
    check_everywhere("\x7f", true);
    check_everywhere("\xc2\x80", true);         // U+0080
    check_everywhere("\xdf\xbf", true);         // U+07FF
    check_everywhere("\xe0\xa0\x80", true);     // U+0800
    check_everywhere("\xed\x9f\xbf", true);     // U+D7FF, just below the surrogates
    check_everywhere("\xee\x80\x80", true);     // U+E000, just above them
    check_everywhere("\xef\xbf\xbf", true);     // U+FFFF
    check_everywhere("\xf0\x90\x80\x80", true); // U+10000
    check_everywhere("\xf4\x8f\xbf\xbf", true); // U+10FFFF, the last code point
}

TEST_CASE("overlong forms are refused") {
    check_everywhere("\xc0\xaf", false); // '/' in two bytes
    check_everywhere("\xc1\xbf", false);
    check_everywhere("\xe0\x80\xaf", false);     // '/' in three
    check_everywhere("\xe0\x9f\xbf", false);     // U+07FF in three
    check_everywhere("\xf0\x80\x80\xaf", false); // '/' in four
    check_everywhere("\xf0\x8f\xbf\xbf", false); // U+FFFF in four
}

TEST_CASE("surrogates and code points past U+10FFFF are refused") {
    check_everywhere("\xed\xa0\x80", false);             // U+D800
    check_everywhere("\xed\xbf\xbf", false);             // U+DFFF
    check_everywhere("\xed\xa0\x80\xed\xb0\x80", false); // a surrogate pair, CESU-8 style
    check_everywhere("\xf4\x90\x80\x80", false);         // U+110000
    check_everywhere("\xf5\x80\x80\x80", false);
    check_everywhere("\xff", false);
    check_everywhere("\xfe", false);
}

TEST_CASE("stray continuations and truncated sequences are refused") {
    check_everywhere("\x80", false);
    check_everywhere("a\xbf"
                     "b",
                     false);
    check_everywhere("\xc2", false); // truncated at the end
    check_everywhere("\xe2\x82", false);
    check_everywhere("\xf0\x9f\x98", false);
    check_everywhere("\xe2\x82"
                     "a",
                     false); // interrupted by ASCII
    check_everywhere("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"
                     "edited",
                     false);
}

TEST_CASE("a bad byte fails at once, before the text's end, and the failure sticks") {
    utf8_validator v;
    CHECK(v.feed(std::string_view("ok so far ")));
    CHECK_FALSE(v.feed(std::string_view("\xc0")));
    CHECK(v.failed());
    CHECK_FALSE(v.feed(std::string_view("fine again")));
    CHECK_FALSE(v.complete());
    v.reset();
    CHECK(v.feed(std::string_view("fine again")));
    CHECK(v.complete());
}

TEST_CASE("a code point cut across pieces is incomplete until its last byte arrives") {
    utf8_validator v;
    CHECK(v.feed(std::string_view("\xf0\x9f")));
    CHECK_FALSE(v.complete());
    CHECK(v.feed(std::string_view("\x98")));
    CHECK_FALSE(v.complete());
    CHECK(v.feed(std::string_view("\x80")));
    CHECK(v.complete());
}

TEST_SUITE_END();
