// snow/core/error.hpp: snow's own error codes (end of stream, oversized messages, broken promises…)
// as a std::error_category, so they travel in the same std::error_code as kernel errors.
#pragma once

#include <string>
#include <string_view>
#include <system_error>

#include "snow/core/export.hpp"

namespace snow {

/// The std::error_category of an error enum, made from its name and a function that gives
/// each value's message: `static const enum_category<errc> c("snow", message_for);`.
/// A category that also maps codes to conditions derives from it and overrides
/// default_error_condition or equivalent.
template <typename Enum>
class enum_category : public std::error_category {
public:
    /// Gives the message of one value of the enum.
    using message_function = std::string_view (*)(Enum) noexcept;

    /// A category called `category_name` whose messages come from `message_of`.
    constexpr enum_category(const char* category_name, message_function message_of) noexcept
        : name_(category_name)
        , message_(message_of) {}

    /// The category's name, as given to the constructor.
    const char* name() const noexcept override { return name_; }
    /// The message of `value`, from the message function.
    std::string message(int value) const override {
        return std::string(message_(static_cast<Enum>(value)));
    }

private:
    const char* name_;
    message_function message_;
};

/// snow's own error codes, in the "snow" category (error_category()). An errc converts to
/// a std::error_code wherever one is expected (make_error_code()).
enum class errc {
    eof = 1,          ///< the peer closed the stream before the expected data arrived
    message_too_long, ///< a line or frame exceeded the caller's limit
    broken_promise,   ///< a promise was destroyed without a value
    resolve_failed,   ///< a host name could not be resolved: no such name, or no address
    resolve_timeout,  ///< the name servers did not answer a lookup in time
    invalid_address,  ///< an address or port string could not be parsed
};

/// The "snow" error category of errc.
SNOW_API const std::error_category& error_category() noexcept;

/// `e` as a std::error_code; lets an errc be given wherever an error_code is expected.
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
