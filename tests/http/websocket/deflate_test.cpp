// tests/http/websocket/deflate_test.cpp: permessage-deflate without sockets: the server's
// answer to offers well and badly formed, the client's check of an answer, compression with
// and without context takeover, and compressed messages through the message reader, a deflate
// bomb among them.
#include "snow/http/websocket/deflate.hpp"

#include <doctest/doctest.h>
#include <string>
#include <string_view>
#include <vector>

#include "snow/http/websocket/message_reader.hpp"

#include "http/websocket/deflate_frames.hpp"
#include "http/websocket/frames.hpp"

using namespace snow::http::ws;
using snow::testing::bytes_of;
using snow::testing::deflate_zeros;
using snow::testing::test_key;

TEST_SUITE_BEGIN("http.websocket");

namespace {

std::optional<deflate_agreement> answer(std::vector<std::string_view> fields,
                                        const deflate_options& mine = {}) {
    return negotiate_deflate(fields, mine);
}

std::string response_to(std::vector<std::string_view> fields, const deflate_options& mine = {}) {
    auto a = answer(std::move(fields), mine);
    return a ? a->response : "(declined)";
}

bool answer_refused(std::vector<std::string_view> fields, const deflate_options& mine = {}) {
    return !accept_deflate_answer(fields, mine).has_value();
}

std::string compress(deflater& d, std::string_view text) {
    std::string out;
    REQUIRE(d.compress(bytes_of(text), out).has_value());
    return out;
}

std::string inflate(inflater& i, std::string_view compressed, std::size_t limit = 1 << 20) {
    std::string out;
    REQUIRE(i.feed(bytes_of(compressed), out, limit) == inflate_status::ok);
    REQUIRE(i.finish(out, limit) == inflate_status::ok);
    return out;
}

/// A client's frame with RSV1 as given.
std::string frame(opcode op, std::string_view payload, bool fin, bool rsv1) {
    frame_header h;
    h.op = op;
    h.fin = fin;
    h.rsv1 = rsv1;
    h.masked = true;
    h.mask = test_key;
    return encode_frame(h, bytes_of(payload));
}

/// Reads `wire` with a server's reader that agreed on deflate with `limit`.
read_step read_all(message_reader& r, std::string& wire) {
    auto bytes = std::as_writable_bytes(std::span(wire));
    return r.read(bytes);
}

reader_options deflating_reader(std::size_t limit = 1 << 20) {
    return reader_options{
        .receiver = role::server, .max_message_size = limit, .deflate = deflate_direction{}};
}

} // namespace

TEST_CASE("a plain offer is accepted as it is, and the parameters a client asks are granted") {
    CHECK(response_to({"permessage-deflate"}) == "permessage-deflate");
    // The default offer of browsers and Python's websockets: the client's window may be
    // bounded, and the server does not need to.
    CHECK(response_to({"permessage-deflate; client_max_window_bits"}) == "permessage-deflate");
    CHECK(response_to({"permessage-deflate; server_no_context_takeover; "
                       "client_no_context_takeover; server_max_window_bits=10; "
                       "client_max_window_bits=12"}) ==
          "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
          "server_max_window_bits=10; client_max_window_bits=12");
    const auto a = answer({"permessage-deflate; server_max_window_bits=\"11\""});
    REQUIRE(a.has_value());
    CHECK(a->params.server_max_window_bits == 11); // a quoted value is a value
    CHECK(a->params.client_max_window_bits == 15);
    CHECK_FALSE(a->params.server_no_context_takeover);
}

TEST_CASE("the server's own bounds are added to its answer only where the offer allows them") {
    deflate_options mine;
    mine.server_no_context_takeover = true;
    mine.server_max_window_bits = 12;
    mine.client_max_window_bits = 10;
    // client_max_window_bits may be answered only when offered (RFC 7692 §7.1.2.2).
    CHECK(response_to({"permessage-deflate"}, mine) ==
          "permessage-deflate; server_no_context_takeover; server_max_window_bits=12");
    CHECK(response_to({"permessage-deflate; client_max_window_bits"}, mine) ==
          "permessage-deflate; server_no_context_takeover; server_max_window_bits=12; "
          "client_max_window_bits=10");
    CHECK(response_to({"permessage-deflate; server_max_window_bits=9"}, mine) ==
          "permessage-deflate; server_no_context_takeover; server_max_window_bits=9");
    mine.enabled = false;
    CHECK(response_to({"permessage-deflate"}, mine) == "(declined)");
}

