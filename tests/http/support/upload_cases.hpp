// tests/http/support/upload_cases.hpp: streamed() uploads for the tests: bodies with a pattern,
// requests that carry them (Content-Length, chunked), sent in slices, and a handler that
// reads a body whole and answers its length and hash.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "http/support/server_fixture.hpp"

namespace snow::testing {

/// What the upload handlers saw.
struct upload_probe {
    bool entered = false;
    std::size_t largest_piece = 0;
    std::size_t pieces = 0;
    std::optional<std::error_code> failure;
    event go; ///< set by the test before a waiting handler reads
};

inline std::uint64_t fnv1a(std::uint64_t hash, std::string_view bytes) {
    for (const char c : bytes) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 1099511628211ULL;
    }
    return hash;
}
constexpr std::uint64_t fnv_basis = 14695981039346656037ULL;

inline std::string summary(std::size_t length, std::uint64_t hash) {
    return fmt::format("{} {:016x}", length, hash);
}

/// Reads the whole body; answers its length and hash.
inline task<http::response> hash_body(http::request& req, upload_probe& p) {
    p.entered = true;
    std::uint64_t hash = fnv_basis;
    std::size_t length = 0;
    for (;;) {
        auto piece = co_await req.body_stream().next();
        if (!piece) {
            p.failure = piece.error();
            co_return http::status_page(400);
        }
        if (piece->empty()) break;
        ++p.pieces;
        p.largest_piece = std::max(p.largest_piece, piece->size());
        length += piece->size();
        hash = fnv1a(hash, *piece);
    }
    CHECK(req.body_stream().finished());
    co_return http::text(summary(length, hash));
}

inline std::string pattern(std::size_t size) {
    std::string body(size, '\0');
    std::uint32_t x = 12345;
    for (auto& c : body) {
        x = x * 1103515245 + 12345;
        c = static_cast<char>(x >> 16);
    }
    return body;
}

inline std::string content_length_upload(std::string_view path, std::string_view body) {
    return fmt::format("POST {} HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n\r\n", path,
                       body.size()) +
           std::string(body);
}

/// `body` as chunks of the sizes in `sizes`, in turn, with an extension on some and a trailer.
inline std::string chunked_upload(std::string_view path, std::string_view body,
                                  const std::vector<std::size_t>& sizes) {
    std::string out =
        fmt::format("POST {} HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n", path);
    std::size_t at = 0;
    std::size_t turn = 0;
    while (at < body.size()) {
        const std::size_t n = std::min(sizes[turn % sizes.size()], body.size() - at);
        // Extensions on some chunks, and hex digits in both cases.
        if (turn % 3 == 0)
            out += fmt::format("{:x};part={}\r\n", n, turn);
        else
            out += fmt::format("{:X}\r\n", n);
        out.append(body.substr(at, n));
        out += "\r\n";
        at += n;
        ++turn;
    }
    out += "0\r\nX-Checked: yes\r\n\r\n";
    return out;
}

/// Sends `bytes` in slices whose sizes cycle through `slices`, so they split the message at
/// many different places.
inline task<bool> send_sliced(raw_client& client, std::string_view bytes,
                              const std::vector<std::size_t>& slices) {
    std::size_t at = 0;
    std::size_t turn = 0;
    while (at < bytes.size()) {
        const std::size_t n = std::min(slices[turn++ % slices.size()], bytes.size() - at);
        const bool sent = co_await client.send(std::string(bytes.substr(at, n)));
        if (!sent) co_return false;
        at += n;
    }
    co_return true;
}

} // namespace snow::testing
