// tests/http/websocket/message_reader_test.cpp: frames into messages: single frames,
// fragments with control frames between them, bytes arriving one at a time, the size limit
// from declared lengths, UTF-8 across fragments, and what a reader ignores while closing.
#include "snow/http/websocket/message_reader.hpp"

#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "http/websocket/frames.hpp"

using namespace snow::http::ws;
using snow::testing::client_frame;

TEST_SUITE_BEGIN("http.websocket");

namespace {

/// What a reader reports for a stream of bytes, as text: "text:Hello", "binary:..",
/// "ping:..", "pong:..", "close:..", "failed:1002"; `step` bytes are given at a time.
struct transcript {
    std::vector<std::string> events;
    std::size_t left_over = 0; ///< bytes never consumed
};

transcript read_all(const std::string& wire, reader_options options = {}, std::size_t step = 0) {
    message_reader reader(options);
    transcript out;
    std::vector<std::byte> pending;
    std::size_t fed = 0;
    for (;;) {
        const std::size_t more = step == 0 ? wire.size() - fed : std::min(step, wire.size() - fed);
        const auto* from = reinterpret_cast<const std::byte*>(wire.data() + fed);
        pending.insert(pending.end(), from, from + more);
        fed += more;
        for (;;) {
            const read_step s = reader.read(pending);
            pending.erase(pending.begin(),
                          pending.begin() + static_cast<std::ptrdiff_t>(s.consumed));
            if (s.what == read_step::kind::need_more) break;
            if (s.what == read_step::kind::message) {
                message m = reader.take_message();
                out.events.push_back((m.is_text() ? "text:" : "binary:") + m.payload);
            } else if (s.what == read_step::kind::control) {
                const auto p = reader.control_payload();
                std::string payload(reinterpret_cast<const char*>(p.data()), p.size());
                const char* name = s.control == opcode::ping   ? "ping:"
                                   : s.control == opcode::pong ? "pong:"
                                                               : "close:";
                out.events.push_back(name + payload);
            } else {
                out.events.push_back("failed:" + std::to_string(static_cast<int>(s.failure)));
                out.left_over = pending.size();
                return out;
            }
        }
        if (fed == wire.size()) break;
    }
    out.left_over = pending.size();
    return out;
}

using events = std::vector<std::string>;

} // namespace

TEST_CASE("single-frame text and binary messages, whole or a byte at a time") {
    const std::string wire = client_frame(opcode::text, "Hello") +
                             client_frame(opcode::binary, std::string("\x00\xff", 2)) +
                             client_frame(opcode::text, "") +
                             client_frame(opcode::binary, std::string(70000, 'b'));
    const events expected{"text:Hello", std::string("binary:\x00\xff", 9),
                          "text:", "binary:" + std::string(70000, 'b')};
    for (std::size_t step : {0u, 1u, 3u, 1000u}) {
        CAPTURE(step);
        const auto t = read_all(wire, {}, step);
        CHECK(t.events == expected);
        CHECK(t.left_over == 0);
    }
}

TEST_CASE("fragments join into one message, with control frames between them") {
    const std::string wire =
        client_frame(opcode::text, "Hel", false) + client_frame(opcode::ping, "are you there") +
        client_frame(opcode::continuation, "lo, ", false) + client_frame(opcode::pong, "") +
        client_frame(opcode::continuation, "world") +
        client_frame(opcode::close, snow::testing::close_body(1000, "bye"));
    for (std::size_t step : {0u, 1u, 5u}) {
        CAPTURE(step);
        const auto t = read_all(wire, {}, step);
        CHECK(t.events == events{"ping:are you there", "pong:", "text:Hello, world",
                                 "close:" + snow::testing::close_body(1000, "bye")});
    }
}

TEST_CASE("empty fragments, including an empty final continuation, are fine") {
    const std::string wire = client_frame(opcode::binary, "", false) +
                             client_frame(opcode::continuation, "ab", false) +
                             client_frame(opcode::continuation, "");
    CHECK(read_all(wire).events == events{"binary:ab"});
}