TEST_CASE("malformed offers are declined, and a later valid one is taken") {
    for (std::string_view bad : {
             "permessage-deflate; unknown_param",
             "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
             "permessage-deflate; server_max_window_bits=7",
             "permessage-deflate; server_max_window_bits=16",
             "permessage-deflate; server_max_window_bits=010",
             "permessage-deflate; server_max_window_bits",
             "permessage-deflate; server_max_window_bits=abc",
             "permessage-deflate; client_max_window_bits=99999999999999999999",
             "permessage-deflate; server_no_context_takeover=1",
             "permessage-deflate; =5",
             "permessage-deflate; server_max_window_bits=\"1,0\"",
             "permessage deflate",
             "x-webkit-deflate-frame",
             "",
             ",,;;",
             "\"",
         }) {
        CAPTURE(bad);
        CHECK(response_to({bad}) == "(declined)");
        CHECK(response_to({bad, "permessage-deflate; client_no_context_takeover"}) ==
              "permessage-deflate; client_no_context_takeover");
    }
    // Offers in one field, in order of preference: the first acceptable one wins.
    CHECK(response_to({"foo, permessage-deflate; bad, permessage-deflate; "
                       "server_max_window_bits=13, permessage-deflate"}) ==
          "permessage-deflate; server_max_window_bits=13");
}

TEST_CASE("a client accepts only an answer its offer allows") {
    deflate_options mine;
    CHECK(deflate_offer(mine) == "permessage-deflate; client_max_window_bits");
    auto none = accept_deflate_answer({}, mine);
    REQUIRE(none.has_value());
    CHECK_FALSE(none->has_value());
    auto plain = accept_deflate_answer(std::vector<std::string_view>{"permessage-deflate"}, mine);
    REQUIRE(plain.has_value());
    REQUIRE(plain->has_value());
    CHECK((*plain)->server_max_window_bits == 15);
    auto bounded = accept_deflate_answer(
        std::vector<std::string_view>{
            "permessage-deflate; client_max_window_bits=9; server_no_context_takeover"},
        mine);
    REQUIRE(bounded.has_value());
    REQUIRE(bounded->has_value());
    CHECK((*bounded)->client_max_window_bits == 9);
    CHECK((*bounded)->server_no_context_takeover);

    CHECK(answer_refused({"x-other"}, mine));
    CHECK(answer_refused({"permessage-deflate, permessage-deflate"}, mine));
    CHECK(answer_refused({"permessage-deflate", "x-other"}, mine));
    CHECK(answer_refused({"permessage-deflate; client_max_window_bits"}, mine)); // needs a value
    CHECK(answer_refused({"permessage-deflate; server_max_window_bits=16"}, mine));
    CHECK(answer_refused({"permessage-deflate; foo=1"}, mine));

    mine.server_no_context_takeover = true;
    mine.server_max_window_bits = 10;
    CHECK(deflate_offer(mine) == "permessage-deflate; server_no_context_takeover; "
                                 "server_max_window_bits=10; client_max_window_bits");
    // What the client asked of the server must be granted, no looser.
    CHECK(answer_refused({"permessage-deflate; server_max_window_bits=10"}, mine));
    CHECK(answer_refused({"permessage-deflate; server_no_context_takeover"}, mine));
    CHECK(answer_refused(
        {"permessage-deflate; server_no_context_takeover; server_max_window_bits=11"}, mine));
    CHECK_FALSE(answer_refused(
        {"permessage-deflate; server_no_context_takeover; server_max_window_bits=9"}, mine));

    mine.enabled = false; // nothing offered: any extension is refused
    CHECK(answer_refused({"permessage-deflate"}, mine));
}

TEST_CASE("context takeover makes a repeated message smaller; without it each stands alone") {
    const std::string text =
        "{\"type\":\"price\",\"symbol\":\"SNOW\",\"bid\":101.25,\"ask\":101.5,\"venue\":\"XLON\"}";
    deflater keeping({.window_bits = 15, .no_context_takeover = false}, 6);
    inflater keeping_peer({.window_bits = 15, .no_context_takeover = false});
    const std::string first = compress(keeping, text);
    const std::string second = compress(keeping, text);
    CHECK(second.size() < first.size() / 2); // the second is mostly one back-reference
    CHECK(inflate(keeping_peer, first) == text);
    CHECK(inflate(keeping_peer, second) == text);
    // The tail a sync flush ends with is left off (RFC 7692 §7.2.1).
    CHECK_FALSE(first.ends_with(std::string("\x00\x00\xff\xff", 4)));

    deflater fresh({.window_bits = 15, .no_context_takeover = true}, 6);
    inflater fresh_peer({.window_bits = 15, .no_context_takeover = true});
    const std::string a = compress(fresh, text);
    const std::string b = compress(fresh, text);
    CHECK(a == b);
    CHECK(inflate(fresh_peer, a) == text);
    CHECK(inflate(fresh_peer, b) == text);

    // A window of 8 bits cannot be honoured with zlib's raw deflate: messages go plain.
    CHECK_FALSE(deflater({.window_bits = 8}, 6).usable());
    CHECK(deflater({.window_bits = 9}, 6).usable());
}

