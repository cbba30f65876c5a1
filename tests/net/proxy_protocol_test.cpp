// tests/net/proxy_protocol_test.cpp: the PROXY header parser: v1 and v2 headers of every kind,
// malformed ones with their reasons, headers fed one byte at a time, and trailing bytes.
#include "snow/net/proxy_protocol.hpp"

#include <doctest/doctest.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

using namespace snow::net;

TEST_SUITE_BEGIN("net.proxy_protocol");

namespace {

const std::string v2_signature("\r\n\r\n\0\r\nQUIT\n", 12);

/// A v2 header: the signature, then `version_command`, `family` and `block` with its length.
std::string v2(unsigned char version_command, unsigned char family, const std::string& block) {
    std::string h = v2_signature;
    h += static_cast<char>(version_command);
    h += static_cast<char>(family);
    h += static_cast<char>(block.size() >> 8);
    h += static_cast<char>(block.size() & 0xFF);
    return h + block;
}

std::string bytes(std::initializer_list<int> values) {
    std::string s;
    for (int v : values) s += static_cast<char>(v);
    return s;
}

/// 192.0.2.1:56324 → 198.51.100.7:443, as a v2 TCP/IPv4 address block.
std::string ipv4_block() {
    return bytes({192, 0, 2, 1, 198, 51, 100, 7, 0xDC, 0x04, 0x01, 0xBB});
}

/// [2001:db8::1]:4711 → [2001:db8::2]:80, as a v2 TCP/IPv6 address block.
std::string ipv6_block() {
    std::string b = bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
    b += bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2});
    return b + bytes({0x12, 0x67, 0x00, 0x50});
}

/// A TLV of `type` holding `value`.
std::string tlv(int type, std::string_view value) {
    return bytes(
               {type, static_cast<int>(value.size() >> 8), static_cast<int>(value.size() & 0xFF)}) +
           std::string(value);
}

address addr(std::string_view text) {
    return address::parse(text).value();
}

} // namespace

TEST_CASE("a v1 TCP4 line gives both addresses and leaves the request after it") {
    const std::string header = "PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n";
    const auto r = parse_proxy_header(header + "GET / HTTP/1.1\r\n\r\n");
    REQUIRE(r.complete());
    CHECK(r.consumed() == header.size());
    CHECK(r.header().version == 1);
    CHECK(r.header().command == proxy_command::proxy);
    CHECK(r.header().has_addresses);
    CHECK(r.header().source == addr("192.0.2.1:56324"));
    CHECK(r.header().destination == addr("198.51.100.7:443"));
}

TEST_CASE("a v1 TCP6 line gives both IPv6 addresses") {
    const std::string header = "PROXY TCP6 2001:db8::1 2001:DB8::2 4711 80\r\n";
    const auto r = parse_proxy_header(header);
    REQUIRE(r.complete());
    CHECK(r.consumed() == header.size());
    CHECK(r.header().has_addresses);
    CHECK(r.header().source == addr("[2001:db8::1]:4711"));
    CHECK(r.header().destination == addr("[2001:db8::2]:80"));
}

TEST_CASE("a v1 UNKNOWN line keeps the real peer, whatever it carries before its CRLF") {
    const std::string longest = "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
    REQUIRE(longest.size() == proxy_v1_max_bytes); // the specification's worst case
    for (const std::string& header : {std::string("PROXY UNKNOWN\r\n"), longest}) {
        CAPTURE(header);
        const auto r = parse_proxy_header(header + "GET");
        REQUIRE(r.complete());
        CHECK(r.consumed() == header.size());
        CHECK(r.header().version == 1);
        CHECK_FALSE(r.header().has_addresses);
    }
}

TEST_CASE("the smallest and largest v1 ports and addresses are accepted") {
    const auto r =
        parse_proxy_header(std::string_view("PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n"));
    REQUIRE(r.complete());
    CHECK(r.header().source == addr("0.0.0.0:0"));
    CHECK(r.header().destination == addr("255.255.255.255:65535"));
}

