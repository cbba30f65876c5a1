// snow/http/date.hpp: the IMF-fixdate for the Date header ("Sun, 22 Nov 2026 06:43:00 GMT"),
// formatted once per second per thread rather than once per response.
#pragma once

#include <string_view>

#include "snow/core/export.hpp"

namespace snow::http {

/// The current time as an IMF-fixdate. The view is valid until the next call on this thread.
SNOW_API std::string_view http_date() noexcept;

} // namespace snow::http
