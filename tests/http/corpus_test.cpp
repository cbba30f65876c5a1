// tests/http/corpus_test.cpp: runs every raw message in tests/http/cases through the parsers,
// whole, split at every byte offset and fed one byte at a time, and checks the outcome its name
// promises.
//
// A case's name states its expected outcome:
//   ok-<what>.http                      parses to the end (several pipelined messages allowed)
//   incomplete-<what>.http              is a valid prefix that needs more bytes
//   <status>-<errc>[-<what>].http       fails with http::errc::<errc>, which maps to <status>
//   response-<ok|incomplete|error-<errc>>-<what>.http   the same, parsed as responses; "to-head"
//                                       or "to-connect" in the name gives the request's method
// The cases run under small limits (k_limits) so the limit cases stay small too.
#include "snow/http/parser.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <numeric>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "http/guarded_buffer.hpp"
#include "http/http_cases_dir.hpp"

namespace {

using namespace snow::http;
using snow::test::guarded_buffer;
using snow::test::within;

constexpr parser_limits k_limits{
    .max_target_bytes = 512, .max_header_bytes = 2048, .max_headers = 20, .max_body_bytes = 4096};

constexpr std::pair<errc, std::string_view> k_errc_names[] = {
    {errc::malformed_request_line, "malformed_request_line"},
    {errc::invalid_method, "invalid_method"},
    {errc::invalid_target, "invalid_target"},
    {errc::uri_too_long, "uri_too_long"},
    {errc::invalid_version, "invalid_version"},
    {errc::unsupported_version, "unsupported_version"},
    {errc::bare_carriage_return, "bare_carriage_return"},
    {errc::bare_line_feed, "bare_line_feed"},
    {errc::invalid_header_name, "invalid_header_name"},
    {errc::invalid_header_value, "invalid_header_value"},
    {errc::obs_fold, "obs_fold"},
    {errc::whitespace_before_colon, "whitespace_before_colon"},
    {errc::header_too_large, "header_too_large"},
    {errc::too_many_headers, "too_many_headers"},
    {errc::missing_host, "missing_host"},
    {errc::duplicate_host, "duplicate_host"},
    {errc::invalid_host, "invalid_host"},
    {errc::invalid_content_length, "invalid_content_length"},
    {errc::conflicting_content_length, "conflicting_content_length"},
    {errc::content_length_with_transfer_encoding, "content_length_with_transfer_encoding"},
    {errc::invalid_transfer_encoding, "invalid_transfer_encoding"},
    {errc::chunked_not_final, "chunked_not_final"},
    {errc::transfer_encoding_in_http10, "transfer_encoding_in_http10"},
    {errc::unsupported_transfer_coding, "unsupported_transfer_coding"},
    {errc::body_too_large, "body_too_large"},
    {errc::invalid_chunk_size, "invalid_chunk_size"},
    {errc::chunk_size_overflow, "chunk_size_overflow"},
    {errc::malformed_chunk, "malformed_chunk"},
    {errc::chunk_extension_too_large, "chunk_extension_too_large"},
    {errc::malformed_status_line, "malformed_status_line"},
    {errc::invalid_status_code, "invalid_status_code"},
    {errc::unexpected_eof, "unexpected_eof"},
};

std::string_view name_of(errc e) {
    for (auto [code, name] : k_errc_names)
        if (code == e) return name;
    return "?";
}

struct corpus_case {
    std::string name; // file name without .http
    std::string data;
    bool response = false;
    method response_to = method::get;
    std::string expected; // the transcript's last line: "end", "incomplete" or "error <errc>"
    int expected_status = 0;
};

corpus_case load_case(const std::filesystem::path& path) {
    corpus_case c;
    c.name = path.stem().string();
    c.data.resize(std::filesystem::file_size(path));
    std::FILE* file = std::fopen(path.c_str(), "rb");
    REQUIRE(file != nullptr);
    CHECK(std::fread(c.data.data(), 1, c.data.size(), file) == c.data.size());
    std::fclose(file);

    std::string_view rest = c.name;
    if (rest.starts_with("response-")) {
        c.response = true;
        rest.remove_prefix(9);
        if (c.name.find("to-head") != std::string::npos) c.response_to = method::head;
        if (c.name.find("to-connect") != std::string::npos) c.response_to = method::connect;
    }
    auto next = [&rest] {
        auto dash = rest.find('-');
        auto word = rest.substr(0, dash);
        rest = dash == std::string_view::npos ? std::string_view{} : rest.substr(dash + 1);
        return std::string(word);
    };
    auto outcome = next();
    if (outcome == "ok") {
        c.expected = "end";
    } else if (outcome == "incomplete") {
        c.expected = "incomplete";
    } else {
        if (outcome != "error") c.expected_status = std::stoi(outcome);
        c.expected = "error " + next();
    }
    return c;
}

const std::vector<corpus_case>& corpus() {
    static const std::vector<corpus_case> cases = [] {
        std::vector<corpus_case> all;
        for (const auto& entry : std::filesystem::directory_iterator(SNOW_HTTP_CASES))
            if (entry.path().extension() == ".http") all.push_back(load_case(entry.path()));
        std::sort(all.begin(), all.end(),
                  [](const auto& a, const auto& b) { return a.name < b.name; });
        return all;
    }();
    return cases;
}

std::string escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u >= 0x7f || c == '\\')
            out += fmt::format("\\x{:02x}", u);
        else
            out += c;
    }
    return out;
}