TEST_CASE("a v2 PROXY header over IPv4 gives both addresses and leaves the bytes after it") {
    const std::string header = v2(0x21, 0x11, ipv4_block());
    const auto r = parse_proxy_header(header + "GET / HTTP/1.1\r\n\r\n");
    REQUIRE(r.complete());
    CHECK(r.consumed() == 28);
    CHECK(r.header().version == 2);
    CHECK(r.header().command == proxy_command::proxy);
    CHECK(r.header().has_addresses);
    CHECK(r.header().source == addr("192.0.2.1:56324"));
    CHECK(r.header().destination == addr("198.51.100.7:443"));
}

TEST_CASE("a v2 PROXY header over IPv6 gives both IPv6 addresses") {
    const std::string header = v2(0x21, 0x21, ipv6_block());
    const auto r = parse_proxy_header(header);
    REQUIRE(r.complete());
    CHECK(r.consumed() == 52);
    CHECK(r.header().source == addr("[2001:db8::1]:4711"));
    CHECK(r.header().destination == addr("[2001:db8::2]:80"));
}

TEST_CASE("a v2 LOCAL header keeps the real peer, with or without an address block") {
    for (const std::string& header :
         {v2(0x20, 0x00, ""), v2(0x20, 0x11, ipv4_block()), v2(0x20, 0x12, "ignored")}) {
        const auto r = parse_proxy_header(header + "tail");
        REQUIRE(r.complete());
        CHECK(r.consumed() == header.size());
        CHECK(r.header().command == proxy_command::local);
        CHECK_FALSE(r.header().has_addresses);
    }
}

TEST_CASE("v2 PROXY headers with UNSPEC or AF_UNIX addresses keep the real peer") {
    const std::string unix_block(216, 'p');
    for (const std::string& header : {v2(0x21, 0x00, ""), v2(0x21, 0x00, "anything"),
                                      v2(0x21, 0x31, unix_block + tlv(0x04, ""))}) {
        const auto r = parse_proxy_header(header);
        REQUIRE(r.complete());
        CHECK(r.consumed() == header.size());
        CHECK(r.header().command == proxy_command::proxy);
        CHECK_FALSE(r.header().has_addresses);
    }
}

TEST_CASE("v2 TLVs after the addresses are skipped, counted in the header's length") {
    const std::string tlvs =
        tlv(0x01, "h2") + tlv(0x02, "example.com") + tlv(0x04, std::string(300, '\0'));
    const std::string header = v2(0x21, 0x11, ipv4_block() + tlvs);
    const auto r = parse_proxy_header(header + "GET");
    REQUIRE(r.complete());
    CHECK(r.consumed() == header.size());
    CHECK(r.header().source == addr("192.0.2.1:56324"));
}

TEST_CASE("the longest v2 header accepted is complete, one byte more is refused") {
    const std::string filler(proxy_v2_max_bytes - 16 - 12 - 3, 'x');
    const auto longest = v2(0x21, 0x11, ipv4_block() + tlv(0xE0, filler));
    REQUIRE(longest.size() == proxy_v2_max_bytes);
    CHECK(parse_proxy_header(longest).complete());
    const auto longer = v2(0x21, 0x11, ipv4_block() + tlv(0xE0, filler + "x"));
    const auto r = parse_proxy_header(std::string_view(longer).substr(0, 16));
    REQUIRE(r.failed()); // known from the length field alone
    CHECK(r.error() == proxy_errc::v2_too_long);
}

