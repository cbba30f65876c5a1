// snow/net/tls_context.cpp: building client and server SSL_CTXs with snow's defaults, a
// server's choice of certificate by SNI, and its ticket keys carried over to a rebuilt one.
#include "snow/net/tls_context.hpp"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <array>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

#include "snow/net/detail/sni_table.hpp"
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

/// A client context's resumable sessions, by server name: the next connection to that
/// name offers one and skips the certificate exchange and a round of key agreement. Shared
/// by every thread that uses the context. TLS 1.3 tickets are used once (RFC 8446 §C.4),
/// so a session is taken out as it is offered; the server sends fresh ones each time.
class session_cache {
public:
    static constexpr std::size_t max_names = 1024;

    ~session_cache() {
        for (auto& [name, session] : sessions_) SSL_SESSION_free(session);
    }

    /// Keeps `session` (whose reference this takes) for `name`.
    void put(const char* name, SSL_SESSION* session) {
        std::lock_guard lock(mutex_);
        if (sessions_.size() >= max_names && sessions_.count(name) == 0) {
            // Full: drop one, any one; a miss costs one full handshake.
            SSL_SESSION_free(sessions_.begin()->second);
            sessions_.erase(sessions_.begin());
        }
        auto [it, fresh] = sessions_.try_emplace(name, session);
        if (!fresh) {
            SSL_SESSION_free(it->second);
            it->second = session;
        }
    }

    /// A session to offer to `name`, with a reference for the caller; null if none.
    SSL_SESSION* take(const std::string& name) {
        std::lock_guard lock(mutex_);
        auto it = sessions_.find(name);
        if (it == sessions_.end()) return nullptr;
        SSL_SESSION* session = it->second;
        if (SSL_SESSION_get_protocol_version(session) >= TLS1_3_VERSION) {
            sessions_.erase(it); // single use: the caller gets our reference
        } else {
            SSL_SESSION_up_ref(session); // TLS 1.2 sessions may be offered again
        }
        return session;
    }

private:
    std::mutex mutex_;
    std::unordered_map<std::string, SSL_SESSION*> sessions_;
};

int cache_index() {
    static const int index = SSL_CTX_get_ex_new_index(
        0, nullptr, nullptr, nullptr, [](void*, void* cache, CRYPTO_EX_DATA*, int, long, void*) {
            delete static_cast<session_cache*>(cache);
        });
    return index;
}

session_cache* cache_of(SSL_CTX* ctx) {
    return static_cast<session_cache*>(SSL_CTX_get_ex_data(ctx, cache_index()));
}

/// OpenSSL's new-session callback: a session (or TLS 1.3 ticket) the server just issued.
int remember_session(SSL* ssl, SSL_SESSION* session) {
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    session_cache* cache = cache_of(SSL_get_SSL_CTX(ssl));
    if (name == nullptr || cache == nullptr) return 0;
    // A copy: the connection's own session object is marked unresumable when the
    // connection ends without close_notify (an idle pooled connection simply closed), which
    // TLS since 1.1 does not require of a session.
    if (SSL_SESSION* copy = SSL_SESSION_dup(session)) cache->put(name, copy);
    return 0; // OpenSSL keeps (and frees) its own reference
}

/// A server context for one certificate, or null (the error queue cleared) if the files do
/// not load or the key is not the certificate's.
SSL_CTX* new_server_context(const std::string& certificate_file, const std::string& key_file) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == nullptr) {
        ERR_clear_error();
        return nullptr;
    }
    apply_common(ctx);
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                                  "TLS_CHACHA20_POLY1305_SHA256");
    // TLS 1.2: AES-128-GCM named first, since OpenSSL sorts "ECDHE+AESGCM" strongest first.
    SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM+AES128:ECDHE+AESGCM:ECDHE+CHACHA20");
    SSL_CTX_set_alpn_select_cb(ctx, &select_http11, nullptr);
    if (SSL_CTX_use_certificate_chain_file(ctx, certificate_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        ERR_clear_error();
        SSL_CTX_free(ctx);
        return nullptr;
    }
    return ctx;
}

int sni_index() {
    static const int index = SSL_CTX_get_ex_new_index(
        0, nullptr, nullptr, nullptr, [](void*, void* table, CRYPTO_EX_DATA*, int, long, void*) {
            delete static_cast<detail::sni_table*>(table);
        });
    return index;
}

