// tests/http/support/http_cases.hpp: the raw requests of tests/http/cases that a server must
// reject, read by file name for the suites that replay them over a live connection. A case's
// name states its outcome (tests/http/corpus_test.cpp lists the scheme); the rejected ones are
// <status>-<errc>[-<what>].http, written against the small limits below.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "snow/http/parser.hpp"

#include "http/http_cases_dir.hpp"

namespace snow::testing {

/// The limits the cases are written against (corpus_test's k_limits): small, so that the
/// cases over a limit (413, 414, 431) stay small too.
inline constexpr http::parser_limits http_case_limits{
    .max_target_bytes = 512, .max_header_bytes = 2048, .max_headers = 20, .max_body_bytes = 4096};

struct http_case {
    std::string name;  ///< the file name without .http
    std::string bytes; ///< the file's content, exactly
    int status = 0;    ///< the status its rejection is answered with
};

/// The bytes of the file at `path`.
inline std::string read_http_case(const std::filesystem::path& path) {
    std::string bytes(std::filesystem::file_size(path), '\0');
    std::FILE* file = std::fopen(path.c_str(), "rb");
    REQUIRE_MESSAGE(file != nullptr, "cannot open ", path.string());
    const std::size_t read = std::fread(bytes.data(), 1, bytes.size(), file);
    std::fclose(file);
    REQUIRE_MESSAGE(read == bytes.size(), "short read from ", path.string());
    return bytes;
}

/// Every request case that names a status (<status>-...), sorted by name; read once.
inline const std::vector<http_case>& rejected_request_cases() {
    static const std::vector<http_case> cases = [] {
        std::vector<http_case> all;
        for (const auto& entry : std::filesystem::directory_iterator(SNOW_HTTP_CASES)) {
            if (entry.path().extension() != ".http") continue;
            const std::string name = entry.path().stem().string();
            const auto dash = name.find('-');
            const std::string_view first = std::string_view(name).substr(0, dash);
            if (dash == std::string::npos || first.size() != 3 ||
                !std::all_of(first.begin(), first.end(),
                             [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
                continue; // ok-, incomplete- and response- cases
            all.push_back({name, read_http_case(entry.path()), std::stoi(std::string(first))});
        }
        std::sort(all.begin(), all.end(),
                  [](const http_case& a, const http_case& b) { return a.name < b.name; });
        return all;
    }();
    return cases;
}

} // namespace snow::testing
