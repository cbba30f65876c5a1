// tests/http/websocket/frame_test.cpp: frame headers read (each rule of RFC 6455 §5.2 and
// §5.5, lengths in every width, headers cut short) and written, and masking in pieces.
#include "snow/http/websocket/frame.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "http/websocket/frames.hpp"

using namespace snow::http::ws;
using snow::testing::bytes_of;
using snow::testing::client_frame;

TEST_SUITE_BEGIN("http.websocket");

namespace {
std::vector<std::byte> raw(std::initializer_list<int> values) {
    std::vector<std::byte> out;
    for (int v : values) out.push_back(static_cast<std::byte>(v));
    return out;
}

header_parse parse(const std::vector<std::byte>& bytes, frame_rules rules = {}) {
    return parse_frame_header(bytes, rules);
}

header_parse parse(const std::string& bytes, frame_rules rules = {}) {
    return parse_frame_header(bytes_of(bytes), rules);
}

/// A masked header with the given first byte and 7-bit length, then a key.
std::vector<std::byte> masked(int first, int length7) {
    return raw({first, 0x80 | length7, 1, 2, 3, 4});
}
} // namespace

TEST_CASE("a masked client frame's header is read whole") {
    const std::string frame = client_frame(opcode::text, "Hello");
    const auto h = parse(frame);
    REQUIRE(h.complete());
    CHECK(h.size == 6);
    CHECK(h.header.fin);
    CHECK(h.header.op == opcode::text);
    CHECK(h.header.masked);
    CHECK(h.header.mask == snow::testing::test_key);
    CHECK(h.header.payload_length == 5);
}

TEST_CASE("a header cut anywhere asks for more") {
    for (std::size_t length : {0u, 5u, 200u, 70000u}) {
        const std::string frame = client_frame(opcode::binary, std::string(length, 'x'));
        const auto whole = parse(frame);
        REQUIRE(whole.complete());
        CHECK(whole.header.payload_length == length);
        for (std::size_t cut = 0; cut < whole.size; ++cut) {
            CAPTURE(cut);
            CHECK(parse(frame.substr(0, cut)).need_more());
        }
    }
}

TEST_CASE("lengths in 7, 16 and 64 bits, the boundaries included, round-trip") {
    for (std::uint64_t length : {0ull, 125ull, 126ull, 65535ull, 65536ull, 1ull << 40}) {
        frame_header h;
        h.op = opcode::binary;
        h.masked = true;
        h.mask = snow::testing::test_key;
        h.payload_length = length;
        std::array<std::byte, max_frame_header> out{};
        const std::size_t size = write_frame_header(out, h);
        CHECK(size == (length < 126 ? 6 : length <= 65535 ? 8 : 14));
        const auto back = parse_frame_header(std::span<const std::byte>(out).first(size), {});
        REQUIRE(back.complete());
        CHECK(back.size == size);
        CHECK(back.header.payload_length == length);
    }
}

TEST_CASE("a length written in more bytes than it needs is accepted") {
    auto sixteen = raw({0x82, 0x80 | 126, 0x00, 0x05, 1, 2, 3, 4});
    auto h = parse(sixteen);
    REQUIRE(h.complete());
    CHECK(h.header.payload_length == 5);
    auto sixty_four = raw({0x82, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0, 0x05, 1, 2, 3, 4});
    h = parse(sixty_four);
    REQUIRE(h.complete());
    CHECK(h.header.payload_length == 5);
}

TEST_CASE("a 64-bit length with its top bit set is refused") {
    auto bytes = raw({0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4});
    const auto h = parse(bytes);
    REQUIRE(h.failed());
    CHECK(h.failure == close_code::protocol_error);
    CHECK(parse(bytes, {.strict = false}).failed()); // even when nothing else is checked
}

TEST_CASE("reserved bits are refused unless an extension allows RSV1 on a data frame") {
    CHECK(parse(masked(0x80 | 0x40 | 0x1, 0)).failed()); // RSV1
    CHECK(parse(masked(0x80 | 0x20 | 0x1, 0)).failed()); // RSV2
    CHECK(parse(masked(0x80 | 0x10 | 0x1, 0)).failed()); // RSV3
    const frame_rules deflate{.rsv1_allowed = true};
    CHECK(parse(masked(0x80 | 0x40 | 0x1, 0), deflate).complete());
    CHECK(parse(masked(0x80 | 0x40 | 0x1, 0), deflate).header.rsv1);
    CHECK(parse(masked(0x80 | 0x40 | 0x0, 0), deflate).failed()); // not on a continuation
    CHECK(parse(masked(0x80 | 0x40 | 0x9, 0), deflate).failed()); // nor on a control frame
    CHECK(parse(masked(0x80 | 0x20 | 0x1, 0), deflate).failed()); // RSV2 still
}

