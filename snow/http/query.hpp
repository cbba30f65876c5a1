// snow/http/query.hpp: percent-decoding and query-string splitting, for handlers that read
// the raw path and query the parser hands them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "snow/core/export.hpp"

namespace snow::http {

/// `s` with each %XX replaced by its byte (and '+' by a space when `plus_as_space`, as in
/// form-encoded queries). nullopt if a '%' is not followed by two hex digits. Decoded bytes
/// are not checked: the result may hold NUL or invalid UTF-8.
SNOW_API std::optional<std::string> percent_decode(std::string_view s, bool plus_as_space = false);

/// The `key=value` pairs of a raw query (the part after '?'), split on '&', with '+' as a
/// space and percent-escapes decoded. A pair without '=' has an empty value, empty pairs are
/// skipped, and a malformed escape is kept literally, as browsers do.
SNOW_API std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query);

} // namespace snow::http
