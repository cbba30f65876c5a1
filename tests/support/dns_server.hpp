// tests/support/dns_server.hpp: a DNS server for tests, on the test's own loop over UDP
// loopback. It answers A and AAAA questions from a table, with each name's TTL; a name
// marked silent is never answered (a name server that drops one query), and any other name
// gets NXDOMAIN. It counts the questions it received.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "snow/core/task.hpp"
#include "snow/net/udp_socket.hpp"

namespace snow::testing {

class dns_server {
public:
    struct record {
        std::vector<std::uint8_t> ipv4{}; ///< 4 bytes, or none
        std::vector<std::uint8_t> ipv6{}; ///< 16 bytes, or none
        std::uint32_t ttl = 60;
        bool silent = false; ///< never answer
    };

    dns_server() : socket_(net::udp_socket::bind("127.0.0.1:0").value()) {}

    void add(std::string name, record r) { records_[std::move(name)] = std::move(r); }
    /// "127.0.0.1:PORT", for resolver_options::servers.
    std::string address() const { return socket_.local_address().value().to_string(); }
    /// Questions received for `name` so far.
    std::size_t questions(const std::string& name) const {
        auto it = asked_.find(name);
        return it == asked_.end() ? 0 : it->second;
    }

    /// Answers until cancelled.
    task<void> serve() {
        std::byte in[512];
        for (;;) {
            auto got = co_await socket_.recv_from(in);
            if (!got) co_return;
            auto reply = answer(std::span<const std::byte>(in, got->size));
            if (!reply) continue;
            (void)co_await socket_.send_to(*reply, got->sender);
        }
    }

private:
    std::optional<std::vector<std::byte>> answer(std::span<const std::byte> query) {
        if (query.size() < 12) return std::nullopt;
        auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(query[i]); };
        // The question: labels from offset 12, then type and class.
        std::string name;
        std::size_t at = 12;
        while (at < query.size() && byte(at) != 0) {
            const std::size_t length = byte(at);
            if (at + 1 + length > query.size()) return std::nullopt;
            if (!name.empty()) name += '.';
            for (std::size_t i = 0; i < length; ++i) name += static_cast<char>(byte(at + 1 + i));
            at += 1 + length;
        }
        if (at + 5 > query.size()) return std::nullopt;
        const std::size_t question_end = at + 5;
        const unsigned type = (byte(at + 1) << 8) | byte(at + 2);
        ++asked_[name];
        auto found = records_.find(name);
        if (found != records_.end() && found->second.silent) return std::nullopt;

        std::vector<std::byte> out(query.begin(),
                                   query.begin() + static_cast<std::ptrdiff_t>(question_end));
        auto put = [&](unsigned value, int bytes) {
            for (int i = bytes - 1; i >= 0; --i)
                out.push_back(static_cast<std::byte>((value >> (8 * i)) & 0xff));
        };
        const std::vector<std::uint8_t>* data = nullptr;
        if (found != records_.end()) {
            if (type == 1 && !found->second.ipv4.empty()) data = &found->second.ipv4;
            if (type == 28 && !found->second.ipv6.empty()) data = &found->second.ipv6;
        }
        // Flags: a response, recursion desired and available; NXDOMAIN for unknown names.
        out[2] = std::byte{0x81};
        out[3] = std::byte{found == records_.end() ? std::uint8_t{0x83} : std::uint8_t{0x80}};
        out[6] = std::byte{0};
        out[7] = std::byte{data != nullptr ? std::uint8_t{1} : std::uint8_t{0}};
        for (int i = 8; i < 12; ++i) out[static_cast<std::size_t>(i)] = std::byte{0};
        if (data != nullptr) {
            put(0xc00c, 2); // the name, by pointer to the question's
            put(type, 2);
            put(1, 2); // IN
            put(found->second.ttl, 4);
            put(static_cast<unsigned>(data->size()), 2);
            for (std::uint8_t b : *data) out.push_back(static_cast<std::byte>(b));
        }
        return out;
    }

    net::udp_socket socket_;
    std::map<std::string, record> records_;
    std::map<std::string, std::size_t> asked_;
};

} // namespace snow::testing
