// tests/interop/digest.hpp: SHA-256 for the interop suite's transfers: a streaming digest, the
// digest of a file, and a file of pseudo-random bytes to send, made at test time.
#pragma once

#include <openssl/evp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace snow::testing {

/// SHA-256 over bytes given piece by piece; hex() ends it.
class sha256 {
public:
    sha256() : ctx_(EVP_MD_CTX_new()) {
        if (ctx_ == nullptr || EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1)
            throw std::runtime_error("SHA-256 unavailable");
    }
    sha256(const sha256&) = delete;
    sha256& operator=(const sha256&) = delete;
    ~sha256() { EVP_MD_CTX_free(ctx_); }

    void update(std::string_view bytes) { EVP_DigestUpdate(ctx_, bytes.data(), bytes.size()); }

    /// The digest of everything given, in lower-case hex.
    std::string hex() {
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int size = 0;
        EVP_DigestFinal_ex(ctx_, digest, &size);
        static constexpr char digits[] = "0123456789abcdef";
        std::string text;
        for (unsigned int i = 0; i < size; ++i) {
            text += digits[digest[i] >> 4];
            text += digits[digest[i] & 15];
        }
        return text;
    }

private:
    EVP_MD_CTX* ctx_;
};

/// The SHA-256 of a whole file, in hex; the digest of nothing if it cannot be read.
inline std::string file_sha256(const std::string& path) {
    sha256 digest;
    std::ifstream in(path, std::ios::binary);
    std::vector<char> chunk(1 << 16);
    while (in.read(chunk.data(), static_cast<std::streamsize>(chunk.size())) || in.gcount() > 0)
        digest.update({chunk.data(), static_cast<std::size_t>(in.gcount())});
    return digest.hex();
}

/// Writes `size` pseudo-random bytes (a fixed seed: every run sends the same) to `path`,
/// after `prefix`; returns the SHA-256 of the random bytes alone.
inline std::string write_random_file(const std::string& path, std::size_t size,
                                     std::string_view prefix = {}) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << prefix;
    std::mt19937_64 random(20240613);
    sha256 digest;
    std::string chunk;
    for (std::size_t written = 0; written < size; written += chunk.size()) {
        chunk.resize(std::min<std::size_t>(size - written, 1 << 16));
        for (std::size_t i = 0; i + 8 <= chunk.size(); i += 8) {
            const std::uint64_t word = random();
            std::memcpy(chunk.data() + i, &word, 8);
        }
        digest.update(chunk);
        out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    }
    if (!out) throw std::runtime_error("cannot write " + path);
    return digest.hex();
}

} // namespace snow::testing