// Fields as text; with a buffer, also checks that every view points into it.
std::string describe_fields(header_list fields, std::optional<std::string_view> buffer) {
    std::string out;
    for (const auto& f : fields) {
        if (buffer) {
            CHECK(within(f.name, *buffer));
            CHECK(within(f.value, *buffer));
        }
        out += fmt::format("{}={};", escape(f.name), escape(f.value));
    }
    return out;
}

std::string describe_framing(body_framing body) {
    switch (body.kind) {
    case body_kind::none:
        return "none";
    case body_kind::content_length:
        return fmt::format("length:{}", body.content_length);
    case body_kind::chunked:
        return "chunked";
    case body_kind::until_close:
        return "until-close";
    }
    return "?";
}

/// Plays a connection that receives `data` in pieces ending at each of `cuts`, then the rest:
/// heads are parsed from a buffer that moves on every call (it is re-placed at the guard page),
/// bodies are read by their framing, and each message is described on one line. The last line
/// is the outcome: "end", "incomplete" or "error <errc>".
std::string play(const corpus_case& c, const std::vector<std::size_t>& cuts,
                 guarded_buffer& arena) {
    const std::string_view data = c.data;
    std::string out;
    std::size_t cut = 0;
    std::size_t available = cuts.empty() ? data.size() : cuts[0];
    auto receive_more = [&] {
        if (available == data.size()) return false;
        ++cut;
        available = cut < cuts.size() ? cuts[cut] : data.size();
        return true;
    };

    request_parser requests(k_limits);
    response_parser responses(k_limits);
    chunked_decoder decoder(k_limits);
    request_head request;
    response_head response;
    std::size_t start = 0;
    while (start < data.size()) {
        auto buffer = arena.place_view(data.substr(start, available - start));
        auto r = c.response ? responses.parse(buffer, response, c.response_to)
                            : requests.parse(buffer, request);
        if (r.incomplete()) {
            CHECK(r.consumed() == 0);
            if (!receive_more()) return out + "incomplete";
            continue;
        }
        if (r.failed()) return out + fmt::format("error {}", name_of(r.error()));
        REQUIRE(r.consumed() > 0);
        REQUIRE(r.consumed() <= buffer.size());

        body_framing framing;
        if (c.response) {
            CHECK(within(response.reason, buffer));
            framing = response.body;
            out +=
                fmt::format("{} [{}] 1.{} keep-alive:{} {} {}", response.status,
                            escape(response.reason), response.version_minor, response.keep_alive,
                            describe_framing(framing), describe_fields(response.headers(), buffer));
        } else {
            for (auto v : {request.method_name, request.target, request.path, request.query})
                CHECK(within(v, buffer));
            CHECK(parse_method(request.method_name) == request.method);
            framing = request.body;
            out +=
                fmt::format("{} [{}] path=[{}] query=[{}] 1.{} keep-alive:{} expect:{} {} {}",
                            escape(request.method_name), escape(request.target),
                            escape(request.path), escape(request.query), request.version_minor,
                            request.keep_alive, request.expect_continue, describe_framing(framing),
                            describe_fields(request.headers(), buffer));
        }

        std::size_t pos = start + r.consumed();
        std::string body;
        switch (framing.kind) {
        case body_kind::none:
            break;
        case body_kind::content_length:
            while (available - pos < framing.content_length)
                if (!receive_more()) return out + "\nincomplete";
            body = data.substr(pos, framing.content_length);
            pos += framing.content_length;
            break;
        case body_kind::chunked: {
            decoder.reset();
            for (;;) {
                if (pos == available && !receive_more()) return out + "\nincomplete";
                auto input = arena.place_view(data.substr(pos, available - pos));
                auto d = decoder.decode(input);
                REQUIRE(d.consumed() <= input.size());
                CHECK((d.consumed() > 0 || !d.incomplete()));
                CHECK(within(d.data(), input));
                body += d.data();
                pos += d.consumed();
                if (d.failed()) return out + fmt::format("\nerror {}", name_of(d.error()));
                if (d.complete()) break;
            }
            CHECK(decoder.body_bytes() == body.size());
            out += fmt::format(" trailers:{}", describe_fields(decoder.trailers(), std::nullopt));
            break;
        }
        case body_kind::until_close:
            while (receive_more()) {
            }
            body = data.substr(pos);
            pos = data.size();
            break;
        }
        out += fmt::format(" body=[{}]\n", escape(body));
        start = pos;
    }
    return out + "end";
}

