// snow/core/result.hpp: result<T>, a value or a std::error_code: how every fallible call in snow
// reports failure (C++20 has no std::expected). Errors are values; exceptions are for bugs.
#pragma once

#include <cassert>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

#include "snow/core/error.hpp"

namespace snow {

/// A value of type `T` or a std::error_code, never both: what every fallible call in snow
/// returns. Test it like a pointer (`if (!r) ... r.error()`), then read the value with `*r`
/// or `r->`. value() throws std::system_error when there is none, for callers that treat a
/// failure as a bug. An empty error_code is not a valid error.
template <typename T>
class [[nodiscard]] result {
    static_assert(!std::is_same_v<std::remove_cvref_t<T>, std::error_code>,
                  "result<std::error_code> would be ambiguous");

public:
    /// The type of the value held on success.
    using value_type = T;

    /// A result holding a value made from `value`.
    template <typename U = T>
    requires std::is_constructible_v<T, U&&> &&(!std::is_same_v<std::remove_cvref_t<U>, result>)&&(
        !std::is_same_v<std::remove_cvref_t<U>,
                        std::error_code>)&&(!std::
                                                is_error_code_enum_v<std::remove_cvref_t<
                                                    U>>)&&(!std::is_same_v<std::remove_cvref_t<U>,
                                                                           std::errc>)
        result(U&& value)
        : state_(std::in_place_index<0>, std::forward<U>(value)) {}

    /// A result holding `error`, which must not be the empty error_code.
    result(std::error_code error) noexcept : state_(std::in_place_index<1>, error) {
        assert(error && "a result error must not be the empty error_code");
    }
    /// A result holding the error code of an error enum (snow::errc, snow::http::errc...).
    template <typename E>
    requires std::is_error_code_enum_v<E> result(E error)
    noexcept : result(make_error_code(error)) {}
    /// A result holding a standard error (`std::errc::timed_out`...).
    result(std::errc error) noexcept : result(std::make_error_code(error)) {}

    /// Whether the result holds a value rather than an error.
    bool has_value() const noexcept { return state_.index() == 0; }
    /// Same as has_value().
    explicit operator bool() const noexcept { return has_value(); }

    /// The value; a missing value is a bug in the caller and throws std::system_error.
    T& value() & {
        check();
        return *std::get_if<0>(&state_);
    }
    ///@{
    /// The value; a missing value throws std::system_error with the error.
    const T& value() const& {
        check();
        return *std::get_if<0>(&state_);
    }
    T&& value() && {
        check();
        return std::move(*std::get_if<0>(&state_));
    }
    ///@}

    ///@{
    /// The value, unchecked: only when has_value() is true.
    T& operator*() & noexcept { return *std::get_if<0>(&state_); }
    const T& operator*() const& noexcept { return *std::get_if<0>(&state_); }
    T&& operator*() && noexcept { return std::move(*std::get_if<0>(&state_)); }
    T* operator->() noexcept { return std::get_if<0>(&state_); }
    const T* operator->() const noexcept { return std::get_if<0>(&state_); }
    ///@}

    /// The error; the empty error_code when the result holds a value.
    std::error_code error() const noexcept {
        auto* e = std::get_if<1>(&state_);
        return e ? *e : std::error_code{};
    }

    /// The value, or `fallback` converted to T when the result holds an error.
    template <typename U>
    T value_or(U&& fallback) const& {
        return has_value() ? **this : static_cast<T>(std::forward<U>(fallback));
    }

private:
    void check() const {
        if (!has_value()) throw std::system_error(*std::get_if<1>(&state_));
    }

    std::variant<T, std::error_code> state_;
};

/// The result of an operation that produces nothing but can fail: success, or an error.
template <>
class [[nodiscard]] result<void> {
public:
    result() noexcept = default;
    /// A failed result holding `error`.
    result(std::error_code error) noexcept : error_(error) {}
    /// A failed result holding the error code of an error enum.
    template <typename E>
    requires std::is_error_code_enum_v<E> result(E error)
    noexcept : error_(make_error_code(error)) {}
    /// A failed result holding a standard error.
    result(std::errc error) noexcept : error_(std::make_error_code(error)) {}

    /// Whether the operation succeeded.
    bool has_value() const noexcept { return !error_; }
    /// Same as has_value().
    explicit operator bool() const noexcept { return has_value(); }
    /// Throws std::system_error if the operation failed; does nothing otherwise.
    void value() const {
        if (error_) throw std::system_error(error_);
    }
    /// The error; the empty error_code on success.
    std::error_code error() const noexcept { return error_; }

private:
    std::error_code error_;
};

} // namespace snow