/// OpenSSL's server-name callback, run on the ClientHello: presents the certificate filed
/// under the name the client sent. Every context switched to is set up alike (ALPN, ciphers),
/// and OpenSSL keeps using the first one's session-ticket keys and session cache.
int choose_identity(SSL* ssl, int*, void* table) {
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (name == nullptr) return SSL_TLSEXT_ERR_NOACK; // no SNI: the default certificate
    SSL_CTX* chosen = static_cast<const detail::sni_table*>(table)->find(name);
    if (chosen != nullptr && chosen != SSL_get_SSL_CTX(ssl) &&
        SSL_set_SSL_CTX(ssl, chosen) == nullptr) {
        ERR_clear_error();
        return SSL_TLSEXT_ERR_ALERT_FATAL; // out of memory: the handshake fails
    }
    // No match leaves the default, which the client's certificate check will refuse unless
    // it covers the name after all.
    return SSL_TLSEXT_ERR_OK;
}

} // namespace

SSL_SESSION* tls_context::take_session(const std::string& server_name) const {
    session_cache* cache = ctx_ != nullptr ? cache_of(ctx_) : nullptr;
    return cache != nullptr ? cache->take(server_name) : nullptr;
}

result<tls_context> tls_context::client(const tls_client_options& options) {
    ERR_clear_error();
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == nullptr) return make_error_code(tls_errc::configuration);
    tls_context context(ctx, false, !options.insecure_skip_verify);
    apply_common(ctx);
    SSL_CTX_set_alpn_protos(ctx, alpn_http11, sizeof alpn_http11);
    // Resumable sessions are kept per server name, outside OpenSSL's own cache (which a
    // client does not look sessions up in).
    SSL_CTX_set_ex_data(ctx, cache_index(), new session_cache);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, &remember_session);
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
    SSL_CTX* ctx = new_server_context(options.certificate_file, options.key_file);
    if (ctx == nullptr) return make_error_code(tls_errc::configuration);
    tls_context context(ctx, true, false);
    if (options.identities.empty()) return context;
    auto table = std::make_unique<detail::sni_table>();
    table->add(ctx, false);
    for (const tls_identity& identity : options.identities) {
        SSL_CTX* other = new_server_context(identity.certificate_file, identity.key_file);
        if (other == nullptr) return make_error_code(tls_errc::configuration);
        table->add(other, true);
    }
    // The table lives as long as the default context, which every session made from it
    // keeps (as its session context) even after switching to another identity's.
    detail::sni_table* names = table.get();
    if (SSL_CTX_set_ex_data(ctx, sni_index(), names) != 1) {
        ERR_clear_error();
        return make_error_code(tls_errc::configuration);
    }
    (void)table.release();
    // SSL_CTX_set_tlsext_servername_callback() and _arg() are macros with C casts; these are
    // what they expand to.
    SSL_CTX_callback_ctrl(ctx, SSL_CTRL_SET_TLSEXT_SERVERNAME_CB,
                          reinterpret_cast<void (*)()>(&choose_identity));
    SSL_CTX_ctrl(ctx, SSL_CTRL_SET_TLSEXT_SERVERNAME_ARG, 0, names);
    return context;
}

result<void> tls_context::adopt_ticket_keys(const tls_context& other) {
    if (!is_server() || !other.is_server() || ctx_ == nullptr || other.ctx_ == nullptr)
        return make_error_code(tls_errc::configuration);
    // The key name, HMAC secret and AES key that OpenSSL 3 seals tickets with, 80 bytes.
    // SSL_CTX_get/set_tlsext_ticket_keys() are macros with C casts; these are what they
    // expand to. Every SNI identity's context defers to this one's keys (the session context).
    std::array<unsigned char, 80> keys{};
    const long size = static_cast<long>(keys.size());
    ERR_clear_error();
    if (SSL_CTX_ctrl(other.ctx_, SSL_CTRL_GET_TLSEXT_TICKET_KEYS, size, keys.data()) != 1 ||
        SSL_CTX_ctrl(ctx_, SSL_CTRL_SET_TLSEXT_TICKET_KEYS, size, keys.data()) != 1) {
        OPENSSL_cleanse(keys.data(), keys.size());
        ERR_clear_error();
        return make_error_code(tls_errc::configuration);
    }
    OPENSSL_cleanse(keys.data(), keys.size());
    return {};
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