TEST_CASE("a continuation outside a message, or a new message inside one, is a protocol error") {
    CHECK(read_all(client_frame(opcode::continuation, "x")).events == events{"failed:1002"});
    const std::string nested =
        client_frame(opcode::text, "a", false) + client_frame(opcode::text, "b");
    CHECK(read_all(nested).events == events{"failed:1002"});
    const std::string binary_inside =
        client_frame(opcode::text, "a", false) + client_frame(opcode::binary, "b");
    CHECK(read_all(binary_inside).events == events{"failed:1002"});
}

TEST_CASE("the size limit applies to declared lengths, before any payload is read") {
    reader_options small{.max_message_size = 10};
    CHECK(read_all(client_frame(opcode::text, "0123456789"), small).events ==
          events{"text:0123456789"});
    // Only the header of the oversized frame is given: the refusal needs nothing more.
    const std::string big = client_frame(opcode::binary, std::string(11, 'x'));
    CHECK(read_all(big.substr(0, 6), small).events == events{"failed:1009"});
    // Fragments count together.
    const std::string fragmented =
        client_frame(opcode::text, "012345", false) + client_frame(opcode::continuation, "6789A");
    CHECK(read_all(fragmented, small).events == events{"failed:1009"});
    // Control frames do not count.
    const std::string with_ping = client_frame(opcode::text, "01234", false) +
                                  client_frame(opcode::ping, "0123456789") +
                                  client_frame(opcode::continuation, "56789");
    CHECK(read_all(with_ping, small).events == events{"ping:0123456789", "text:0123456789"});
}

TEST_CASE("text is checked for UTF-8 across fragments, failing at the first bad byte") {
    // A code point split across fragments is fine.
    const std::string split = client_frame(opcode::text, "\xce\xba\xe1", false) +
                              client_frame(opcode::continuation, "\xbd\xb9\xcf\x83");
    CHECK(read_all(split).events == events{"text:\xce\xba\xe1\xbd\xb9\xcf\x83"});
    // A bad byte in the first fragment fails before the message's end arrives.
    const std::string bad_first = client_frame(opcode::text, "ok\xed\xa0\x80", false);
    CHECK(read_all(bad_first).events == events{"failed:1007"});
    // ...even within a frame whose payload has not all arrived.
    const std::string long_bad = client_frame(opcode::text, "\xc0" + std::string(1000, 'a'));
    CHECK(read_all(long_bad.substr(0, 20)).events == events{"failed:1007"});
    // A message that ends inside a code point.
    const std::string truncated =
        client_frame(opcode::text, "abc\xe2\x82", false) + client_frame(opcode::continuation, "");
    CHECK(read_all(truncated).events == events{"failed:1007"});
    // Binary messages are not checked.
    CHECK(read_all(client_frame(opcode::binary, "\xc0")).events == events{"binary:\xc0"});
}

TEST_CASE("an unmasked frame to a server is a protocol error") {
    CHECK(read_all(client_frame(opcode::text, "hi", true, false)).events == events{"failed:1002"});
}

TEST_CASE("after ignore_data only close frames are reported, and nothing is checked") {
    message_reader reader({.max_message_size = 4});
    const std::string oversized = client_frame(opcode::text, "far too long");
    const std::string after = client_frame(opcode::text, "\xc0 not UTF-8", true, false) +
                              client_frame(opcode::ping, "p") +
                              client_frame(opcode::close, snow::testing::close_body(1002));
    std::string wire_text = oversized + after;
    std::vector<std::byte> wire(wire_text.size());
    std::memcpy(wire.data(), wire_text.data(), wire.size());

    read_step s = reader.read(wire);
    REQUIRE(s.what == read_step::kind::failed);
    CHECK(s.failure == close_code::message_too_big);
    wire.erase(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(s.consumed));
    reader.ignore_data();
    s = reader.read(wire);
    REQUIRE(s.what == read_step::kind::control);
    CHECK(s.control == opcode::close);
    CHECK(s.consumed == wire.size());
    const auto payload = reader.control_payload();
    CHECK(std::string(reinterpret_cast<const char*>(payload.data()), payload.size()) ==
          snow::testing::close_body(1002));
}

TEST_SUITE_END();
