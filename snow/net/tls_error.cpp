// snow/net/tls_error.cpp: messages of the TLS error categories.
#include "snow/net/tls_error.hpp"

#include <openssl/x509.h>

#include <string>

#include "snow/core/error.hpp"

namespace snow::net {
namespace {

std::string_view message_for(tls_errc e) noexcept {
    switch (e) {
    case tls_errc::handshake_failed:
        return "TLS handshake failed";
    case tls_errc::verify_failed:
        return "TLS certificate verification failed";
    case tls_errc::truncated:
        return "TLS stream truncated: closed without close_notify";
    case tls_errc::broken:
        return "TLS session broken";
    case tls_errc::configuration:
        return "TLS certificate, key or CA file could not be loaded";
    }
    return "unknown TLS error";
}

class verify_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "snow.tls.verify"; }
    std::string message(int value) const override {
        return std::string("TLS certificate verification failed: ") +
               X509_verify_cert_error_string(value);
    }
    std::error_condition default_error_condition(int) const noexcept override {
        return {static_cast<int>(tls_errc::verify_failed), tls_category()};
    }
};

} // namespace

const std::error_category& tls_category() noexcept {
    static const enum_category<tls_errc> instance("snow.tls", message_for);
    return instance;
}

const std::error_category& tls_verify_category() noexcept {
    static const verify_category instance;
    return instance;
}

} // namespace snow::net
