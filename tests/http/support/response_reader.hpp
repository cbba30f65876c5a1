// tests/http/support/response_reader.hpp: a small, deliberately independent HTTP/1.x
// response parser for the server tests: status line, header fields, and a body framed by
// Content-Length, chunked coding or the end of the stream. It shares no code with
// snow/http, so a bug in the server's writer cannot hide behind the same bug here.
#pragma once

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace snow::testing {

inline bool same_text_ignoring_case(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

struct raw_response {
    std::string version; ///< "HTTP/1.1"
    int status = 0;
    std::string reason;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;                                          ///< de-chunked
    std::vector<std::pair<std::string, std::string>> trailers; ///< after a chunked body
    bool chunked = false;
    std::string raw; ///< the bytes the response took on the wire

    /// The first value of `name` (case-insensitive); none if absent.
    std::optional<std::string> header(std::string_view name) const {
        for (const auto& [key, value] : headers)
            if (same_text_ignoring_case(key, name)) return value;
        return std::nullopt;
    }
    std::size_t header_count(std::string_view name) const {
        return static_cast<std::size_t>(
            std::count_if(headers.begin(), headers.end(), [&](const auto& field) {
                return same_text_ignoring_case(field.first, name);
            }));
    }
    /// The response announces that the server closes the connection after it.
    bool announces_close() const {
        auto connection = header("Connection");
        return connection && connection->find("close") != std::string::npos;
    }
};

enum class parse_state { complete, incomplete, malformed };

struct parse_outcome {
    parse_state state = parse_state::incomplete;
    raw_response response;
    std::size_t consumed = 0; ///< bytes of the input the response took, once complete
};

namespace detail {

inline std::string_view trim(std::string_view text) noexcept {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

/// Parses "Name: value" lines of [from, end-of-section) into `out`; false if one is bad.
inline bool parse_fields(std::string_view section,
                         std::vector<std::pair<std::string, std::string>>& out) {
    while (!section.empty()) {
        auto end = section.find("\r\n");
        std::string_view line = section.substr(0, end);
        section.remove_prefix(end == std::string_view::npos ? section.size() : end + 2);
        auto colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) return false;
        out.emplace_back(std::string(line.substr(0, colon)),
                         std::string(trim(line.substr(colon + 1))));
    }
    return true;
}

/// Decodes a chunked body starting at `bytes`; returns the bytes consumed, 0 if more are
/// needed, npos if malformed.
inline std::size_t decode_chunked(std::string_view bytes, raw_response& response) {
    std::size_t at = 0;
    for (;;) {
        auto line_end = bytes.find("\r\n", at);
        if (line_end == std::string_view::npos) return 0;
        std::string_view size_line = bytes.substr(at, line_end - at);
        size_line = size_line.substr(0, size_line.find(';'));
        std::size_t size = 0;
        auto [ptr, ec] =
            std::from_chars(size_line.data(), size_line.data() + size_line.size(), size, 16);
        if (ec != std::errc{} || ptr != size_line.data() + size_line.size() || size_line.empty())
            return std::string_view::npos;
        at = line_end + 2;
        if (size == 0) {
            auto trailer_end = bytes.find("\r\n", at);
            if (trailer_end == std::string_view::npos) return 0;
            if (trailer_end == at) return at + 2; // no trailer fields
            auto section_end = bytes.find("\r\n\r\n", at);
            if (section_end == std::string_view::npos) return 0;
            if (!parse_fields(bytes.substr(at, section_end - at), response.trailers))
                return std::string_view::npos;
            return section_end + 4;
        }
        if (bytes.size() < at + size + 2) return 0;
        if (bytes.substr(at + size, 2) != "\r\n") return std::string_view::npos;
        response.body.append(bytes.substr(at, size));
        at += size + 2;
    }
}

} // namespace detail

/// Parses one response from the front of `bytes`. `head_request`: the response answers a
/// HEAD, so it has no body whatever its headers say. `at_eof`: the peer has closed, so a
/// body framed by the end of the stream is complete.
inline parse_outcome parse_response(std::string_view bytes, bool head_request, bool at_eof) {
    parse_outcome out;
    auto head_end = bytes.find("\r\n\r\n");
    if (head_end == std::string_view::npos) return out;
    std::string_view head = bytes.substr(0, head_end + 2);
    auto status_end = head.find("\r\n");
    std::string_view status_line = head.substr(0, status_end);
    raw_response& r = out.response;

    // "HTTP/1.1 200 OK"
    auto first_space = status_line.find(' ');
    if (first_space == std::string_view::npos || !status_line.starts_with("HTTP/1.")) {
        out.state = parse_state::malformed;
        return out;
    }
    r.version = std::string(status_line.substr(0, first_space));
    std::string_view rest = status_line.substr(first_space + 1);
    auto [ptr, ec] =
        std::from_chars(rest.data(), rest.data() + std::min<std::size_t>(rest.size(), 3), r.status);
    if (ec != std::errc{} || ptr != rest.data() + 3 || rest.size() < 3) {
        out.state = parse_state::malformed;
        return out;
    }
    if (rest.size() > 4) r.reason = std::string(rest.substr(4));
    std::string_view fields = head.substr(status_end + 2);
    // parse_fields wants lines without the final CRLF of the section.
    if (fields.size() >= 2) fields.remove_suffix(2);
    if (!fields.empty() && !detail::parse_fields(fields, r.headers)) {
        out.state = parse_state::malformed;
        return out;
    }

    const std::size_t body_start = head_end + 4;
    std::string_view body = bytes.substr(body_start);
    const bool no_body =
        head_request || (r.status >= 100 && r.status < 200) || r.status == 204 || r.status == 304;
    auto transfer = r.header("Transfer-Encoding");
    auto length = r.header("Content-Length");
    std::size_t total = 0;
    if (no_body) {
        total = body_start;
    } else if (transfer && transfer->find("chunked") != std::string::npos) {
        r.chunked = true;
        std::size_t used = detail::decode_chunked(body, r);
        if (used == std::string_view::npos) {
            out.state = parse_state::malformed;
            return out;
        }
        if (used == 0) return out;
        total = body_start + used;
    } else if (length) {
        std::size_t n = 0;
        auto [p, e] = std::from_chars(length->data(), length->data() + length->size(), n);
        if (e != std::errc{} || p != length->data() + length->size()) {
            out.state = parse_state::malformed;
            return out;
        }
        if (body.size() < n) return out;
        r.body = std::string(body.substr(0, n));
        total = body_start + n;
    } else {
        if (!at_eof) return out; // the body runs until the server closes
        r.body = std::string(body);
        total = bytes.size();
    }
    r.raw = std::string(bytes.substr(0, total));
    out.consumed = total;
    out.state = parse_state::complete;
    return out;
}

} // namespace snow::testing
