// tests/http/chunked_decoder_test.cpp: the chunked body decoder on its own: views and in-place
// decoding, where it stops, trailers, limits and what it says after finishing or failing.
#include "snow/http/parser.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "http/guarded_buffer.hpp"

namespace {

using namespace snow::http;
using namespace std::string_view_literals;

// Decodes all of `input` by views, as a connection would; returns the body and the final result.
struct decoded {
    std::string body;
    decode_result last;
    std::size_t consumed = 0;
};

decoded decode_all(chunked_decoder& decoder, std::string_view input) {
    decoded out{{}, decode_result(parse_state::incomplete, 0, {}), 0};
    do {
        out.last = decoder.decode(input.substr(out.consumed));
        out.body += out.last.data();
        out.consumed += out.last.consumed();
    } while (out.last.incomplete() && out.consumed < input.size());
    return out;
}

errc decode_error(std::string_view input, parser_limits limits = {}) {
    chunked_decoder decoder(limits);
    auto d = decode_all(decoder, input);
    REQUIRE(d.last.failed());
    return d.last.error();
}

} // namespace

TEST_SUITE_BEGIN("http.parser");

TEST_CASE("a chunked body is decoded by views and stops before the next message") {
    const auto input = "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\nGET / HTTP/1.1\r\n"sv;
    chunked_decoder decoder;
    auto d = decode_all(decoder, input);
    REQUIRE(d.last.complete());
    CHECK(d.body == "hello, world");
    CHECK(input.substr(d.consumed) == "GET / HTTP/1.1\r\n");
    CHECK(decoder.done());
    CHECK(decoder.body_bytes() == 12);
    CHECK(decoder.trailers().empty());
}

TEST_CASE("each call hands out at most one data span that views the input") {
    const auto input = "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"sv;
    chunked_decoder decoder;
    auto r = decoder.decode(input);
    CHECK(r.incomplete());
    CHECK(r.data() == "abc");
    CHECK(r.data().data() == input.data() + 3);
    CHECK(r.consumed() == 6);
    r = decoder.decode(input.substr(6));
    CHECK(r.data() == "de");
    CHECK(r.consumed() == 7);
}

TEST_CASE("a chunk that arrives in pieces is handed out in pieces") {
    chunked_decoder decoder;
    auto r = decoder.decode("a\r\n0123");
    CHECK(r.data() == "0123");
    CHECK(r.consumed() == 7);
    r = decoder.decode("456789\r");
    CHECK(r.data() == "456789");
    r = decoder.decode("\r");
    CHECK(r.incomplete());
    CHECK(r.consumed() == 1);
    r = decoder.decode("\n0\r\n\r\n");
    CHECK(r.complete());
    CHECK(r.consumed() == 6);
    CHECK(decoder.body_bytes() == 10);
}

TEST_CASE("decoding in place moves the body to the front and leaves what follows") {
    std::string buffer = "4\r\nWiki\r\n5;a=\"q\"\r\npedia\r\n0\r\n\r\nNEXT";
    chunked_decoder decoder;
    auto r = decoder.decode_in_place(buffer);
    REQUIRE(r.complete());
    CHECK(r.data() == "Wikipedia");
    CHECK(r.data().data() == buffer.data());
    CHECK(std::string_view(buffer).substr(r.consumed()) == "NEXT");
}

TEST_CASE("decoding in place across calls appends as bytes arrive") {
    const std::string input = "6\r\nchunky\r\n3\r\nbit\r\n0\r\nT: v\r\n\r\n";
    chunked_decoder decoder;
    std::string body;
    std::string pending;
    decode_result r(parse_state::incomplete, 0, {});
    for (char c : input) {
        pending += c;
        r = decoder.decode_in_place(pending);
        REQUIRE_FALSE(r.failed());
        body += r.data();
        pending.erase(0, r.consumed());
        if (r.complete()) break;
    }
    CHECK(r.complete());
    CHECK(body == "chunkybit");
    CHECK(pending.empty());
    CHECK(decoder.trailers().get("t") == "v");
}

