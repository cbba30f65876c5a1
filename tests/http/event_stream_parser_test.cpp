// tests/http/event_stream_parser_test.cpp: the text/event-stream parser against the WHATWG
// parsing rules, each stream fed whole, a byte at a time and in every other piece size, so a
// line, a CRLF or the BOM split anywhere parses the same; its limits; and the round trip from
// the server's format_event.
#include "snow/http/event_stream_parser.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "snow/http/server/event_stream.hpp"

using namespace snow;
using namespace std::chrono_literals;
using http::event_stream_errc;
using http::event_stream_parser;

TEST_SUITE_BEGIN("http.protocol");

namespace {

/// A dispatched event, copied out of the parser.
struct seen {
    std::string type;
    std::string data;
    std::string id;
    bool operator==(const seen&) const = default;
};

/// What a whole stream parses to.
struct outcome {
    std::vector<seen> events;
    std::error_code error;
    std::string last_event_id;
    std::optional<std::chrono::milliseconds> retry;
    bool operator==(const outcome&) const = default;
};

outcome parse_in_pieces(std::string_view stream, std::size_t piece,
                        http::event_stream_limits limits = {}) {
    event_stream_parser parser(limits);
    outcome out;
    for (std::size_t at = 0; at < stream.size() && !out.error; at += piece) {
        std::string_view input = stream.substr(at, piece);
        while (!input.empty()) {
            auto parsed = parser.parse(input);
            if (!parsed) {
                out.error = parsed.error();
                break;
            }
            if (!*parsed) {
                CHECK(input.empty()); // nothing dispatched: the whole piece was taken
                break;
            }
            const http::parsed_event& e = **parsed;
            out.events.push_back({std::string(e.type), std::string(e.data), std::string(e.id)});
        }
    }
    out.last_event_id = parser.last_event_id();
    out.retry = parser.retry();
    return out;
}

/// Parses `stream` whole, then in every piece size down to a byte at a time; every split must
/// give what the whole stream gives, which is returned.
outcome parse_every_way(std::string_view stream, http::event_stream_limits limits = {}) {
    const outcome whole = parse_in_pieces(stream, std::max<std::size_t>(stream.size(), 1), limits);
    for (std::size_t piece = 1; piece < stream.size(); ++piece) {
        INFO("pieces of " << piece << " bytes");
        CHECK(parse_in_pieces(stream, piece, limits) == whole);
    }
    return whole;
}

} // namespace

TEST_CASE("fields make events: default type, multi-line data joined with LF, ids kept") {
    const auto out = parse_every_way("data: one\n\n"
                                     "event: tick\nid: 7\ndata: a\ndata: b\n\n"
                                     "data: no id of its own\n\n");
    REQUIRE(out.events.size() == 3);
    CHECK(out.events[0] == seen{"message", "one", ""});
    CHECK(out.events[1] == seen{"tick", "a\nb", "7"});
    // The id persists, and the type does not.
    CHECK(out.events[2] == seen{"message", "no id of its own", "7"});
    CHECK(out.last_event_id == "7");
    CHECK(!out.error);
}

TEST_CASE("CR, LF and CRLF all end lines, mixed in one stream") {
    const auto out = parse_every_way("data: a\r\ndata: b\rdata: c\n\r\n"
                                     "data: d\r\r"
                                     "data: e\n\n");
    REQUIRE(out.events.size() == 3);
    CHECK(out.events[0].data == "a\nb\nc");
    CHECK(out.events[1].data == "d");
    CHECK(out.events[2].data == "e");
}

TEST_CASE("a CR then an LF in the next piece is one line end, not two") {
    event_stream_parser parser;
    std::string_view first = "data: x\r";
    auto none = parser.parse(first);
    REQUIRE(none.has_value());
    CHECK(!*none);
    // Were the LF a line end of its own, this blank line would dispatch "x" early and the
    // next data line would start a second event.
    std::string_view second = "\ndata: y\n\n";
    auto got = parser.parse(second);
    REQUIRE(got.has_value());
    REQUIRE(got->has_value());
    CHECK((*got)->data == "x\ny");
}

TEST_CASE("comments, unknown fields and a line without a colon") {
    const auto out = parse_every_way(": a heartbeat\n\n"
                                     ":\n"
                                     "foo: bar\n"
                                     "data\n"
                                     "data\n\n"
                                     "event\ndata:x\n\n");
    REQUIRE(out.events.size() == 2);
    // "data" alone is a data field with an empty value: two of them are one LF.
    CHECK(out.events[0] == seen{"message", "\n", ""});
    // "event" alone sets an empty type, which is "message".
    CHECK(out.events[1] == seen{"message", "x", ""});
}

TEST_CASE("only one space after the colon is dropped") {
    const auto out = parse_every_way("data:  two spaces\ndata:none\ndata: \n\n");
    REQUIRE(out.events.size() == 1);
    CHECK(out.events[0].data == " two spaces\nnone\n");
}

TEST_CASE("a block without data dispatches nothing but still sets the last event id") {
    const auto out = parse_every_way("event: lonely\nid: 3\n\n"
                                     "data: after\n\n");
    REQUIRE(out.events.size() == 1);
    CHECK(out.events[0] == seen{"message", "after", "3"});
}

