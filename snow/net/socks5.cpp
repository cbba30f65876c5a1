// snow/net/socks5.cpp: the SOCKS5 client handshake: method negotiation, the optional
// username/password exchange, and CONNECT. Each answer is read to its exact length, so no
// byte of the destination's is taken from the stream.
#include "snow/net/socks5.hpp"

#include <netinet/in.h>

#include <array>
#include <cstring>
#include <span>

#include "snow/core/error.hpp"
#include "snow/net/address.hpp"

namespace snow::net {
namespace {

constexpr std::uint8_t version = 5;
constexpr std::uint8_t no_authentication = 0x00;
constexpr std::uint8_t username_password = 0x02;
constexpr std::uint8_t no_acceptable = 0xff;
constexpr std::uint8_t connect_command = 0x01;
constexpr std::uint8_t ipv4_address = 0x01;
constexpr std::uint8_t domain_name = 0x03;
constexpr std::uint8_t ipv6_address = 0x04;

std::string_view message_for(socks5_errc e) noexcept {
    switch (e) {
    case socks5_errc::general_failure:
        return "the SOCKS5 proxy failed";
    case socks5_errc::not_allowed:
        return "the SOCKS5 proxy does not allow this connection";
    case socks5_errc::network_unreachable:
        return "the SOCKS5 proxy cannot reach the network";
    case socks5_errc::host_unreachable:
        return "the SOCKS5 proxy cannot reach the host";
    case socks5_errc::connection_refused:
        return "the destination refused the SOCKS5 proxy's connection";
    case socks5_errc::ttl_expired:
        return "the SOCKS5 proxy's connection timed out (TTL expired)";
    case socks5_errc::command_not_supported:
        return "the SOCKS5 proxy does not support CONNECT";
    case socks5_errc::address_type_not_supported:
        return "the SOCKS5 proxy does not support this address type";
    case socks5_errc::no_acceptable_method:
        return "the SOCKS5 proxy accepts none of the authentication methods offered";
    case socks5_errc::authentication_failed:
        return "the SOCKS5 proxy refused the username and password";
    case socks5_errc::malformed_reply:
        return "the SOCKS5 proxy's answer is malformed";
    case socks5_errc::name_too_long:
        return "a SOCKS5 host name, username or password is longer than 255 bytes";
    }
    return "unknown SOCKS5 error";
}

/// Reads exactly `into.size()` bytes. A proxy that closes first has broken the protocol.
task<result<void>> read_exact(tcp_stream& tcp, std::span<std::byte> into) {
    std::size_t got = 0;
    while (got < into.size()) {
        auto n = co_await tcp.recv(into.subspan(got));
        if (!n) co_return n.error();
        if (*n == 0) co_return make_error_code(errc::eof);
        got += *n;
    }
    co_return result<void>{};
}

void put(std::string& out, std::string_view bytes) {
    out.push_back(static_cast<char>(bytes.size()));
    out.append(bytes);
}

/// Method negotiation, then RFC 1929's exchange when the proxy picks it.
task<result<void>> authenticate(tcp_stream& tcp, const socks5_credentials& credentials) {
    const bool offer_password = !credentials.username.empty() || !credentials.password.empty();
    std::string greeting{static_cast<char>(version)};
    if (offer_password) {
        greeting += {2, static_cast<char>(no_authentication), static_cast<char>(username_password)};
    } else {
        greeting += {1, static_cast<char>(no_authentication)};
    }
    auto sent = co_await tcp.send_all(greeting);
    if (!sent) co_return sent.error();
    std::array<std::byte, 2> choice{};
    auto got = co_await read_exact(tcp, choice);
    if (!got) co_return got.error();
    const auto method = static_cast<std::uint8_t>(choice[1]);
    if (static_cast<std::uint8_t>(choice[0]) != version)
        co_return make_error_code(socks5_errc::malformed_reply);
    if (method == no_acceptable) co_return make_error_code(socks5_errc::no_acceptable_method);
    if (method == no_authentication) co_return result<void>{};
    if (method != username_password || !offer_password)
        co_return make_error_code(socks5_errc::malformed_reply);

    std::string login{1}; // the sub-negotiation's own version
    put(login, credentials.username);
    put(login, credentials.password);
    auto sent_login = co_await tcp.send_all(login);
    if (!sent_login) co_return sent_login.error();
    std::array<std::byte, 2> status{};
    auto answered = co_await read_exact(tcp, status);
    if (!answered) co_return answered.error();
    if (static_cast<std::uint8_t>(status[1]) != 0)
        co_return make_error_code(socks5_errc::authentication_failed);
    co_return result<void>{};
}

/// The CONNECT request for host:port: an IP literal as an address, anything else as a name.
std::string connect_request(std::string_view host, std::uint16_t port) {
    std::string out{static_cast<char>(version), static_cast<char>(connect_command), 0};
    if (auto ip = address::from_ip(host, port)) {
        if (ip->is_ipv6()) {
            const auto& v6 = reinterpret_cast<const sockaddr_in6*>(ip->data())->sin6_addr;
            out.push_back(static_cast<char>(ipv6_address));
            out.append(reinterpret_cast<const char*>(&v6), sizeof v6);
        } else {
            const auto& v4 = reinterpret_cast<const sockaddr_in*>(ip->data())->sin_addr;
            out.push_back(static_cast<char>(ipv4_address));
            out.append(reinterpret_cast<const char*>(&v4), sizeof v4);
        }
    } else {
        out.push_back(static_cast<char>(domain_name));
        put(out, host);
    }
    out.push_back(static_cast<char>(port >> 8));
    out.push_back(static_cast<char>(port & 0xff));
    return out;
}

/// The reply: its code, then the bound address, read to its end and dropped.
task<result<void>> read_reply(tcp_stream& tcp) {
    std::array<std::byte, 4> head{};
    auto got = co_await read_exact(tcp, head);
    if (!got) co_return got.error();
    if (static_cast<std::uint8_t>(head[0]) != version)
        co_return make_error_code(socks5_errc::malformed_reply);
    const auto reply = static_cast<std::uint8_t>(head[1]);
    if (reply != 0) {
        if (reply > static_cast<std::uint8_t>(socks5_errc::address_type_not_supported))
            co_return make_error_code(socks5_errc::general_failure);
        co_return make_error_code(static_cast<socks5_errc>(reply));
    }
    std::size_t rest = 2; // the port
    switch (static_cast<std::uint8_t>(head[3])) {
    case ipv4_address:
        rest += 4;
        break;
    case ipv6_address:
        rest += 16;
        break;
    case domain_name: {
        std::array<std::byte, 1> length{};
        auto read = co_await read_exact(tcp, length);
        if (!read) co_return read.error();
        rest += static_cast<std::uint8_t>(length[0]);
        break;
    }
    default:
        co_return make_error_code(socks5_errc::malformed_reply);
    }
    std::array<std::byte, 255 + 2> bound{};
    co_return co_await read_exact(tcp, std::span<std::byte>(bound.data(), rest));
}

} // namespace

const std::error_category& socks5_category() noexcept {
    static const enum_category<socks5_errc> instance("snow.socks5", message_for);
    return instance;
}

task<result<void>> socks5_connect(tcp_stream& tcp, std::string host, std::uint16_t port,
                                  socks5_credentials credentials) {
    if (host.size() > 255 || credentials.username.size() > 255 || credentials.password.size() > 255)
        co_return make_error_code(socks5_errc::name_too_long);
    auto authenticated = co_await authenticate(tcp, credentials);
    if (!authenticated) co_return authenticated.error();
    auto sent = co_await tcp.send_all(connect_request(host, port));
    if (!sent) co_return sent.error();
    co_return co_await read_reply(tcp);
}

} // namespace snow::net
