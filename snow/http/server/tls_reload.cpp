// snow/http/server/tls_reload.cpp: the server's TLS certificates: loaded once at start, read
// again by reload_tls() for the connections that begin afterwards, which keep the session
// ticket keys of before so that tickets clients hold still resume.
#include <fmt/format.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "snow/http/server/server.hpp"
#include "snow/io/log.hpp"

namespace snow::http {

namespace {

/// The files server_options name: tls_certificate_file's pair first, or else the first of
/// tls_identities. No certificate_file: plain HTTP.
net::tls_server_options files_of(const server_options& options) {
    net::tls_server_options files;
    files.identities = options.tls_identities;
    if (!options.tls_certificate_file.empty() || !options.tls_key_file.empty()) {
        files.certificate_file = options.tls_certificate_file;
        files.key_file = options.tls_key_file;
    } else if (!files.identities.empty()) {
        files.certificate_file = std::move(files.identities.front().certificate_file);
        files.key_file = std::move(files.identities.front().key_file);
        files.identities.erase(files.identities.begin());
    }
    return files;
}

/// Loads `files`; on failure logs one line that names the pair that failed, which is found
/// by loading each pair on its own (only then: a context of many is built in one go).
result<net::tls_context> load(const net::tls_server_options& files, std::string_view failing,
                              std::string_view after) {
    auto context = net::tls_context::server(files);
    if (context) return context;
    std::vector<net::tls_identity> pairs{{files.certificate_file, files.key_file}};
    pairs.insert(pairs.end(), files.identities.begin(), files.identities.end());
    net::tls_identity culprit = pairs.front();
    for (const net::tls_identity& pair : pairs) {
        net::tls_server_options alone;
        alone.certificate_file = pair.certificate_file;
        alone.key_file = pair.key_file;
        if (!net::tls_context::server(alone)) {
            culprit = pair;
            break;
        }
    }
    log::error("{} the TLS certificate {} and key {}: {}{}", failing, culprit.certificate_file,
               culprit.key_file, context.error().message(), after);
    return context.error();
}

} // namespace

result<void> server::load_tls(const server_options& options) {
    net::tls_server_options files = files_of(options);
    if (files.certificate_file.empty() && files.key_file.empty()) return {};
    auto context = load(files, "cannot load", "");
    if (!context) return context.error();
    std::lock_guard lock(tls_mutex_);
    tls_ = std::move(*context);
    tls_files_ = std::move(files);
    return {};
}

result<void> server::reload_tls() {
    net::tls_server_options files;
    net::tls_context before;
    {
        std::lock_guard lock(tls_mutex_);
        if (!tls_) return {};
        files = tls_files_;
        before = tls_;
    }
    // Built outside the lock: connections beginning meanwhile take the current context.
    auto context = load(files, "cannot reload", "; still serving the certificates from before");
    if (!context) return context.error();
    // A fresh context would draw fresh ticket keys, and every client's ticket from before
    // would cost it a full handshake: the keys go over to the new one. (reload_tls() calls
    // are not expected to race; if two did, the later would carry the keys of either.)
    if (!context->adopt_ticket_keys(before))
        log::warn("TLS session tickets issued before this reload will not resume");
    {
        std::lock_guard lock(tls_mutex_);
        std::swap(tls_, *context);
    }
    // The old context goes with `context` here, or with the last session still using it.
    log::info("TLS certificates reloaded from {}{}", files.certificate_file,
              files.identities.empty() ? std::string()
                                       : fmt::format(" and {} more", files.identities.size()));
    return {};
}

net::tls_context server::current_tls() const {
    std::lock_guard lock(tls_mutex_);
    return tls_; // a reference more on the SSL_CTX: sessions made from it keep it alive
}

} // namespace snow::http
