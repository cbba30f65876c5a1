// snow/net/detail/sni_table.hpp: a server context's certificates by name, for SNI. Each one is
// filed under the names its certificate is for, so a ClientHello's server name picks it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

using SSL_CTX = struct ssl_ctx_st;
using X509 = struct x509_st;

namespace snow::net::detail {

class sni_table {
public:
    sni_table() = default;
    sni_table(const sni_table&) = delete;
    sni_table& operator=(const sni_table&) = delete;
    /// Drops the references the table took.
    ~sni_table();

    /// Files `ctx` under the names of the certificate it presents. With `owned`, the table
    /// takes the caller's reference; the default context is filed unowned, since the table
    /// lives in that context's own ex_data.
    void add(SSL_CTX* ctx, bool owned);
    /// The context for the server name a client sent: an exact name first, then a wildcard,
    /// each in the order added; ASCII case does not matter. Null when no name matches.
    SSL_CTX* find(std::string_view server_name) const;

    /// The DNS names `certificate` is for, lowercased: its subjectAltName DNS entries, or,
    /// with none, its subject's CN (as OpenSSL's own host check does).
    static std::vector<std::string> names_of(X509* certificate);

private:
    struct entry {
        std::string name; // for a wildcard "*.example.com": ".example.com"
        SSL_CTX* ctx = nullptr;
    };

    std::vector<entry> exact_;
    std::vector<entry> wildcards_;
    std::vector<SSL_CTX*> owned_;
};

} // namespace snow::net::detail
