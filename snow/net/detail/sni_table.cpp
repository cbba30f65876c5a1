// snow/net/detail/sni_table.cpp: reading a certificate's names, and matching a server name
// against them the way a client's certificate check will (a wildcard covers one label).
#include "snow/net/detail/sni_table.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>

namespace snow::net::detail {
namespace {

char lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowered(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), &lower);
    return out;
}

/// A name as the certificate spells it, unless it could never match a server name.
void keep(std::vector<std::string>& names, const unsigned char* data, int length) {
    if (data == nullptr || length <= 0) return;
    std::string_view name(reinterpret_cast<const char*>(data), static_cast<std::size_t>(length));
    if (name.find('\0') != std::string_view::npos) return; // a forged name; never sent as SNI
    names.push_back(lowered(name));
}

} // namespace

sni_table::~sni_table() {
    for (SSL_CTX* ctx : owned_) SSL_CTX_free(ctx);
}

std::vector<std::string> sni_table::names_of(X509* certificate) {
    std::vector<std::string> names;
    if (certificate == nullptr) return names;
    auto* alt = static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr));
    for (int i = 0; alt != nullptr && i < sk_GENERAL_NAME_num(alt); ++i) {
        const GENERAL_NAME* entry = sk_GENERAL_NAME_value(alt, i);
        if (entry->type == GEN_DNS)
            keep(names, ASN1_STRING_get0_data(entry->d.dNSName),
                 ASN1_STRING_length(entry->d.dNSName));
    }
    if (alt != nullptr) GENERAL_NAMES_free(alt);
    if (!names.empty()) return names;
    X509_NAME* subject = X509_get_subject_name(certificate);
    const int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (at < 0) return names;
    unsigned char* utf8 = nullptr;
    const int length =
        ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at)));
    keep(names, utf8, length);
    OPENSSL_free(utf8);
    return names;
}

void sni_table::add(SSL_CTX* ctx, bool owned) {
    if (owned) owned_.push_back(ctx); // first, so the reference is dropped whatever follows
    for (std::string& name : names_of(SSL_CTX_get0_certificate(ctx))) {
        if (name.size() > 2 && name.starts_with("*.")) {
            name.erase(0, 1); // "*.example.com" is kept as ".example.com"
            wildcards_.push_back({std::move(name), ctx});
        } else if (name.find('*') == std::string::npos) {
            exact_.push_back({std::move(name), ctx});
        } // a partial wildcard ("w*.example.com") is left to the default, as clients refuse it
    }
}

SSL_CTX* sni_table::find(std::string_view server_name) const {
    // SNI carries no trailing dot (RFC 6066 §3), but a name with one means the same host.
    if (server_name.ends_with('.')) server_name.remove_suffix(1);
    if (server_name.empty()) return nullptr;
    const std::string name = lowered(server_name);
    for (const entry& e : exact_) {
        if (e.name == name) return e.ctx;
    }
    // A wildcard stands for exactly one whole, non-empty leftmost label.
    const std::size_t dot = name.find('.');
    if (dot == 0 || dot == std::string::npos) return nullptr;
    const std::string_view rest = std::string_view(name).substr(dot);
    for (const entry& e : wildcards_) {
        if (e.name == rest) return e.ctx;
    }
    return nullptr;
}

} // namespace snow::net::detail
