// snow/net/address.hpp: an IPv4 or IPv6 socket address with port: parsed from text
// ("127.0.0.1:8080", "[::1]:80"), handed to the kernel as a sockaddr, printed with fmt.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <fmt/format.h>
#include <string>
#include <string_view>

#include "snow/core/result.hpp"

namespace snow::net {

class address {
public:
    address() noexcept;

    /// "host:port" where host is a dotted IPv4 address or a bracketed IPv6 literal.
    /// Errors: errc::invalid_address.
    static result<address> parse(std::string_view text);
    /// A numeric IPv4 or IPv6 address (no brackets) and a port. Errors: errc::invalid_address.
    static result<address> from_ip(std::string_view ip, std::uint16_t port);
    static address from_sockaddr(const sockaddr* sa, socklen_t length) noexcept;
    static address ipv4_loopback(std::uint16_t port) noexcept;
    static address ipv6_loopback(std::uint16_t port) noexcept;

    bool is_ipv6() const noexcept { return storage_.any.sa_family == AF_INET6; }
    int family() const noexcept { return storage_.any.sa_family; }
    std::uint16_t port() const noexcept;
    void set_port(std::uint16_t port) noexcept;
    /// The numeric host without brackets ("::1").
    std::string ip() const;
    /// "127.0.0.1:80" or "[::1]:80".
    std::string to_string() const;

    const sockaddr* data() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
    sockaddr* data() noexcept { return reinterpret_cast<sockaddr*>(&storage_); }
    socklen_t size() const noexcept { return length_; }
    void set_size(socklen_t length) noexcept { length_ = length; }
    static constexpr socklen_t capacity() noexcept { return sizeof(storage); }

    friend bool operator==(const address& a, const address& b) noexcept;

private:
    // IPv4 or IPv6 only: 28 bytes rather than sockaddr_storage's 128, since every
    // connection keeps its peer's address.
    union storage {
        sockaddr any;
        sockaddr_in v4;
        sockaddr_in6 v6;
    };
    storage storage_;
    socklen_t length_;
};

/// Parses a decimal port 0..65535. Errors: errc::invalid_address.
result<std::uint16_t> parse_port(std::string_view text);

} // namespace snow::net

template <>
struct fmt::formatter<snow::net::address> : fmt::formatter<std::string_view> {
    auto format(const snow::net::address& a, format_context& ctx) const {
        return fmt::formatter<std::string_view>::format(a.to_string(), ctx);
    }
};
