// tests/http/support/tls_client.hpp: TLS connections to the server under test that name the
// host apart from the address, so a test can ask 127.0.0.1 for any server name (SNI) and
// have the certificate checked for it, then GET /hello over them.
#pragma once

#include <array>
#include <cstddef>
#include <string>

#include "snow/core/result.hpp"
#include "snow/core/task.hpp"
#include "snow/net/address.hpp"
#include "snow/net/stream.hpp"
#include "snow/net/tcp_stream.hpp"
#include "snow/net/tls_context.hpp"

namespace snow::testing {

/// A client context that trusts the CA in `ca_file`.
inline net::tls_context trusting_context(const std::string& ca_file) {
    net::tls_client_options options;
    options.ca_file = ca_file;
    return net::tls_context::client(options).value();
}

/// A TLS connection to `at` that sends `name` as SNI and checks the certificate for it.
inline task<result<net::stream>> open_tls(net::address at, net::tls_context context,
                                          std::string name) {
    auto tcp = co_await net::tcp_stream::connect(at);
    if (!tcp) co_return tcp.error();
    co_return co_await net::stream::connect_tls(std::move(*tcp), std::move(context),
                                                std::move(name));
}

/// One GET /hello on `s`: true once a 200 with the body "hello" has arrived; false if the
/// connection fails or closes first (the server's deadlines bound the wait).
inline task<bool> says_hello(net::stream& s) {
    const std::string request = "GET /hello HTTP/1.1\r\nHost: test\r\n\r\n";
    auto sent = co_await s.send_all(std::string_view(request));
    if (!sent) co_return false;
    std::string got;
    std::array<std::byte, 1024> buffer{};
    while (!got.ends_with("\r\n\r\nhello")) {
        auto n = co_await s.recv(buffer);
        if (!n || *n == 0) co_return false;
        got.append(reinterpret_cast<const char*>(buffer.data()), *n);
    }
    co_return got.starts_with("HTTP/1.1 200");
}

} // namespace snow::testing
