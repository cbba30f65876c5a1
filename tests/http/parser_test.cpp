// tests/http/parser_test.cpp: request_parser and response_parser, field by field: what a head
// parses into, the keep-alive and framing decisions, limits, leniencies and the incremental
// contract.
#include "snow/http/parser.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "http/guarded_buffer.hpp"
#include "snow/http/grammar.hpp"

namespace {

using namespace snow::http;
using namespace std::string_view_literals;
using snow::test::guarded_buffer;

// Parses `text` in one call, placed against a guard page.
parse_result parse_request(std::string_view text, request_head& head, parser_limits limits = {},
                           parser_leniency leniency = {}) {
    static guarded_buffer arena(256 * 1024);
    request_parser parser(limits, leniency);
    return parser.parse(arena.place_view(text), head);
}

parse_result parse_response(std::string_view text, response_head& head,
                            method request_method = method::get, parser_limits limits = {}) {
    static guarded_buffer arena(256 * 1024);
    response_parser parser(limits);
    return parser.parse(arena.place_view(text), head, request_method);
}

errc request_error(std::string_view text, parser_limits limits = {},
                   parser_leniency leniency = {}) {
    request_head head;
    auto r = parse_request(text, head, limits, leniency);
    REQUIRE(r.failed());
    return r.error();
}

} // namespace

TEST_SUITE_BEGIN("http.parser");

TEST_CASE("a GET parses into method, target, path, query, version and fields") {
    request_head head;
    const auto text =
        "GET /search?q=snow&n=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n"sv;
    auto r = parse_request(text, head);
    REQUIRE(r.complete());
    CHECK(r.consumed() == text.size());
    CHECK(head.method == method::get);
    CHECK(head.method_name == "GET");
    CHECK(head.target == "/search?q=snow&n=1");
    CHECK(head.path == "/search");
    CHECK(head.query == "q=snow&n=1");
    CHECK(head.version_minor == 1);
    REQUIRE(head.fields.size() == 2);
    CHECK(head.fields[0] == header_field{"Host", "example.com"});
    CHECK(head.fields[1] == header_field{"Accept", "*/*"});
    CHECK(head.body == body_framing{body_kind::none, 0});
    CHECK(head.keep_alive);
    CHECK_FALSE(head.expect_continue);
}

TEST_CASE("only the first question mark splits path from query") {
    request_head head;
    REQUIRE(parse_request("GET /a?b?c HTTP/1.1\r\nHost: x\r\n\r\n", head).complete());
    CHECK(head.path == "/a");
    CHECK(head.query == "b?c");
    REQUIRE(parse_request("GET /a? HTTP/1.1\r\nHost: x\r\n\r\n", head).complete());
    CHECK(head.path == "/a");
    CHECK(head.query.empty());
}

TEST_CASE("an unknown method keeps its spelling and methods are case-sensitive") {
    request_head head;
    REQUIRE(parse_request("PURGE / HTTP/1.1\r\nHost: x\r\n\r\n", head).complete());
    CHECK(head.method == method::other);
    CHECK(head.method_name == "PURGE");
    REQUIRE(parse_request("get / HTTP/1.1\r\nHost: x\r\n\r\n", head).complete());
    CHECK(head.method == method::other);
    REQUIRE(parse_request("DELETE /x HTTP/1.1\r\nHost: x\r\n\r\n", head).complete());
    CHECK(head.method == method::delete_);
}

TEST_CASE("the four request-target forms are told apart") {
    request_head head;
    SUBCASE("absolute-form keeps the path after the authority") {
        REQUIRE(parse_request("GET http://example.com:8080/a/b?c HTTP/1.1\r\nHost: x\r\n\r\n", head)
                    .complete());
        CHECK(head.target == "http://example.com:8080/a/b?c");
        CHECK(head.path == "/a/b");
        CHECK(head.query == "c");
    }
    SUBCASE("absolute-form without a path has an empty path") {
        REQUIRE(
            parse_request("GET http://example.com HTTP/1.1\r\nHost: x\r\n\r\n", head).complete());
        CHECK(head.path.empty());
    }
    SUBCASE("authority-form only with CONNECT") {
        REQUIRE(parse_request("CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n", head)
                    .complete());
        CHECK(head.method == method::connect);
        CHECK(head.target == "[::1]:443");
        CHECK(head.path.empty());
        CHECK(request_error("GET example.com HTTP/1.1\r\nHost: x\r\n\r\n") == errc::invalid_target);
    }
    SUBCASE("asterisk-form only with OPTIONS") {
        REQUIRE(parse_request("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", head).complete());
        CHECK(head.path == "*");
        CHECK(request_error("DELETE * HTTP/1.1\r\nHost: x\r\n\r\n") == errc::invalid_target);
    }
}

