// snow/net/tls_context.hpp: the TLS configuration shared by many sessions: an OpenSSL
// SSL_CTX with snow's secure defaults (TLS 1.2 or later, peers verified against the system
// bundle, no renegotiation). One context serves every loop thread, so session tickets work
// across them. A server context may hold several certificates and pick one by SNI.
#pragma once

#include <string>
#include <vector>

#include "snow/core/export.hpp"
#include "snow/core/result.hpp"

using SSL_CTX = struct ssl_ctx_st;
using SSL_SESSION = struct ssl_session_st;

namespace snow::net {

/// How a client context checks servers.
struct tls_client_options {
    /// PEM file of the CAs to trust. Empty: the system bundle, loaded once per process
    /// (it honours SSL_CERT_FILE and SSL_CERT_DIR).
    std::string ca_file{};
    /// Accept any certificate and any name, as `curl --insecure` does. Only for tests and
    /// for peers whose identity does not matter: the connection is then open to anyone
    /// who can intercept it.
    bool insecure_skip_verify = false;
};

/// A certificate a server presents, with its private key.
struct tls_identity {
    std::string certificate_file{}; ///< PEM: the certificate, then its chain
    std::string key_file{};         ///< PEM: the private key
};

/// What a server context presents.
struct tls_server_options {
    std::string certificate_file{}; ///< PEM: the certificate, then its chain
    std::string key_file{};         ///< PEM: the private key
    /// More certificates, chosen by the server name a client sends (SNI). Each is filed under
    /// the names its certificate is for, read from its subjectAltName DNS entries (its
    /// subject's CN if it has none), so no name is written twice: an exact name, or a
    /// `*.example.com` wildcard that stands for one whole label, matched without regard to
    /// case. certificate_file's pair comes first; an exact name wins over a wildcard, then
    /// an earlier identity over a later one. A client that sends no name, or one no
    /// certificate is for, is shown certificate_file's.
    std::vector<tls_identity> identities{};
};

/// Shared ownership of one SSL_CTX. Copies refer to the same context.
class SNOW_API tls_context {
public:
    /// A client context: TLS ≥ 1.2, ALPN http/1.1, peers verified unless the options say
    /// otherwise. Errors: tls_errc::configuration if the CA file cannot be loaded.
    static result<tls_context> client(const tls_client_options& options = {});
    /// A server context presenting `options`' certificates. AES-128-GCM is preferred, being
    /// the fastest per core here. With identities, each has an SSL_CTX of its own, switched
    /// to when the ClientHello names it; all of them issue and accept the session tickets
    /// of this one, so resumption works whichever certificate was shown. Errors:
    /// tls_errc::configuration if any certificate or key cannot be loaded, or a key does
    /// not match its certificate.
    static result<tls_context> server(const tls_server_options& options);

    tls_context() noexcept = default;
    ///@{
    /// Copies share the context; a moved-from context is empty.
    tls_context(const tls_context& other) noexcept;
    tls_context& operator=(const tls_context& other) noexcept;
    tls_context(tls_context&& other) noexcept;
    tls_context& operator=(tls_context&& other) noexcept;
    ///@}
    ~tls_context();

    /// The OpenSSL context, still owned by this object.
    SSL_CTX* native_handle() const noexcept { return ctx_; }
    /// Makes this server context issue and accept the session tickets `other` does, by
    /// taking its ticket keys, before this context is put in service: a context rebuilt to
    /// reload certificates keeps the tickets clients already hold resumable. Errors:
    /// tls_errc::configuration if either is not a server context.
    result<void> adopt_ticket_keys(const tls_context& other);
    /// A client context's kept session for `server_name`, to offer in the next handshake
    /// (the caller owns the reference); null if none. TLS 1.3 tickets are given out once.
    SSL_SESSION* take_session(const std::string& server_name) const;
    /// Whether it holds a context.
    explicit operator bool() const noexcept { return ctx_ != nullptr; }
    /// Whether it is a server context.
    bool is_server() const noexcept { return server_; }
    /// Whether peers' certificates are checked (always, unless insecure_skip_verify).
    bool verifies_peer() const noexcept { return verify_; }

private:
    explicit tls_context(SSL_CTX* ctx, bool server, bool verify) noexcept
        : ctx_(ctx)
        , server_(server)
        , verify_(verify) {}

    SSL_CTX* ctx_ = nullptr;
    bool server_ = false;
    bool verify_ = true;
};

} // namespace snow::net