TEST_CASE("reserved opcodes are refused") {
    for (int op : {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
        CAPTURE(op);
        const auto h = parse(masked(0x80 | op, 0));
        REQUIRE(h.failed());
        CHECK(h.failure == close_code::protocol_error);
    }
    for (int op : {0, 1, 2, 8, 9, 0xA}) {
        CAPTURE(op);
        CHECK(parse(masked(0x80 | op, 0)).complete());
    }
}

TEST_CASE("control frames must be final and at most 125 bytes") {
    CHECK(parse(masked(0x80 | 0x9, 125)).complete());
    CHECK(parse(masked(0x80 | 0x9, 126)).failed());
    CHECK(parse(masked(0x80 | 0x8, 127)).failed());
    CHECK(parse(masked(0x00 | 0xA, 0)).failed());   // a fragmented pong
    CHECK(parse(masked(0x00 | 0x1, 0)).complete()); // a fragment of text is fine
}

TEST_CASE("a server requires masked frames, a client unmasked ones") {
    const std::string unmasked = client_frame(opcode::text, "hi", true, false);
    const std::string masked_frame = client_frame(opcode::text, "hi");
    CHECK(parse(unmasked).failed());
    CHECK(parse(unmasked, {.receiver = role::client}).complete());
    CHECK(parse(masked_frame, {.receiver = role::client}).failed());
    CHECK(parse(unmasked, {.strict = false}).complete());
}

TEST_CASE("unmasking in pieces at any offset equals unmasking at once") {
    std::string text;
    for (int i = 0; i < 203; ++i) text.push_back(static_cast<char>('a' + i % 26));
    const std::string frame = client_frame(opcode::text, text);
    const std::string payload = frame.substr(8); // 126 + 16-bit length + key
    std::vector<std::byte> whole(payload.size());
    std::memcpy(whole.data(), payload.data(), payload.size());
    unmask(whole, snow::testing::test_key);
    CHECK(std::string(reinterpret_cast<const char*>(whole.data()), whole.size()) == text);
    for (std::size_t cut : {1u, 3u, 4u, 7u, 8u, 9u, 100u}) {
        CAPTURE(cut);
        std::vector<std::byte> pieces(payload.size());
        std::memcpy(pieces.data(), payload.data(), payload.size());
        for (std::size_t at = 0; at < pieces.size(); at += cut) {
            const std::size_t n = std::min(cut, pieces.size() - at);
            unmask(std::span<std::byte>(pieces).subspan(at, n), snow::testing::test_key, at);
        }
        CHECK(pieces == whole);
    }
}

TEST_CASE("a server's frame is unmasked, with the shortest length") {
    frame_header h;
    h.op = opcode::text;
    const std::string frame = encode_frame(h, bytes_of("Hello"));
    CHECK(frame == std::string("\x81\x05Hello"));
    h.op = opcode::pong;
    CHECK(encode_frame(h, {}) == std::string("\x8a\x00", 2));
    h.op = opcode::binary;
    const std::string big = encode_frame(h, bytes_of(std::string(300, 'z')));
    CHECK(big.substr(0, 4) == std::string("\x82\x7e\x01\x2c", 4));
    CHECK(big.size() == 304);
}

TEST_CASE("RFC 6455's masked example frame reads as Hello") {
    // §5.7: a single-frame masked text message.
    const std::string frame("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11);
    const auto h = parse(frame);
    REQUIRE(h.complete());
    std::vector<std::byte> payload(5);
    std::memcpy(payload.data(), frame.data() + h.size, 5);
    unmask(payload, h.header.mask);
    CHECK(std::string(reinterpret_cast<const char*>(payload.data()), 5) == "Hello");
    CHECK(client_frame(opcode::text, "Hello") == frame);
}

TEST_SUITE_END();