TEST_CASE("field values lose surrounding whitespace but keep inner whitespace") {
    request_head head;
    REQUIRE(parse_request("GET / HTTP/1.1\r\nHost:  x \r\nX: \t a \t b \t\r\nY:\r\n\r\n", head)
                .complete());
    REQUIRE(head.fields.size() == 3);
    CHECK(head.fields[0].value == "x");
    CHECK(head.fields[1].value == "a \t b");
    CHECK(head.fields[2].value.empty());
}

TEST_CASE("field lookups ignore case and keep repeated fields in order") {
    request_head head;
    REQUIRE(
        parse_request("GET / HTTP/1.1\r\nHost: x\r\naccept: a\r\nX: 1\r\nACCEPT: b\r\n\r\n", head)
            .complete());
    auto fields = head.headers();
    CHECK(fields.size() == 4);
    CHECK(fields.get("Accept") == "a");
    CHECK(fields.get_all("accept") == std::vector<std::string_view>{"a", "b"});
    CHECK(fields.contains("HOST"));
    CHECK_FALSE(fields.get("Missing").has_value());
}

TEST_CASE("keep-alive follows the version and the Connection options") {
    struct example {
        std::string_view head;
        bool keep_alive;
    };
    const example examples[] = {
        {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", true},
        {"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false},
        {"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, CLOSE\r\n\r\n", false},
        {"GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", false},
        {"GET / HTTP/1.0\r\n\r\n", false},
        {"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true},
        {"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false},
        {"GET / HTTP/1.0\r\nKeep-Alive: 115\r\n\r\n", false},
        {"GET / HTTP/1.9\r\nHost: x\r\n\r\n", true},
    };
    for (const auto& e : examples) {
        request_head head;
        INFO(e.head);
        REQUIRE(parse_request(e.head, head).complete());
        CHECK(head.keep_alive == e.keep_alive);
    }
}

TEST_CASE("Expect: 100-continue is reported for HTTP/1.1 only") {
    request_head head;
    REQUIRE(parse_request("PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\n"
                          "Content-Length: 3\r\n\r\n",
                          head)
                .complete());
    CHECK(head.expect_continue);
    REQUIRE(
        parse_request("PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n", head)
            .complete());
    CHECK_FALSE(head.expect_continue);
}

TEST_CASE("body framing comes from Content-Length or chunked Transfer-Encoding") {
    request_head head;
    REQUIRE(
        parse_request("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 42\r\n\r\n", head).complete());
    CHECK(head.body == body_framing{body_kind::content_length, 42});
    REQUIRE(parse_request("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 7, 7\r\n\r\n", head)
                .complete());
    CHECK(head.body == body_framing{body_kind::content_length, 7});
    REQUIRE(parse_request("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", head)
                .complete());
    CHECK(head.body.kind == body_kind::chunked);
    REQUIRE(parse_request("POST / HTTP/1.1\r\nHost: x\r\n\r\n", head).complete());
    CHECK(head.body.kind == body_kind::none);
}

TEST_CASE("consumed stops at the end of the head so the body and pipelined requests survive") {
    const auto text =
        "\r\nPOST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\n"
        "Host: x\r\n\r\n"sv;
    request_parser parser;
    request_head head;
    auto r = parser.parse(text, head);
    REQUIRE(r.complete());
    const auto head_size = text.find("abc");
    CHECK(r.consumed() == head_size);
    CHECK(head.path == "/a");
    auto rest = text.substr(r.consumed() + head.body.content_length);
    r = parser.parse(rest, head);
    REQUIRE(r.complete());
    CHECK(r.consumed() == rest.size());
    CHECK(head.path == "/b");
    CHECK(head.fields.size() == 1);
}

TEST_CASE("a head parsed into a reused request_head allocates nothing") {
    const auto text = "GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"sv;
    request_parser parser;
    request_head head;
    REQUIRE(parser.parse(text, head).complete());
    const auto* storage = head.fields.data();
    const auto capacity = head.fields.capacity();
    for (int i = 0; i < 10; ++i) {
        REQUIRE(parser.parse(text, head).complete());
        CHECK(head.fields.data() == storage);
        CHECK(head.fields.capacity() == capacity);
    }
}

TEST_CASE("a buffer that moves between calls yields views into the new buffer") {
    const std::string text = "POST /p?q HTTP/1.1\r\nHost: example.com\r\nX-Long: value\r\n\r\n";
    request_parser parser;
    request_head head;
    std::vector<std::string> copies; // every call sees a fresh allocation; the old ones die
    parse_result r = parse_result::need_more();
    for (std::size_t n = 1; n <= text.size(); ++n) {
        copies.clear();
        copies.push_back(text.substr(0, n));
        r = parser.parse(copies.back(), head);
        if (!r.incomplete()) break;
    }
    REQUIRE(r.complete());
    const std::string_view buffer = copies.back();
    CHECK(head.target.data() == buffer.data() + 5);
    CHECK(head.query == "q");
    REQUIRE(head.fields.size() == 2);
    CHECK(head.fields[0].name.data() == buffer.data() + buffer.find("Host"));
    CHECK(head.fields[1].value.data() == buffer.data() + buffer.find("value"));
}

TEST_CASE("a head longer than max_header_bytes is rejected before it ends") {
    const parser_limits limits{.max_header_bytes = 64};
    std::string text = "GET / HTTP/1.1\r\nHost: x\r\nX-Drip: ";
    request_parser parser(limits);
    request_head head;
    parse_result r = parse_result::need_more();
    while (r.incomplete()) {
        text += 'a';
        r = parser.parse(text, head);
    }
    REQUIRE(r.failed());
    CHECK(r.error() == errc::header_too_large);
    CHECK(text.size() == limits.max_header_bytes);
    CHECK(status_for(r.error()) == 431);
}

TEST_CASE("a head of exactly max_header_bytes is accepted") {
    const auto text = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"sv;
    request_head head;
    auto r = parse_request(text, head, {.max_header_bytes = text.size()});
    CHECK(r.complete());
    CHECK(request_error(text, {.max_header_bytes = text.size() - 1}) == errc::header_too_large);
}

TEST_CASE("a target longer than max_target_bytes is rejected before the line ends") {
    request_parser parser({.max_target_bytes = 16});
    request_head head;
    CHECK(parser.parse("GET /0123456789abcde", head).incomplete());
    auto r = parser.parse("GET /0123456789abcdef", head);
    REQUIRE(r.failed());
    CHECK(r.error() == errc::uri_too_long);
    CHECK(status_for(r.error()) == 414);
    request_head fits;
    CHECK(parse_request("GET /0123456789abcde HTTP/1.1\r\nHost: x\r\n\r\n", fits,
                        {.max_target_bytes = 16})
              .complete());
}

TEST_CASE("more fields than max_headers is rejected") {
    std::string text = "GET / HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 4; ++i) text += "X: y\r\n";
    text += "\r\n";
    request_head head;
    CHECK(parse_request(text, head, {.max_headers = 5}).complete());
    CHECK(request_error(text, {.max_headers = 4}) == errc::too_many_headers);
}

TEST_CASE("a Content-Length over max_body_bytes is rejected with the head") {
    CHECK(request_error("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n",
                        {.max_body_bytes = 10}) == errc::body_too_large);
    request_head head;
    CHECK(parse_request("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n", head, {}, {})
              .complete());
}

TEST_CASE("Content-Length of the largest 64-bit value parses and one more overflows") {
    const parser_limits unlimited{.max_body_bytes = std::size_t(-1)};
    request_head head;
    REQUIRE(
        parse_request("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551615\r\n\r\n",
                      head, unlimited)
            .complete());
    CHECK(head.body.content_length == 18446744073709551615u);
    CHECK(
        request_error("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551616\r\n\r\n",
                      unlimited) == errc::invalid_content_length);
}

TEST_CASE("leniencies are off by default and each relaxes only its rule") {
    SUBCASE("bare_lf") {
        const auto text = "GET / HTTP/1.1\nHost: x\n\n"sv;
        CHECK(request_error(text) == errc::bare_line_feed);
        request_head head;
        auto r = parse_request(text, head, {}, {.bare_lf = true});
        REQUIRE(r.complete());
        CHECK(r.consumed() == text.size());
        CHECK(head.fields[0].value == "x");
        CHECK(request_error("GET / HTTP/1.1\nHost: x\r\r\n", {}, {.bare_lf = true}) ==
              errc::bare_carriage_return);
    }
    SUBCASE("missing_host") {
        const auto text = "GET / HTTP/1.1\r\n\r\n"sv;
        CHECK(request_error(text) == errc::missing_host);
        request_head head;
        CHECK(parse_request(text, head, {}, {.missing_host = true}).complete());
        CHECK(request_error("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", {},
                            {.missing_host = true}) == errc::duplicate_host);
    }
    SUBCASE("any_target_chars") {
        const auto text = "GET /{a}|b\xc3\xa9%zz?x=\"y\" HTTP/1.1\r\nHost: x\r\n\r\n"sv;
        CHECK(request_error(text) == errc::invalid_target);
        request_head head;
        REQUIRE(parse_request(text, head, {}, {.any_target_chars = true}).complete());
        CHECK(head.path == "/{a}|b\xc3\xa9%zz");
        CHECK(head.query == "x=\"y\"");
        CHECK(request_error("GET /a\x01 HTTP/1.1\r\nHost: x\r\n\r\n", {},
                            {.any_target_chars = true}) == errc::invalid_target);
    }
}

TEST_CASE("every byte at every place of a long field name is judged as is_tchar judges it") {
    // A guard for faster name scanning (several bytes at a time): what it must keep exact.
    for (int byte = 0; byte < 256; ++byte) {
        for (std::size_t at = 0; at < 20; ++at) {
            std::string name(20, 'n');
            name[at] = static_cast<char>(byte);
            request_head head;
            const auto text = "GET / HTTP/1.1\r\nHost: x\r\n" + name + ": v\r\n\r\n";
            const auto r = parse_request(text, head);
            const bool read_whole =
                r.complete() && head.fields.size() == 2 && head.fields[1].name == name;
            if (read_whole != is_tchar(static_cast<char>(byte))) {
                FAIL_CHECK("byte " << byte << " at " << at << " judged otherwise");
            }
        }
    }
}

TEST_CASE("a few leading empty lines are skipped and counted in consumed") {
    const auto text = "\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"sv;
    request_head head;
    auto r = parse_request(text, head);
    REQUIRE(r.complete());
    CHECK(r.consumed() == text.size());
    CHECK(head.method_name == "GET");
}

TEST_CASE("a failed parse leaves the parser ready for a new message") {
    request_parser parser;
    request_head head;
    auto r = parser.parse("GET / HTTP/1.1\r\nHost : x\r\n\r\n", head);
    REQUIRE(r.failed());
    CHECK(r.error() == errc::whitespace_before_colon);
    CHECK((r.error_code() == errc::whitespace_before_colon));
    CHECK(parser.parse("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n", head).complete());
    CHECK(head.path == "/ok");
}

TEST_CASE("reset forgets a half-parsed head") {
    request_parser parser;
    request_head head;
    CHECK(parser.parse("GET /first HTTP/1.1\r\nHo", head).incomplete());
    parser.reset();
    REQUIRE(parser.parse("GET /second HTTP/1.1\r\nHost: x\r\n\r\n", head).complete());
    CHECK(head.path == "/second");
    CHECK(head.fields.size() == 1);
}

TEST_CASE("truncated heads at every length need more bytes and never read past the end") {
    const auto text =
        "POST /a%20b?c=d HTTP/1.1\r\nHost: [::1]:80\r\nX-Long: 0123456789abcdef0123456789\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"sv;
    guarded_buffer arena;
    for (std::size_t n = 0; n < text.size(); ++n) {
        request_parser parser;
        request_head head;
        INFO("length ", n);
        CHECK(parser.parse(arena.place_view(text.substr(0, n)), head).incomplete());
    }
}

TEST_CASE("a response head parses into version, status, reason and framing") {
    response_head head;
    const auto text = "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nX: y\r\n\r\n"sv;
    auto r = parse_response(text, head);
    REQUIRE(r.complete());
    CHECK(r.consumed() == text.size());
    CHECK(head.version_minor == 1);
    CHECK(head.status == 404);
    CHECK(head.reason == "Not Found");
    CHECK(head.body == body_framing{body_kind::content_length, 9});
    CHECK(head.keep_alive);
    CHECK_FALSE(head.interim());
    CHECK(head.headers().get("x") == "y");
}

TEST_CASE("responses without a body are recognised whatever their fields say") {
    response_head head;
    REQUIRE(parse_response("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", head, method::head)
                .complete());
    CHECK(head.body.kind == body_kind::none);
    CHECK(head.keep_alive);
    REQUIRE(parse_response("HTTP/1.1 204 No Content\r\n\r\n", head).complete());
    CHECK(head.body.kind == body_kind::none);
    REQUIRE(parse_response("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", head)
                .complete());
    CHECK(head.body.kind == body_kind::none);
    REQUIRE(parse_response("HTTP/1.1 200 Connection established\r\n\r\n", head, method::connect)
                .complete());
    CHECK(head.body.kind == body_kind::none);
    REQUIRE(parse_response("HTTP/1.1 407 Proxy Auth\r\nContent-Length: 2\r\n\r\n", head,
                           method::connect)
                .complete());
    CHECK(head.body == body_framing{body_kind::content_length, 2});
}

TEST_CASE("a 1xx response is interim and the next head follows it") {
    const auto text =
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"sv;
    response_parser parser;
    response_head head;
    auto r = parser.parse(text, head);
    REQUIRE(r.complete());
    CHECK(head.interim());
    CHECK(head.status == 100);
    CHECK(head.body.kind == body_kind::none);
    r = parser.parse(text.substr(r.consumed()), head);
    REQUIRE(r.complete());
    CHECK(head.status == 201);
    CHECK_FALSE(head.interim());
}

TEST_CASE("a response without a length is read until close and ends the connection") {
    response_head head;
    REQUIRE(parse_response("HTTP/1.1 200 OK\r\n\r\n", head).complete());
    CHECK(head.body.kind == body_kind::until_close);
    CHECK_FALSE(head.keep_alive);
    REQUIRE(parse_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", head).complete());
    CHECK(head.body.kind == body_kind::until_close);
    REQUIRE(parse_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", head)
                .complete());
    CHECK(head.body.kind == body_kind::chunked);
}

TEST_CASE("an HTTP/1.0 response keeps the connection only when it says keep-alive") {
    response_head head;
    REQUIRE(parse_response("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", head).complete());
    CHECK(head.version_minor == 0);
    CHECK_FALSE(head.keep_alive);
    REQUIRE(parse_response("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
                           head)
                .complete());
    CHECK(head.keep_alive);
    REQUIRE(
        parse_response("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", head)
            .complete());
    CHECK_FALSE(head.keep_alive);
}

TEST_CASE("a status line without a reason phrase is accepted") {
    response_head head;
    REQUIRE(parse_response("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", head).complete());
    CHECK(head.status == 200);
    CHECK(head.reason.empty());
}

TEST_CASE("response errors map to 502 for a gateway") {
    response_head head;
    auto r = parse_response("HTTP/1.1 20x OK\r\n\r\n", head);
    REQUIRE(r.failed());
    CHECK(r.error() == errc::invalid_status_code);
    CHECK(status_for(r.error()) == 502);
}

TEST_SUITE_END();