TEST_CASE("the message reader inflates a compressed message, whole or in fragments") {
    std::string with_b(5000, 'a');
    with_b.push_back('b');
    std::string with_c(5000, 'a');
    with_c.push_back('c');
    deflater d({}, 6);
    const std::string compressed = compress(d, with_b);
    message_reader r(deflating_reader());
    std::string wire = frame(opcode::text, compressed, true, true);
    auto step = read_all(r, wire);
    REQUIRE(step.what == read_step::kind::message);
    CHECK(r.take_message().payload == with_b);

    // The next message uses the window of the first (context takeover), and comes in three
    // fragments; RSV1 only on the first.
    const std::string again = compress(d, with_c);
    const std::size_t third = again.size() / 3;
    wire = frame(opcode::text, again.substr(0, third), false, true) +
           frame(opcode::continuation, again.substr(third, third), false, false) +
           frame(opcode::continuation, again.substr(2 * third), true, false);
    step = read_all(r, wire);
    REQUIRE(step.what == read_step::kind::message);
    CHECK(step.consumed == wire.size());
    CHECK(r.take_message().payload == with_c);

    // An uncompressed message in between is as it is.
    wire = frame(opcode::binary, "plain", true, false);
    step = read_all(r, wire);
    REQUIRE(step.what == read_step::kind::message);
    CHECK(r.take_message().payload == "plain");
}

TEST_CASE("RSV1 on a continuation, or without deflate agreed, breaks the protocol") {
    deflater d({}, 6);
    const std::string compressed = compress(d, std::string(100, 'x'));
    message_reader r(deflating_reader());
    std::string wire = frame(opcode::text, compressed.substr(0, 5), false, true) +
                       frame(opcode::continuation, compressed.substr(5), true, true);
    auto step = read_all(r, wire);
    REQUIRE(step.what == read_step::kind::failed);
    CHECK(step.failure == close_code::protocol_error);

    message_reader plain(reader_options{.receiver = role::server});
    wire = frame(opcode::text, compressed, true, true);
    step = read_all(plain, wire);
    REQUIRE(step.what == read_step::kind::failed);
    CHECK(step.failure == close_code::protocol_error);
}

TEST_CASE("bytes that are not deflate data, or inflate to bad UTF-8, are refused with 1007") {
    message_reader r(deflating_reader());
    std::string wire = frame(opcode::binary, "\xff\xff\xff\xff not deflate", true, true);
    auto step = read_all(r, wire);
    REQUIRE(step.what == read_step::kind::failed);
    CHECK(step.failure == close_code::invalid_payload);

    deflater d({}, 6);
    message_reader text_reader(deflating_reader());
    wire = frame(opcode::text, compress(d, "ok \xc0\xaf"), true, true);
    step = read_all(text_reader, wire);
    REQUIRE(step.what == read_step::kind::failed);
    CHECK(step.failure == close_code::invalid_payload);
}

TEST_CASE("a deflate bomb stops at the limit: 1009, and never more than the limit inflated") {
    // 8 MiB of zeros deflate to about 8 KiB; the limit is 1 MiB.
    const std::size_t limit = std::size_t{1} << 20;
    const std::string bomb = deflate_zeros(8 * limit);
    CHECK(bomb.size() < 16 * 1024);
    inflater i({});
    std::string out;
    CHECK(i.feed(bytes_of(bomb), out, limit) == inflate_status::too_big);
    CHECK(out.size() == limit + 1);
    // Storage grows with what is inflated (doubling, as a string does), never ahead of it.
    CHECK(out.capacity() <= 2 * (limit + 16 * 1024));

    // Through the reader, in fragments: refused with message_too_big.
    message_reader r(deflating_reader(limit));
    const std::size_t half = bomb.size() / 2;
    std::string wire = frame(opcode::binary, bomb.substr(0, half), false, true) +
                       frame(opcode::continuation, bomb.substr(half), true, false);
    auto step = read_all(r, wire);
    REQUIRE(step.what == read_step::kind::failed);
    CHECK(step.failure == close_code::message_too_big);

    // One byte under the limit passes.
    message_reader fits(deflating_reader(limit));
    wire = frame(opcode::binary, deflate_zeros(limit), true, true);
    step = read_all(fits, wire);
    REQUIRE(step.what == read_step::kind::message);
    CHECK(fits.take_message().payload.size() == limit);
}

TEST_SUITE_END();
