// snow/http/websocket/handshake.cpp: checking an upgrade request, and the accept key (SHA-1
// through OpenSSL's EVP interface, which snow links for TLS already).
#include "snow/http/websocket/handshake.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>

#include "snow/http/grammar.hpp"

namespace snow::http::ws {

namespace {

class handshake_error_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "websocket handshake"; }
    std::string message(int code) const override {
        switch (static_cast<handshake_errc>(code)) {
        case handshake_errc::not_get:
            return "a WebSocket upgrade must be a GET";
        case handshake_errc::not_http11:
            return "a WebSocket upgrade needs HTTP/1.1";
        case handshake_errc::missing_upgrade:
            return "no Upgrade: websocket";
        case handshake_errc::missing_connection_upgrade:
            return "no Connection: upgrade";
        case handshake_errc::unsupported_version:
            return "Sec-WebSocket-Version must be 13";
        case handshake_errc::invalid_key:
            return "Sec-WebSocket-Key must be base64 of 16 bytes";
        }
        return "websocket handshake error " + std::to_string(code);
    }
};

bool is_base64_char(char c) noexcept {
    return is_alpha(c) || is_digit(c) || c == '+' || c == '/';
}

/// Whether any of the fields named `name` lists `token`.
bool any_lists(header_list headers, std::string_view name, std::string_view token) {
    for (std::string_view value : headers.get_all(name))
        if (list_contains(value, token)) return true;
    return false;
}

} // namespace

const std::error_category& handshake_category() noexcept {
    static const handshake_error_category category;
    return category;
}

int status_for(handshake_errc e) noexcept {
    return e == handshake_errc::unsupported_version ? 426 : 400;
}

bool is_valid_key(std::string_view key) noexcept {
    // 16 bytes are 22 characters of base64 and "==" of padding.
    if (key.size() != 24 || key[22] != '=' || key[23] != '=') return false;
    for (std::size_t i = 0; i < 22; ++i)
        if (!is_base64_char(key[i])) return false;
    return true;
}

std::string accept_key(std::string_view key) {
    static constexpr std::string_view guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    std::string input;
    input.reserve(key.size() + guid.size());
    input.append(key).append(guid);
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int digest_size = 0;
    if (EVP_Digest(input.data(), input.size(), digest.data(), &digest_size, EVP_sha1(), nullptr) !=
        1)
        return {}; // SHA-1 unavailable: no valid answer exists, and the client refuses ours
    // Base64 of 20 bytes is 28 characters; EVP_EncodeBlock adds a NUL.
    std::array<unsigned char, 4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1> encoded{};
    const int length =
        EVP_EncodeBlock(encoded.data(), digest.data(), static_cast<int>(digest_size));
    return std::string(reinterpret_cast<const char*>(encoded.data()),
                       static_cast<std::size_t>(length));
}

std::string make_client_key() {
    std::array<unsigned char, 16> nonce{};
    if (RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) != 1) return {};
    std::array<unsigned char, 4 * ((nonce.size() + 2) / 3) + 1> encoded{}; // with its NUL
    const int length =
        EVP_EncodeBlock(encoded.data(), nonce.data(), static_cast<int>(nonce.size()));
    return std::string(reinterpret_cast<const char*>(encoded.data()),
                       static_cast<std::size_t>(length));
}

result<masking_key> make_masking_key() noexcept {
    masking_key key{};
    if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) != 1)
        return std::errc::resource_unavailable_try_again;
    return key;
}

result<handshake_reply> check_upgrade(http::method method, int version_minor, header_list headers,
                                      std::span<const std::string> subprotocols) {
    if (method != http::method::get) return handshake_errc::not_get;
    if (version_minor < 1) return handshake_errc::not_http11;
    if (!any_lists(headers, "Upgrade", "websocket")) return handshake_errc::missing_upgrade;
    if (!any_lists(headers, "Connection", "upgrade"))
        return handshake_errc::missing_connection_upgrade;
    const auto versions = headers.get_all("Sec-WebSocket-Version");
    if (versions.size() != 1 || versions.front() != "13")
        return handshake_errc::unsupported_version;
    const auto keys = headers.get_all("Sec-WebSocket-Key");
    if (keys.size() != 1 || !is_valid_key(keys.front())) return handshake_errc::invalid_key;

    handshake_reply reply;
    reply.accept = accept_key(keys.front());
    // Subprotocol names are compared exactly, as the registry spells them.
    const auto offered = headers.get_all("Sec-WebSocket-Protocol");
    for (const std::string& mine : subprotocols) {
        for (std::string_view list : offered) {
            for_each_list_element(list, [&](std::string_view name) {
                if (name == mine) reply.subprotocol = mine;
                return reply.subprotocol.empty();
            });
        }
        if (!reply.subprotocol.empty()) break;
    }
    return reply;
}

} // namespace snow::http::ws