std::string outcome_of(const std::string& transcript) {
    auto newline = transcript.rfind('\n');
    return newline == std::string::npos ? transcript : transcript.substr(newline + 1);
}

} // namespace

TEST_SUITE_BEGIN("http.parser");

TEST_CASE("the corpus is there and covers requests, responses and every rejection") {
    const auto& cases = corpus();
    REQUIRE(cases.size() > 100);
    for (const auto& [code, name] : k_errc_names) {
        if (code == errc::unexpected_eof) continue; // the connection's verdict, not the parser's
        const auto expected = "error " + std::string(name);
        const bool covered = std::any_of(cases.begin(), cases.end(), [&](const corpus_case& c) {
            return c.expected == expected;
        });
        INFO("no case rejected with ", expected);
        CHECK(covered);
    }
}

TEST_CASE("every corpus case has the outcome its name promises") {
    guarded_buffer arena;
    for (const auto& c : corpus()) {
        auto transcript = play(c, {}, arena);
        INFO(c.name, "\n", transcript);
        CHECK(outcome_of(transcript) == c.expected);
        if (c.expected_status != 0) {
            auto code =
                std::find_if(std::begin(k_errc_names), std::end(k_errc_names), [&](auto& e) {
                    return "error " + std::string(e.second) == c.expected;
                });
            REQUIRE(code != std::end(k_errc_names));
            CHECK(status_for(code->first) == c.expected_status);
        }
    }
}

TEST_CASE("a corpus case split at every byte offset parses like the whole") {
    guarded_buffer arena;
    for (const auto& c : corpus()) {
        const auto whole = play(c, {}, arena);
        for (std::size_t at = 1; at < c.data.size(); ++at) {
            auto split = play(c, {at}, arena);
            if (split != whole) {
                INFO(c.name, " split at ", at, "\nwhole:\n", whole, "\nsplit:\n", split);
                CHECK(split == whole);
                break;
            }
        }
    }
}

TEST_CASE("a corpus case fed one byte at a time parses like the whole") {
    guarded_buffer arena;
    for (const auto& c : corpus()) {
        const auto whole = play(c, {}, arena);
        std::vector<std::size_t> cuts(c.data.empty() ? 0 : c.data.size() - 1);
        std::iota(cuts.begin(), cuts.end(), std::size_t{1});
        auto dripped = play(c, cuts, arena);
        INFO(c.name, "\nwhole:\n", whole, "\ndripped:\n", dripped);
        CHECK(dripped == whole);
    }
}

TEST_SUITE_END();
