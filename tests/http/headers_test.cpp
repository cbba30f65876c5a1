// tests/http/headers_test.cpp: the owning headers list, the header_list view, and the small
// vocabulary around them: iequals, methods, status reason phrases and the "http" error category.
#include "snow/http/headers.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "snow/core/result.hpp"
#include "snow/http/errc.hpp"
#include "snow/http/grammar.hpp"
#include "snow/http/method.hpp"
#include "snow/http/status.hpp"

namespace {
using namespace snow::http;
using namespace std::string_view_literals;
using views = std::vector<std::string_view>;
} // namespace

TEST_SUITE_BEGIN("http.headers");

TEST_CASE("iequals compares ASCII case-insensitively and nothing else") {
    CHECK(iequals("Content-Length", "content-length"));
    CHECK(iequals("", ""));
    CHECK_FALSE(iequals("Host", "Hos"));
    CHECK_FALSE(iequals("a", "\xc1"));
    CHECK_FALSE(iequals("[", "{")); // differ by 0x20 but are not letters
}

TEST_CASE("headers keep insertion order and repeated fields") {
    headers h;
    CHECK(h.add("Accept", "text/html"));
    CHECK(h.add("X-Id", "1"));
    CHECK(h.add("accept", "application/json"));
    CHECK(h.size() == 3);
    CHECK(h.get("ACCEPT") == "text/html");
    CHECK(h.get_all("Accept") == views{"text/html", "application/json"});
    std::vector<header_field> seen(h.begin(), h.end());
    CHECK(seen == std::vector<header_field>{
                      {"Accept", "text/html"}, {"X-Id", "1"}, {"accept", "application/json"}});
}

TEST_CASE("set replaces every field of that name in the place of the first") {
    headers h{{"A", "1"}, {"B", "2"}, {"a", "3"}};
    CHECK(h.set("a", "9"));
    CHECK(h.size() == 2);
    std::vector<header_field> seen(h.begin(), h.end());
    CHECK(seen == std::vector<header_field>{{"a", "9"}, {"B", "2"}});
    CHECK(h.set("C", "new"));
    CHECK(h.get("c") == "new");
}

TEST_CASE("remove drops every field of that name and reports how many") {
    headers h{{"A", "1"}, {"B", "2"}, {"a", "3"}};
    CHECK(h.remove("A") == 2);
    CHECK(h.remove("A") == 0);
    CHECK_FALSE(h.contains("a"));
    CHECK(h.contains("b"));
    h.clear();
    CHECK(h.empty());
}

TEST_CASE("headers refuse names and values that could split the message") {
    headers h;
    CHECK_FALSE(h.add("Bad Name", "x"));
    CHECK_FALSE(h.add("", "x"));
    CHECK_FALSE(h.add("X", "a\r\nInjected: yes"));
    CHECK_FALSE(h.add("X", "nul\0byte"sv));
    CHECK_FALSE(h.add("X", " padded"));
    CHECK_FALSE(h.set("X", "line\nbreak"));
    CHECK(h.empty());
    CHECK(h.add("X", "tab\tinside and caf\xc3\xa9"));
    CHECK(h.add("X-Empty", ""));
    headers from_list{{"Good", "1"}, {"Bad:", "2"}};
    CHECK(from_list.size() == 1);
}

TEST_CASE("the helpers' Content-Type fields are accepted, and look-alikes still checked") {
    // add() knows these constants by their bytes; the same lengths with a bad byte are not
    // mistaken for them.
    headers h;
    CHECK(h.add("Content-Type", "text/plain; charset=utf-8"));
    CHECK(h.add("Content-Type", "text/html; charset=utf-8"));
    CHECK(h.add("Content-Type", "application/json"));
    CHECK(h.size() == 3);
    CHECK_FALSE(h.add("Content-Typ\n", "x"));
    CHECK_FALSE(h.add("X", "text/plain; charset=utf\r\n"));
    CHECK_FALSE(h.add("X", "text/html; charset=utf-\n"));
    CHECK_FALSE(h.add("X", "application/jso\0"sv));
    CHECK(h.size() == 3);
}

TEST_CASE("headers past the inline ones, copied and moved, keep their fields") {
    // The first three fields live in the object, more move it all to the heap; a copy or a
    // move of either kind keeps every field, constants (Content-Type) and owned bytes alike.
    auto fields_of = [](const headers& h) { return std::vector<header_field>(h.begin(), h.end()); };
    headers few{{"Content-Type", "text/plain; charset=utf-8"}, {"A", "1"}};
    headers many;
    for (int i = 0; i < 9; ++i) CHECK(many.add("X-" + std::to_string(i), std::string(40, 'a' + i)));
    CHECK(many.add("Content-Type", "application/json"));
    CHECK(many.size() == 10);
    CHECK(many.get("x-8") == std::string(40, 'i'));
    const auto few_fields = fields_of(few);
    const std::vector<std::string> many_names = [&] {
        std::vector<std::string> names;
        for (header_field f : many) names.emplace_back(f.name);
        return names;
    }();
    for (headers* source : {&few, &many}) {
        const std::size_t size = source->size();
        headers copy = *source;
        CHECK(copy.size() == size);
        headers moved = std::move(copy);
        CHECK(moved.size() == size);
        CHECK(copy.empty()); // NOLINT(bugprone-use-after-move): a moved-from list is empty
        headers assigned{{"Old", "x"}};
        assigned = moved;
        CHECK(fields_of(assigned) == fields_of(*source));
        assigned = std::move(moved);
        CHECK(fields_of(assigned) == fields_of(*source));
        CHECK(assigned.get("content-type").has_value());
    }
    CHECK(fields_of(few) == few_fields);
    CHECK(many.remove("X-3") == 1);
    CHECK(many.set("x-0", "first"));
    CHECK(many.size() == 9);
    CHECK(many.get("X-0") == "first");
    CHECK(many.get("X-4") == std::string(40, 'e'));
    CHECK(std::string((*many.begin()).name) == "x-0");
    CHECK(many_names.size() == 10);
    many.clear();
    CHECK(many.empty());
    CHECK(many.add("Y", "again"));
    CHECK(many.get("y") == "again");
}

