// snow/net/address.hpp: an IPv4 or IPv6 socket address with port: parsed from text
// ("127.0.0.1:8080", "[::1]:80"), handed to the kernel as a sockaddr, printed with fmt.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <fmt/format.h>
#include <string>
#include <string_view>

#include "snow/core/export.hpp"
#include "snow/core/result.hpp"

namespace snow::net {

/// An IPv4 or IPv6 socket address (host and port), small enough to keep per connection.
/// fmt formats it as to_string() does: `fmt::print("{}", addr)`.
class SNOW_API address {
public:
    address() noexcept;

    /// "host:port" where host is a dotted IPv4 address or a bracketed IPv6 literal.
    /// Errors: errc::invalid_address.
    static result<address> parse(std::string_view text);
    /// A numeric IPv4 or IPv6 address (no brackets) and a port. Errors: errc::invalid_address.
    static result<address> from_ip(std::string_view ip, std::uint16_t port);
    /// Copies an AF_INET or AF_INET6 sockaddr of `length` bytes.
    static address from_sockaddr(const sockaddr* sa, socklen_t length) noexcept;
    /// The IPv4 loopback address, 127.0.0.1, with `port`.
    static address ipv4_loopback(std::uint16_t port) noexcept;
    /// The IPv6 loopback address, ::1, with `port`.
    static address ipv6_loopback(std::uint16_t port) noexcept;

    /// Whether this is an IPv6 address.
    bool is_ipv6() const noexcept { return storage_.any.sa_family == AF_INET6; }
    /// AF_INET or AF_INET6.
    int family() const noexcept { return storage_.any.sa_family; }
    /// The port, in host byte order.
    std::uint16_t port() const noexcept;
    /// Replaces the port (host byte order).
    void set_port(std::uint16_t port) noexcept;
    /// The numeric host without brackets ("::1").
    std::string ip() const;
    /// "127.0.0.1:80" or "[::1]:80".
    std::string to_string() const;

    ///@{
    /// The address as a sockaddr, for system calls.
    const sockaddr* data() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
    sockaddr* data() noexcept { return reinterpret_cast<sockaddr*>(&storage_); }
    /// The length of the sockaddr in bytes.
    ///@}
    socklen_t size() const noexcept { return length_; }
    /// Sets the length after a system call filled data() (accept, recvmsg).
    void set_size(socklen_t length) noexcept { length_ = length; }
    /// The largest sockaddr an address can hold: the room to give a system call.
    static constexpr socklen_t capacity() noexcept { return sizeof(storage); }

    /// Same family, host and port.
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

// Declared again outside the class, where SNOW_API can export it: a friend declaration
// takes no visibility attribute.
/// Same family, host and port.
SNOW_API bool operator==(const address& a, const address& b) noexcept;

/// Parses a decimal port 0..65535. Errors: errc::invalid_address.
SNOW_API result<std::uint16_t> parse_port(std::string_view text);

} // namespace snow::net

/// @cond fmt_support
template <>
struct fmt::formatter<snow::net::address> : fmt::formatter<std::string_view> {
    auto format(const snow::net::address& a, format_context& ctx) const {
        return fmt::formatter<std::string_view>::format(a.to_string(), ctx);
    }
};
/// @endcond
