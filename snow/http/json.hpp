// snow/http/json.hpp: JSON string literals for the records snow writes (the access log's json
// lines, snow-fetch's output). Whatever bytes go in, what comes out is valid JSON.
#pragma once

#include <string>
#include <string_view>

#include "snow/core/export.hpp"

namespace snow::http {

/// What becomes of bytes outside ASCII.
enum class json_bytes {
    /// Valid UTF-8 is kept; any other byte becomes U+FFFD. For text meant to be read.
    utf8,
    /// Each byte is written as a \\u00XX escape: read back as Latin-1 it gives the exact
    /// bytes, which an access log must keep whatever a client sent.
    latin1,
};

/// Appends `text` to `out` as a JSON string literal, quotes included.
SNOW_API void append_json_string(std::string& out, std::string_view text,
                                 json_bytes non_ascii = json_bytes::utf8);

} // namespace snow::http
