// snow/core/error.hpp: snow's own error codes (end of stream, oversized messages, broken promises…)
// as a std::error_category, so they travel in the same std::error_code as kernel errors.
#pragma once

#include <system_error>

namespace snow {

enum class errc {
    eof = 1,          ///< the peer closed the stream before the expected data arrived
    message_too_long, ///< a line or frame exceeded the caller's limit
    broken_promise,   ///< a promise was destroyed without a value
    resolve_failed,   ///< a host name could not be resolved
    invalid_address,  ///< an address or port string could not be parsed
    would_block,      ///< an operation that must not wait found nothing ready
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), error_category()};
}

/// A kernel result (negative errno) as an error code.
inline std::error_code system_error_code(int errno_value) noexcept {
    return {errno_value, std::system_category()};
}

} // namespace snow

template <>
struct std::is_error_code_enum<snow::errc> : std::true_type {};
