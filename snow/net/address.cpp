// snow/net/address.cpp: numeric address parsing and printing (inet_pton / inet_ntop).
#include "snow/net/address.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace snow::net {

address::address() noexcept : storage_{}, length_(0) {}

result<std::uint16_t> parse_port(std::string_view text) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value > 65535)
        return errc::invalid_address;
    return static_cast<std::uint16_t>(value);
}

result<address> address::from_ip(std::string_view ip, std::uint16_t port) {
    char text[INET6_ADDRSTRLEN + 1];
    if (ip.empty() || ip.size() >= sizeof text) return errc::invalid_address;
    std::memcpy(text, ip.data(), ip.size());
    text[ip.size()] = '\0';
    address a;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage_);
    if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        a.length_ = sizeof(sockaddr_in);
        return a;
    }
    a.storage_ = {};
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
    if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        a.length_ = sizeof(sockaddr_in6);
        return a;
    }
    return errc::invalid_address;
}

result<address> address::parse(std::string_view text) {
    std::string_view host;
    std::string_view port;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return errc::invalid_address;
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
        if (host.find(':') == std::string_view::npos) return errc::invalid_address;
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return errc::invalid_address;
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) return errc::invalid_address; // needs []
    }
    auto p = parse_port(port);
    if (!p) return p.error();
    return from_ip(host, *p);
}

address address::from_sockaddr(const sockaddr* sa, socklen_t length) noexcept {
    address a;
    if (length > sizeof a.storage_) length = sizeof a.storage_;
    std::memcpy(&a.storage_, sa, length);
    a.length_ = length;
    return a;
}

address address::ipv4_loopback(std::uint16_t port) noexcept {
    address a;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage_);
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.length_ = sizeof(sockaddr_in);
    return a;
}

address address::ipv6_loopback(std::uint16_t port) noexcept {
    address a;
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    v6->sin6_addr = in6addr_loopback;
    a.length_ = sizeof(sockaddr_in6);
    return a;
}

std::uint16_t address::port() const noexcept {
    if (storage_.any.sa_family == AF_INET)
        return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
    if (storage_.any.sa_family == AF_INET6)
        return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
    return 0;
}

void address::set_port(std::uint16_t port) noexcept {
    if (storage_.any.sa_family == AF_INET)
        reinterpret_cast<sockaddr_in*>(&storage_)->sin_port = htons(port);
    else if (storage_.any.sa_family == AF_INET6)
        reinterpret_cast<sockaddr_in6*>(&storage_)->sin6_port = htons(port);
}

std::string address::ip() const {
    char text[INET6_ADDRSTRLEN] = "";
    if (storage_.any.sa_family == AF_INET)
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, text,
                  sizeof text);
    else if (storage_.any.sa_family == AF_INET6)
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, text,
                  sizeof text);
    return text;
}

std::string address::to_string() const {
    if (is_ipv6()) return fmt::format("[{}]:{}", ip(), port());
    return fmt::format("{}:{}", ip(), port());
}

bool operator==(const address& a, const address& b) noexcept {
    return a.length_ == b.length_ && std::memcmp(&a.storage_, &b.storage_, a.length_) == 0;
}

} // namespace snow::net