TEST_CASE("malformed headers are refused with their reason") {
    struct bad {
        std::string input;
        proxy_errc error;
    };
    const std::string tcp4 = "PROXY TCP4 1.2.3.4 5.6.7.8 ";
    std::string wrong_signature = v2(0x21, 0x11, ipv4_block());
    wrong_signature[10] = 'X';
    const std::vector<bad> cases = {
        // Neither version's start.
        {"GET / HTTP/1.1\r\n\r\n", proxy_errc::not_proxy_protocol},
        {"POST / HTTP/1.1\r\n", proxy_errc::not_proxy_protocol},
        {"PROXZ", proxy_errc::not_proxy_protocol},
        {"proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", proxy_errc::not_proxy_protocol},
        {"PROXY\tTCP4", proxy_errc::not_proxy_protocol},
        {wrong_signature, proxy_errc::not_proxy_protocol},
        // v1.
        {"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", proxy_errc::v1_bad_protocol},
        {"PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", proxy_errc::v1_bad_protocol},
        {"PROXY UNKNOWNX\r\n", proxy_errc::v1_bad_protocol},
        {"PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n", proxy_errc::v1_bad_syntax},
        {"PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n", proxy_errc::v1_bad_syntax},
        {"PROXY TCP4\r\n", proxy_errc::v1_bad_syntax},
        {tcp4 + "80\r\n", proxy_errc::v1_bad_syntax},
        {tcp4 + "80 443 extra\r\n", proxy_errc::v1_bad_syntax},
        {tcp4 + "80 443 \r\n", proxy_errc::v1_bad_syntax},
        {tcp4 + "80  443\r\n", proxy_errc::v1_bad_syntax},
        {"PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n", proxy_errc::v1_bad_address},
        {"PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n", proxy_errc::v1_bad_address},
        {"PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", proxy_errc::v1_bad_address},
        {"PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n", proxy_errc::v1_bad_address},
        {"PROXY TCP4 1..3.4 5.6.7.8 1 2\r\n", proxy_errc::v1_bad_address},
        {"PROXY TCP4 localhost 5.6.7.8 1 2\r\n", proxy_errc::v1_bad_address},
        {"PROXY TCP4 ::1 ::1 1 2\r\n", proxy_errc::v1_bad_address},
        {"PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n", proxy_errc::v1_bad_address},
        {"PROXY TCP6 ::1 ::g 1 2\r\n", proxy_errc::v1_bad_address},
        {"PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n", proxy_errc::v1_bad_address},
        {"PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", proxy_errc::v1_bad_address},
        {tcp4 + "65536 443\r\n", proxy_errc::v1_bad_port},
        {tcp4 + "080 443\r\n", proxy_errc::v1_bad_port},
        {tcp4 + "80 -1\r\n", proxy_errc::v1_bad_port},
        {tcp4 + "80 4a\r\n", proxy_errc::v1_bad_port},
        {tcp4 + "80 100000\r\n", proxy_errc::v1_bad_port},
        {tcp4 + "80 443\n", proxy_errc::v1_bad_line_end},
        {tcp4 + "80 443\rX", proxy_errc::v1_bad_line_end},
        {tcp4 + "80\r443\r\n", proxy_errc::v1_bad_line_end},
        {"PROXY UNKNOWN " + std::string(100, 'x'), proxy_errc::v1_too_long},
        {"PROXY UNKNOWN " + std::string(92, 'x') + "\r\n", proxy_errc::v1_too_long},
        // v2.
        {v2(0x11, 0x11, ipv4_block()), proxy_errc::v2_bad_version},
        {v2(0x31, 0x11, ipv4_block()), proxy_errc::v2_bad_version},
        {v2(0x22, 0x11, ipv4_block()), proxy_errc::v2_bad_command},
        {v2(0x21, 0x41, ipv4_block()), proxy_errc::v2_bad_family},
        {v2(0x21, 0x13, ipv4_block()), proxy_errc::v2_bad_family},
        {v2(0x21, 0x10, ipv4_block()), proxy_errc::v2_bad_family},
        {v2(0x21, 0x01, ""), proxy_errc::v2_bad_family},
        {v2(0x20, 0x51, ""), proxy_errc::v2_bad_family},
        {v2(0x21, 0x12, ipv4_block()), proxy_errc::v2_bad_family}, // UDP
        {v2(0x21, 0x11, std::string(2000, 'x')), proxy_errc::v2_too_long},
        {v2(0x21, 0x11, ipv4_block().substr(0, 8)), proxy_errc::v2_short_addresses},
        {v2(0x21, 0x21, ipv4_block()), proxy_errc::v2_short_addresses},
        {v2(0x21, 0x31, std::string(100, 'p')), proxy_errc::v2_short_addresses},
        {v2(0x21, 0x11, ipv4_block() + bytes({0x04, 0x00})), proxy_errc::v2_bad_tlv},
        {v2(0x21, 0x11, ipv4_block() + bytes({0x02, 0x00, 0x10}) + "short"),
         proxy_errc::v2_bad_tlv},
    };
    for (const auto& c : cases) {
        CAPTURE(c.input);
        const auto r = parse_proxy_header(c.input);
        REQUIRE(r.failed());
        CHECK(r.error() == c.error);
        CHECK(r.consumed() == 0);
        CHECK_FALSE(make_error_code(r.error()).message().empty());
    }
}

