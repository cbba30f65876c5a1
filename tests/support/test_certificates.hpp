// tests/support/test_certificates.hpp: a throwaway PKI made at test time with OpenSSL: a CA,
// server certificates for localhost and 127.0.0.1 (valid, expired, for another name), all
// written as PEM files into a fresh temporary folder that is removed afterwards.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

namespace snow::testing {

class test_certificates {
public:
    test_certificates() {
        char pattern[] = "/tmp/snow-tls-XXXXXX";
        if (mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
        dir_ = pattern;
        ca_key_.reset(EVP_EC_gen("P-256"));
        ca_.reset(
            make_certificate("snow test CA", "", ca_key_.get(), nullptr, nullptr, 0, 365, true));
        write_certificate(ca_.get(), ca_file());
        issue("server", "DNS:localhost,IP:127.0.0.1,IP:::1", 0, 30);
        issue("expired", "DNS:localhost,IP:127.0.0.1", -30, -1);
        issue("other", "DNS:other.example", 0, 30);
    }
    test_certificates(const test_certificates&) = delete;
    test_certificates& operator=(const test_certificates&) = delete;
    ~test_certificates() {
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }

    std::string ca_file() const { return dir_ + "/ca.pem"; }
    /// `name` is "server", "expired" or "other".
    std::string certificate_file(const std::string& name) const {
        return dir_ + "/" + name + ".pem";
    }
    std::string key_file(const std::string& name) const { return dir_ + "/" + name + ".key"; }
    /// Issues one more server certificate, valid now, for `alt_names` ("DNS:a.test,DNS:*.b.test"),
    /// written as `name`.pem and `name`.key.
    void add(const std::string& name, const std::string& alt_names) {
        issue(name, alt_names, 0, 30);
    }

private:
    struct key_free {
        void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
    };
    struct x509_free {
        void operator()(X509* c) const noexcept { X509_free(c); }
    };

    static void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
        X509V3_CTX ctx;
        X509V3_set_ctx_nodb(&ctx);
        X509V3_set_ctx(&ctx, issuer != nullptr ? issuer : cert, cert, nullptr, nullptr, 0);
        X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
        if (ext == nullptr) throw std::runtime_error("bad certificate extension");
        X509_add_ext(cert, ext, -1);
        X509_EXTENSION_free(ext);
    }

    static X509* make_certificate(const char* common_name, const std::string& alt_names,
                                  EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key, long from_days,
                                  long to_days, bool is_ca) {
        static long serial = 1;
        X509* cert = X509_new();
        X509_set_version(cert, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
        X509_gmtime_adj(X509_getm_notBefore(cert), from_days * 86400 - 60);
        X509_gmtime_adj(X509_getm_notAfter(cert), to_days * 86400);
        X509_set_pubkey(cert, key);
        X509_NAME* name = X509_get_subject_name(cert);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0);
        X509_set_issuer_name(cert, issuer != nullptr ? X509_get_subject_name(issuer) : name);
        add_extension(cert, issuer, NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "CA:FALSE");
        if (is_ca) add_extension(cert, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
        if (!alt_names.empty())
            add_extension(cert, issuer, NID_subject_alt_name, alt_names.c_str());
        X509_sign(cert, issuer_key != nullptr ? issuer_key : key, EVP_sha256());
        return cert;
    }

    void issue(const std::string& file, const std::string& alt_names, long from_days,
               long to_days) {
        std::unique_ptr<EVP_PKEY, key_free> key(EVP_EC_gen("P-256"));
        std::unique_ptr<X509, x509_free> cert(make_certificate("snow test server", alt_names,
                                                               key.get(), ca_.get(), ca_key_.get(),
                                                               from_days, to_days, false));
        write_certificate(cert.get(), certificate_file(file));
        FILE* f = std::fopen(key_file(file).c_str(), "w");
        PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
        std::fclose(f);
    }

    static void write_certificate(X509* cert, const std::string& path) {
        FILE* f = std::fopen(path.c_str(), "w");
        if (f == nullptr) throw std::runtime_error("cannot write " + path);
        PEM_write_X509(f, cert);
        std::fclose(f);
    }

    std::string dir_;
    std::unique_ptr<EVP_PKEY, key_free> ca_key_;
    std::unique_ptr<X509, x509_free> ca_;
};

/// One set per test program, made on first use.
inline const test_certificates& shared_certificates() {
    static const test_certificates certificates;
    return certificates;
}

} // namespace snow::testing
