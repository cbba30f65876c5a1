// snow/net/tls_context.cpp: building client and server SSL_CTXs with snow's defaults.
#include "snow/net/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <utility>

#include "snow/net/tls_error.hpp"

namespace snow::net {
namespace {

constexpr unsigned char alpn_http11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

/// The system's trusted CAs, read once per process: reading the bundle costs milliseconds,
/// and every client context shares the store.
X509_STORE* system_store() {
    static X509_STORE* store = [] {
        X509_STORE* s = X509_STORE_new();
        if (s != nullptr && X509_STORE_set_default_paths(s) != 1) ERR_clear_error();
        return s;
    }();
    return store;
}

void apply_common(SSL_CTX* ctx) {
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    // Renegotiation is refused: it has been a source of attacks, and HTTP/1.1 never needs it.
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    // Idle sessions give their 34 KiB of record buffers back.
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
}

int select_http11(SSL*, const unsigned char** out, unsigned char* out_length,
                  const unsigned char* offered, unsigned int offered_length, void*) {
    unsigned char* selected = nullptr;
    if (SSL_select_next_proto(&selected, out_length, alpn_http11, sizeof alpn_http11, offered,
                              offered_length) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK; // a client without http/1.1 still gets a handshake
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
}

} // namespace

result<tls_context> tls_context::client(const tls_client_options& options) {
    ERR_clear_error();
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == nullptr) return make_error_code(tls_errc::configuration);
    tls_context context(ctx, false, !options.insecure_skip_verify);
    apply_common(ctx);
    SSL_CTX_set_alpn_protos(ctx, alpn_http11, sizeof alpn_http11);
    if (options.insecure_skip_verify) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
        return context;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    if (!options.ca_file.empty()) {
        if (SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr) != 1) {
            ERR_clear_error();
            return make_error_code(tls_errc::configuration);
        }
    } else if (X509_STORE* store = system_store()) {
        SSL_CTX_set1_cert_store(ctx, store);
    }
    return context;
}

result<tls_context> tls_context::server(const tls_server_options& options) {
    ERR_clear_error();
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == nullptr) return make_error_code(tls_errc::configuration);
    tls_context context(ctx, true, false);
    apply_common(ctx);
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                                  "TLS_CHACHA20_POLY1305_SHA256");
    SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20");
    SSL_CTX_set_alpn_select_cb(ctx, &select_http11, nullptr);
    if (SSL_CTX_use_certificate_chain_file(ctx, options.certificate_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        ERR_clear_error();
        return make_error_code(tls_errc::configuration);
    }
    return context;
}

tls_context::tls_context(const tls_context& other) noexcept
    : ctx_(other.ctx_)
    , server_(other.server_)
    , verify_(other.verify_) {
    if (ctx_ != nullptr) SSL_CTX_up_ref(ctx_);
}

tls_context& tls_context::operator=(const tls_context& other) noexcept {
    if (this != &other) *this = tls_context(other);
    return *this;
}

tls_context::tls_context(tls_context&& other) noexcept
    : ctx_(std::exchange(other.ctx_, nullptr))
    , server_(other.server_)
    , verify_(other.verify_) {}

tls_context& tls_context::operator=(tls_context&& other) noexcept {
    if (this != &other) {
        if (ctx_ != nullptr) SSL_CTX_free(ctx_);
        ctx_ = std::exchange(other.ctx_, nullptr);
        server_ = other.server_;
        verify_ = other.verify_;
    }
    return *this;
}

tls_context::~tls_context() {
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
}

} // namespace snow::net
