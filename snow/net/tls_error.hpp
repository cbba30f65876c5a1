// snow/net/tls_error.hpp: what can go wrong in a TLS session, as error codes. A failed
// certificate check carries OpenSSL's verify result in a category of its own, so "hostname
// mismatch" and "certificate has expired" stay apart; is_tls_error() tells any of them.
#pragma once

#include <system_error>
#include <type_traits>

#include "snow/core/export.hpp"

namespace snow::net {

/// TLS failures, in the "snow.tls" category.
enum class tls_errc {
    handshake_failed = 1, ///< the handshake failed (protocol, version or cipher mismatch, …)
    verify_failed,        ///< the peer's certificate was not accepted (see verify_error)
    truncated,            ///< the peer closed the connection without a close_notify
    broken,               ///< a protocol error, or a write cut short: the session is unusable
    configuration,        ///< a certificate, key or CA file could not be loaded
};

/// The "snow.tls" error category of tls_errc.
SNOW_API const std::error_category& tls_category() noexcept;

/// `e` as a std::error_code.
inline std::error_code make_error_code(tls_errc e) noexcept {
    return {static_cast<int>(e), tls_category()};
}

/// The category of certificate verification results: its values are OpenSSL's X509_V_ERR_*
/// codes (X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_CERT_HAS_EXPIRED, …), its messages
/// OpenSSL's; its default condition is tls_errc::verify_failed.
SNOW_API const std::error_category& tls_verify_category() noexcept;

/// A failed certificate check with OpenSSL's verify result `x509_result`.
inline std::error_code verify_error(long x509_result) noexcept {
    return {static_cast<int>(x509_result), tls_verify_category()};
}

/// Whether `e` is a TLS failure of either category.
inline bool is_tls_error(const std::error_code& e) noexcept {
    return e.category() == tls_category() || e.category() == tls_verify_category();
}

} // namespace snow::net

template <>
struct std::is_error_code_enum<snow::net::tls_errc> : std::true_type {};