TEST_CASE("a client that sends something else is refused from its first bytes") {
    CHECK(parse_proxy_header(std::string_view("G")).failed());
    CHECK(parse_proxy_header(std::string_view("PU")).failed());
    CHECK(parse_proxy_header(std::string_view("\x16\x03\x01")).failed()); // a TLS ClientHello
    CHECK(parse_proxy_header(std::string_view("\r\n\r\nX")).failed());
    CHECK(parse_proxy_header(std::string_view("PROXY TCP9")).failed());
    CHECK(parse_proxy_header(std::string_view("PROXY TCP4 300")).failed());
    CHECK(parse_proxy_header(std::string_view("PROXY TCP4 1.2.3.4 5.6.7.8 070")).failed());
    CHECK(parse_proxy_header(std::string_view("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 ")).failed());
    // A CR waits for its LF.
    CHECK(parse_proxy_header(std::string_view("PROXY TCP6 ::1 ::1 1 2\r")).incomplete());
}

TEST_CASE("a header fed one byte at a time needs more until it is whole") {
    const std::vector<std::string> headers = {
        "PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n",
        "PROXY TCP6 2001:db8::1 2001:db8::2 4711 80\r\n",
        "PROXY UNKNOWN\r\n",
        "PROXY UNKNOWN 1.2.3.4 anything at all\r\n",
        v2(0x21, 0x11, ipv4_block()),
        v2(0x21, 0x21, ipv6_block() + tlv(0x01, "h2")),
        v2(0x20, 0x00, ""),
    };
    const std::string after = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    for (const auto& header : headers) {
        CAPTURE(header);
        for (std::size_t n = 0; n < header.size(); ++n) {
            const auto r = parse_proxy_header(std::string_view(header).substr(0, n));
            CAPTURE(n);
            REQUIRE(r.incomplete());
            CHECK(r.consumed() == 0);
        }
        const auto whole = parse_proxy_header(header);
        REQUIRE(whole.complete());
        CHECK(whole.consumed() == header.size());
        // The bytes after the header change nothing and are not taken.
        const std::string more = header + after;
        for (std::size_t extra = 1; extra <= after.size(); ++extra) {
            const auto r =
                parse_proxy_header(std::string_view(more).substr(0, header.size() + extra));
            REQUIRE(r.complete());
            CHECK(r.consumed() == header.size());
            CHECK(r.header().source == whole.header().source);
        }
    }
}

TEST_CASE("proxy errors are error codes in the snow.proxy category") {
    const std::error_code e = proxy_errc::v1_bad_port;
    CHECK(std::string(e.category().name()) == "snow.proxy");
    CHECK(e.message().find("port") != std::string::npos);
}