TEST_CASE("trailer fields are validated and exposed once the body is done") {
    chunked_decoder decoder;
    auto d = decode_all(decoder, "0\r\nChecksum:  abc \r\nX-A: 1\r\nx-a: 2\r\n\r\n");
    REQUIRE(d.last.complete());
    auto trailers = decoder.trailers();
    CHECK(trailers.size() == 3);
    CHECK(trailers.get("checksum") == "abc");
    CHECK(trailers.get_all("X-A") == std::vector<std::string_view>{"1", "2"});
    decoder.reset();
    CHECK(decoder.trailers().empty());
    CHECK_FALSE(decoder.done());
}

TEST_CASE("the chunked body limit counts every chunk") {
    const parser_limits limits{.max_body_bytes = 8};
    chunked_decoder decoder(limits);
    auto d = decode_all(decoder, "4\r\nabcd\r\n4\r\nefgh\r\n0\r\n\r\n");
    CHECK(d.last.complete());
    CHECK(decode_error("4\r\nabcd\r\n5\r\nefghi\r\n0\r\n\r\n", limits) == errc::body_too_large);
    CHECK(status_for(errc::body_too_large) == 413);
}

TEST_CASE("a chunk size is rejected as soon as it overflows 64 bits") {
    const parser_limits unlimited{.max_body_bytes = std::size_t(-1)};
    chunked_decoder decoder(unlimited);
    auto r = decoder.decode("fffffffffffffffff");
    REQUIRE(r.failed());
    CHECK(r.error() == errc::chunk_size_overflow);
    CHECK(r.consumed() == 16);
    chunked_decoder fits(unlimited);
    CHECK(fits.decode("ffffffffffffffff\r\n").incomplete());
}

TEST_CASE("chunk extensions follow the grammar and are bounded") {
    chunked_decoder decoder;
    CHECK(decode_all(decoder, "1 ; a ; b = \"x\\\"y\" ;c=d\r\nz\r\n0\r\n\r\n").last.complete());
    CHECK(decode_error("1;a b\r\nz\r\n0\r\n\r\n") == errc::malformed_chunk);
    CHECK(decode_error("1;a=\r\nz\r\n0\r\n\r\n") == errc::malformed_chunk);
    CHECK(decode_error("1;a \r\nz\r\n0\r\n\r\n") == errc::malformed_chunk);
    std::string many;
    for (int i = 0; i < 100; ++i) many += "1;abcdefghij\r\nz\r\n";
    CHECK(decode_error(many, {.max_header_bytes = 512}) == errc::chunk_extension_too_large);
}

TEST_CASE("bare LF in chunk framing is accepted only with the leniency") {
    const auto input = "3\nabc\n0\n\n"sv;
    CHECK(decode_error(input) == errc::bare_line_feed);
    chunked_decoder lenient({}, {.bare_lf = true});
    auto d = decode_all(lenient, input);
    REQUIRE(d.last.complete());
    CHECK(d.body == "abc");
    CHECK(d.consumed == input.size());
}

TEST_CASE("a finished decoder reports completion and consumes nothing more") {
    chunked_decoder decoder;
    REQUIRE(decode_all(decoder, "0\r\n\r\n").last.complete());
    auto r = decoder.decode("more");
    CHECK(r.complete());
    CHECK(r.consumed() == 0);
}

TEST_CASE("a failed decoder repeats its error until reset") {
    chunked_decoder decoder;
    auto r = decoder.decode("g\r\n");
    REQUIRE(r.failed());
    CHECK(r.error() == errc::invalid_chunk_size);
    r = decoder.decode("0\r\n\r\n");
    CHECK(r.failed());
    CHECK(r.error() == errc::invalid_chunk_size);
    decoder.reset();
    CHECK(decoder.decode("0\r\n\r\n").complete());
}

TEST_CASE("the decoder never reads past its input") {
    const auto input = "1a;x=\"q\"\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nT: 1\r\n\r\n"sv;
    snow::test::guarded_buffer arena;
    for (std::size_t n = 0; n <= input.size(); ++n) {
        chunked_decoder decoder;
        auto d = decode_all(decoder, arena.place_view(input.substr(0, n)));
        CHECK_FALSE(d.last.failed());
        CHECK(d.last.complete() == (n == input.size()));
    }
}

TEST_SUITE_END();