TEST_CASE("is_token and is_field_value follow RFC 9110") {
    CHECK(is_token("!#$%&'*+-.^_`|~0aZ"));
    CHECK_FALSE(is_token("a,b"));
    CHECK_FALSE(is_token(""));
    CHECK(is_field_value(""));
    CHECK(is_field_value("a b\tc\x80"));
    CHECK_FALSE(is_field_value("a\x7f"));
    CHECK_FALSE(is_field_value("a "));
}

TEST_CASE("is_field_value agrees with the byte-wise rule for every byte at every place") {
    // The check looks at eight bytes at a time: each byte value is planted at each position
    // of values from 1 to 24 bytes, so it is seen in a word, in the tail, and at both ends.
    for (std::size_t length = 1; length <= 24; ++length) {
        for (std::size_t at = 0; at < length; ++at) {
            for (int byte = 0; byte < 256; ++byte) {
                std::string value(length, 'v');
                value[at] = static_cast<char>(byte);
                const char c = value[at];
                const bool expected =
                    is_field_char(c) && !((at == 0 || at == length - 1) && (c == ' ' || c == '\t'));
                if (is_field_value(value) != expected) {
                    FAIL_CHECK("byte " << byte << " at " << at << " of " << length);
                    return;
                }
            }
        }
    }
    CHECK(is_field_value("text/plain; charset=utf-8, and more than twenty-four bytes"));
    CHECK_FALSE(is_field_value("text/plain; charset=utf-8\r\nSet-Cookie: a=1"));
}

TEST_CASE("a header_list views fields it does not own") {
    const header_field fields[] = {{"Host", "x"}, {"Cookie", "a=1"}, {"cookie", "b=2"}};
    header_list list(fields);
    CHECK(list.size() == 3);
    CHECK(list.get("host") == "x");
    CHECK(list.get_all("COOKIE") == views{"a=1", "b=2"});
    CHECK_FALSE(list.contains("Accept"));
    CHECK(header_list{}.empty());
}

TEST_CASE("methods parse case-sensitively and print back") {
    for (auto m : {method::get, method::head, method::post, method::put, method::delete_,
                   method::connect, method::options, method::trace, method::patch})
        CHECK(parse_method(to_string(m)) == m);
    CHECK(parse_method("get") == method::other);
    CHECK(parse_method("GETS") == method::other);
    CHECK(to_string(method::other).empty());
}

TEST_CASE("reason phrases cover the registered codes") {
    CHECK(reason_phrase(200) == "OK");
    CHECK(reason_phrase(status::not_found) == "Not Found");
    CHECK(reason_phrase(431) == "Request Header Fields Too Large");
    CHECK(reason_phrase(status::content_too_large) == "Content Too Large");
    CHECK(reason_phrase(599).empty());
    for (int code = 100; code < 600; ++code)
        if (!reason_phrase(code).empty())
            CHECK(reason_phrase(code).find('\r') == std::string_view::npos);
}

TEST_CASE("http errors are error codes of the http category") {
    std::error_code ec = errc::obs_fold;
    CHECK(ec.category().name() == std::string("http"));
    CHECK(ec.message() == "obsolete line folding");
    // Doubled parentheses: doctest cannot print an error_code without <ostream>.
    CHECK((ec == errc::obs_fold));
    CHECK((ec == std::errc::bad_message));
    CHECK((std::error_code(errc::header_too_large) == std::errc::message_size));
    snow::result<int> r = errc::missing_host;
    CHECK((r.error() == errc::missing_host));
    for (int e = 1; e <= static_cast<int>(errc::unexpected_eof); ++e)
        CHECK(make_error_code(static_cast<errc>(e)).message() != "unknown http error");
}

TEST_CASE("each parse error maps to the status a server answers") {
    CHECK(status_for(errc::obs_fold) == 400);
    CHECK(status_for(errc::missing_host) == 400);
    CHECK(status_for(errc::content_length_with_transfer_encoding) == 400);
    CHECK(status_for(errc::uri_too_long) == 414);
    CHECK(status_for(errc::header_too_large) == 431);
    CHECK(status_for(errc::too_many_headers) == 431);
    CHECK(status_for(errc::body_too_large) == 413);
    CHECK(status_for(errc::unsupported_transfer_coding) == 501);
    CHECK(status_for(errc::unsupported_version) == 505);
    CHECK(status_for(errc::malformed_status_line) == 502);
}

TEST_SUITE_END();