TEST_CASE("an empty id resets the last event id; an id holding NUL is ignored") {
    using namespace std::string_literals;
    const auto out = parse_every_way("id: 1\ndata: a\n\n"
                                     "id\ndata: b\n\n"
                                     "id: 2\ndata: c\n\n"
                                     "id: 3\0x\ndata: d\n\n"s);
    REQUIRE(out.events.size() == 4);
    CHECK(out.events[0].id == "1");
    CHECK(out.events[1].id == "");
    CHECK(out.events[2].id == "2");
    CHECK(out.events[3].id == "2");
}

TEST_CASE("retry is taken only when all digits, and a huge one is clamped") {
    CHECK(parse_every_way("retry: 1500\n").retry == 1500ms);
    CHECK(parse_every_way("retry: 1500\nretry: 15x\nretry: -1\nretry:\n").retry == 1500ms);
    CHECK(parse_every_way("retry: 99999999999999999999999999\n").retry ==
          std::chrono::milliseconds::max());
    CHECK(!parse_every_way("retry: 1.5\n").retry);
}

TEST_CASE("one leading BOM is skipped, a second is not, and a partial one is text") {
    auto out = parse_every_way("\xEF\xBB\xBF"
                               "data: x\n\n");
    REQUIRE(out.events.size() == 1);
    CHECK(out.events[0].data == "x");
    // A second BOM starts the field name, which is then unknown.
    out = parse_every_way("\xEF\xBB\xBF\xEF\xBB\xBF"
                          "data: x\n\ndata: y\n\n");
    REQUIRE(out.events.size() == 1);
    CHECK(out.events[0].data == "y");
    // Two bytes of a BOM and a line end: the line holds those bytes, an unknown field.
    out = parse_every_way("\xEF\xBB\n"
                          "data: z\n\n");
    REQUIRE(out.events.size() == 1);
    CHECK(out.events[0].data == "z");
}

TEST_CASE("an event not ended by a blank line is never dispatched") {
    const auto out = parse_every_way("data: done\n\ndata: cut off\n");
    REQUIRE(out.events.size() == 1);
    CHECK(out.events[0].data == "done");
}

TEST_CASE("a line past max_line_bytes fails the stream, whole or split") {
    const http::event_stream_limits limits{.max_line_bytes = 16, .max_event_bytes = 1024};
    // 16 bytes exactly is fine.
    auto out = parse_every_way("data: 0123456789\n\n", limits);
    CHECK(!out.error);
    CHECK(out.events.size() == 1);
    out = parse_every_way("data: 0123456789A\n\n", limits);
    CHECK(out.error == event_stream_errc::line_too_long);
    CHECK(out.events.empty());
    // A line that never ends is refused as soon as it passes the limit.
    out = parse_every_way(": " + std::string(100, 'x'), limits);
    CHECK(out.error == event_stream_errc::line_too_long);
}

TEST_CASE("data past max_event_bytes fails the stream") {
    const http::event_stream_limits limits{.max_line_bytes = 64, .max_event_bytes = 8};
    auto out = parse_every_way("data: 1234\ndata: 567\n\n", limits); // "1234\n567": 8 bytes
    CHECK(!out.error);
    REQUIRE(out.events.size() == 1);
    CHECK(out.events[0].data == "1234\n567");
    out = parse_every_way("data: 1234\ndata: 5678\n\n", limits);
    CHECK(out.error == event_stream_errc::event_too_large);
    CHECK(out.error.message() == "event stream event too large");
}

TEST_CASE("reset drops a partial event and line, keeps the last id, and skips a BOM again") {
    event_stream_parser parser;
    std::string_view input = "id: 5\ndata: kept\n\ndata: dropped\nda";
    auto first = parser.parse(input);
    REQUIRE(first.has_value());
    REQUIRE(first->has_value());
    CHECK((*first)->data == "kept");
    auto rest = parser.parse(input);
    REQUIRE(rest.has_value());
    CHECK(!*rest);
    parser.reset();
    CHECK(parser.last_event_id() == "5");
    std::string_view next = "\xEF\xBB\xBF"
                            "ta: fresh\n\n"; // "ta" would join "da" had the line been kept
    auto fresh = parser.parse(next);
    REQUIRE(fresh.has_value());
    CHECK(!*fresh);
    std::string_view again = "data: fresh\n\n";
    fresh = parser.parse(again);
    REQUIRE(fresh.has_value());
    REQUIRE(fresh->has_value());
    CHECK((*fresh)->data == "fresh");
    CHECK((*fresh)->id == "5");
}

TEST_CASE("what the server's format_event writes parses back to the same event") {
    std::string stream;
    stream += http::format_comment("hello\nthere");
    stream += http::format_event({.id = "41", .event = "tick", .data = "a\r\nb\rc\nd"}).value();
    stream += http::format_event({.data = " leading space"}).value();
    stream += http::format_event({.event = "empty"}).value();
    stream += http::format_event({.id = "", .data = "x", .retry = 250ms}).value();
    const auto out = parse_every_way(stream);
    REQUIRE(out.events.size() == 4);
    CHECK(out.events[0] == seen{"tick", "a\nb\nc\nd", "41"});
    CHECK(out.events[1] == seen{"message", " leading space", "41"});
    CHECK(out.events[2] == seen{"empty", "", "41"});
    CHECK(out.events[3] == seen{"message", "x", ""});
    CHECK(out.retry == 250ms);
}

TEST_SUITE_END();
