// tests/fuzz/parser_fuzz.cpp: libFuzzer target for snow/http/parser: request heads, response heads
// and the chunked decoder, asserting what connection code relies on. Build and run (clang only):
//
//   CXX=clang++ meson setup build-fuzz -Dfuzz=enabled -Dtests=disabled -Dexamples=disabled \
//       -Dbench=disabled -Db_sanitize=address,undefined -Dbuildtype=debugoptimized
//   ninja -C build-fuzz tests/fuzz/parser_fuzz
//   mkdir -p build-fuzz/corpus
//   ./build-fuzz/tests/fuzz/parser_fuzz -max_total_time=60 build-fuzz/corpus tests/http/cases
//
// libFuzzer writes new inputs into the first directory, so the scratch one goes first and
// tests/http/cases only seeds it.
//
// Checked for every input, in strict and in fully lenient mode: views point into the buffer,
// consumed ≤ size, limits hold, and parsing the input whole, split in two (with the buffer
// moving between calls) and grown one byte at a time all reach the same outcome.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "snow/http/parser.hpp"

namespace {

using namespace snow::http;

void require(bool ok, const char* what) {
    if (ok) return;
    std::fprintf(stderr, "parser_fuzz: invariant broken: %s\n", what);
    std::abort();
}

bool within(std::string_view inner, std::string_view outer) {
    if (inner.data() == nullptr) return inner.empty();
    const auto i = reinterpret_cast<std::uintptr_t>(inner.data());
    const auto o = reinterpret_cast<std::uintptr_t>(outer.data());
    return i >= o && i + inner.size() <= o + outer.size();
}

// Small limits so that every limit is reachable within libFuzzer's default input size.
constexpr parser_limits k_limits{
    .max_target_bytes = 256, .max_header_bytes = 1024, .max_headers = 16, .max_body_bytes = 4096};

// Everything a head says, as text, so that outcomes from different buffers compare equal.
std::string summary(parse_result r, const request_head& h) {
    std::string s = std::to_string(static_cast<int>(r.state()));
    if (r.failed()) return s + ":" + std::to_string(static_cast<int>(r.error()));
    if (!r.complete()) return s;
    s += ':' + std::to_string(r.consumed()) + ' ';
    s.append(h.method_name).append(" ").append(h.target).append(" ").append(h.path);
    s.append(" ").append(h.query).append(" ");
    s += std::to_string(h.version_minor) + std::to_string(h.keep_alive) +
         std::to_string(h.expect_continue) + std::to_string(static_cast<int>(h.body.kind)) +
         std::to_string(h.body.content_length);
    for (const auto& f : h.fields) s.append(f.name).append(":").append(f.value).append("\n");
    return s;
}

std::string summary(parse_result r, const response_head& h) {
    std::string s = std::to_string(static_cast<int>(r.state()));
    if (r.failed()) return s + ":" + std::to_string(static_cast<int>(r.error()));
    if (!r.complete()) return s;
    s += ':' + std::to_string(r.consumed()) + ' ' + std::to_string(h.status) + ' ';
    s.append(h.reason).append(" ");
    s += std::to_string(h.version_minor) + std::to_string(h.keep_alive) +
         std::to_string(static_cast<int>(h.body.kind)) + std::to_string(h.body.content_length);
    for (const auto& f : h.fields) s.append(f.name).append(":").append(f.value).append("\n");
    return s;
}

void check_head(parse_result r, std::string_view buffer, const request_head& h) {
    if (!r.complete()) {
        require(r.consumed() == 0, "consumed is zero unless complete");
        return;
    }
    require(r.consumed() > 0 && r.consumed() <= buffer.size(), "0 < consumed <= size");
    require(r.consumed() <= k_limits.max_header_bytes, "head within max_header_bytes");
    for (auto v : {h.method_name, h.target, h.path, h.query})
        require(within(v, buffer.substr(0, r.consumed())), "start-line views inside the head");
    require(h.target.size() <= k_limits.max_target_bytes, "target within max_target_bytes");
    require(h.query.empty() || within(h.query, h.target), "query inside target");
    require(parse_method(h.method_name) == h.method, "method matches its name");
    require(h.version_minor == 0 || h.version_minor == 1, "version is 1.0 or 1.1");
    require(h.fields.size() <= k_limits.max_headers, "fields within max_headers");
    for (const auto& f : h.fields) {
        require(within(f.name, buffer) && within(f.value, buffer), "field views inside");
        require(is_token(f.name), "field name is a token");
        require(is_field_value(f.value), "field value is trimmed and clean");
    }
    require(h.body.kind != body_kind::until_close, "requests are never read until close");
    require(h.body.content_length <= k_limits.max_body_bytes, "length within max_body_bytes");
}

void check_head(parse_result r, std::string_view buffer, const response_head& h) {
    if (!r.complete()) return;
    require(r.consumed() > 0 && r.consumed() <= buffer.size(), "0 < consumed <= size");
    require(within(h.reason, buffer), "reason inside");
    require(h.status >= 100 && h.status <= 599, "status in 100..599");
    for (const auto& f : h.fields)
        require(within(f.name, buffer) && within(f.value, buffer), "field views inside");
    require(h.body.content_length <= k_limits.max_body_bytes, "length within max_body_bytes");
}

// Parses `input` whole, as two pieces with the buffer moving in between, and grown byte by
// byte; all three must agree.
template <typename Parser, typename Head, typename... Args>
void fuzz_head(std::string_view input, std::size_t split, parser_leniency leniency, Args... args) {
    Parser whole_parser(k_limits, leniency);
    Head whole;
    auto r = whole_parser.parse(input, whole, args...);
    check_head(r, input, whole);
    const auto expected = summary(r, whole);

    Parser split_parser(k_limits, leniency);
    Head split_head;
    std::vector<char> first(input.begin(), input.begin() + static_cast<std::ptrdiff_t>(split));
    auto s = split_parser.parse({first.data(), first.size()}, split_head, args...);
    if (s.incomplete()) {
        std::vector<char> second(input.begin(), input.end()); // a new address: views rebase
        first = {};
        s = split_parser.parse({second.data(), second.size()}, split_head, args...);
        require(summary(s, split_head) == expected, "split parse equals whole parse");
    } else {
        // A result from the prefix alone must be the one the whole input gives.
        require(summary(s, split_head) == expected, "prefix outcome equals whole outcome");
    }

    Parser drip_parser(k_limits, leniency);
    Head drip;
    parse_result d = parse_result::need_more();
    for (std::size_t n = 0; n <= input.size() && d.incomplete(); ++n)
        d = drip_parser.parse(input.substr(0, n), drip, args...);
    require(summary(d, drip) == expected, "byte-by-byte parse equals whole parse");
}

struct decoded {
    std::string body;
    std::size_t consumed = 0;
    int state = 0;
    int error = 0;
    std::string trailers;
};

decoded decode_pieces(std::string_view input, std::size_t split, parser_leniency leniency) {
    chunked_decoder decoder(k_limits, leniency);
    decoded out;
    for (auto piece : {input.substr(0, split), input.substr(split)}) {
        std::size_t used = 0;
        for (;;) {
            auto rest = piece.substr(used);
            auto r = decoder.decode(rest);
            require(r.consumed() <= rest.size(), "decoder consumed <= input");
            require(within(r.data(), rest), "decoded data views the input");
            require(r.consumed() > 0 || rest.empty() || !r.incomplete(), "decoder progresses");
            out.body.append(r.data());
            used += r.consumed();
            out.consumed += r.consumed();
            out.state = static_cast<int>(r.state());
            out.error = r.failed() ? static_cast<int>(r.error()) : 0;
            if (!r.incomplete()) {
                for (const auto& f : decoder.trailers())
                    out.trailers.append(f.name).append(":").append(f.value).append("\n");
                require(out.body.size() <= k_limits.max_body_bytes, "body within max_body_bytes");
                require(decoder.body_bytes() == out.body.size(), "body_bytes counts the data");
                return out;
            }
            if (used == piece.size()) break;
        }
    }
    return out;
}

void fuzz_chunked(std::string_view input, std::size_t split, parser_leniency leniency) {
    const auto whole = decode_pieces(input, input.size(), leniency);
    const auto split_two = decode_pieces(input, split, leniency);
    require(whole.body == split_two.body && whole.consumed == split_two.consumed &&
                whole.state == split_two.state && whole.error == split_two.error &&
                whole.trailers == split_two.trailers,
            "split decode equals whole decode");

    std::string copy(input);
    chunked_decoder in_place(k_limits, leniency);
    auto r = in_place.decode_in_place(copy);
    require(r.consumed() <= copy.size(), "in-place consumed <= size");
    require(static_cast<int>(r.state()) == whole.state, "in-place outcome equals views");
    if (!r.failed()) {
        require(r.data() == whole.body, "in-place body equals views");
        require(r.consumed() == whole.consumed, "in-place consumed equals views");
        require(std::string_view(copy).substr(r.consumed()) == input.substr(r.consumed()),
                "bytes after the body are untouched");
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const std::size_t split = size == 0 ? 0 : (data[0] * 131u + data[size - 1]) % (size + 1);

    for (const parser_leniency leniency : {parser_leniency{}, parser_leniency{true, true, true}}) {
        fuzz_head<request_parser, request_head>(input, split, leniency);
        fuzz_head<response_parser, response_head>(input, split, leniency, method::get);
        fuzz_head<response_parser, response_head>(input, split, leniency, method::head);
        fuzz_chunked(input, split, leniency);

        // The body after a request head, as a server would read it.
        request_parser parser(k_limits, leniency);
        request_head head;
        auto r = parser.parse(input, head);
        if (r.complete() && head.body.kind == body_kind::chunked) {
            const auto body = input.substr(r.consumed());
            fuzz_chunked(body, split % (body.size() + 1), leniency);
        }
    }
    return 0;
}
