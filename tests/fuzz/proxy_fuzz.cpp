// tests/fuzz/proxy_fuzz.cpp: libFuzzer target for snow/net/proxy_protocol, the PROXY header
// parser the server runs on a connection's first bytes. Build and run (clang only):
//
//   CXX=clang++ meson setup build-fuzz -Dfuzz=enabled -Dtests=disabled -Dexamples=disabled \
//       -Dbench=disabled -Db_sanitize=address,undefined -Dbuildtype=debugoptimized
//   ninja -C build-fuzz tests/fuzz/proxy_fuzz
//   mkdir -p build-fuzz/proxy-corpus
//   ./build-fuzz/tests/fuzz/proxy_fuzz -max_total_time=60 build-fuzz/proxy-corpus \
//       tests/fuzz/proxy_cases
//
// Checked for every input: consumed is within the input and the version's bound; every
// prefix of the input needs more bytes until one settles the outcome, and every longer
// prefix keeps it (a prefix that fails means the whole fails; one that completes gives the
// whole's header); addresses given back are of one IP family, and a v1 line written from them
// parses back to them.
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "snow/net/proxy_protocol.hpp"

namespace {

using namespace snow::net;

void require(bool ok, const char* what) {
    if (ok) return;
    std::fprintf(stderr, "proxy_fuzz: invariant broken: %s\n", what);
    std::abort();
}

bool same_header(const proxy_parse_result& a, const proxy_parse_result& b) {
    return a.consumed() == b.consumed() && a.header().version == b.header().version &&
           a.header().command == b.header().command &&
           a.header().has_addresses == b.header().has_addresses &&
           a.header().source == b.header().source &&
           a.header().destination == b.header().destination;
}

void check_result(const proxy_parse_result& r, std::string_view input) {
    require(int(r.complete()) + int(r.incomplete()) + int(r.failed()) == 1, "exactly one state");
    if (!r.complete()) {
        require(r.consumed() == 0, "consumed is zero unless complete");
        return;
    }
    const proxy_header& h = r.header();
    require(r.consumed() <= input.size(), "consumed <= size");
    require(h.version == 1 || h.version == 2, "version 1 or 2");
    require((h.version == 1) == (input.front() == 'P'), "v1 exactly when the input starts with P");
    require(r.consumed() <= (h.version == 1 ? proxy_v1_max_bytes : proxy_v2_max_bytes),
            "consumed within the version's bound");
    if (h.version == 1) require(input.substr(r.consumed() - 2, 2) == "\r\n", "v1 ends in CRLF");
    if (h.has_addresses) {
        require(h.command == proxy_command::proxy, "only PROXY carries addresses");
        require(h.source.family() == h.destination.family(), "one family");
        require(h.source.family() == AF_INET || h.source.family() == AF_INET6, "an IP family");
        // What an address prints as is what a v1 line carries.
        const std::string line = std::string("PROXY ") + (h.source.is_ipv6() ? "TCP6 " : "TCP4 ") +
                                 h.source.ip() + " " + h.destination.ip() + " " +
                                 std::to_string(h.source.port()) + " " +
                                 std::to_string(h.destination.port()) + "\r\n";
        const auto again = parse_proxy_header(line);
        require(again.complete() && again.consumed() == line.size(), "a written v1 line parses");
        require(again.header().source == h.source && again.header().destination == h.destination,
                "a written v1 line gives the same addresses");
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto whole = parse_proxy_header(input);
    check_result(whole, input);

    // Fed as it might arrive, one byte more at a time: the state only ever leaves "need
    // more" once, and the outcome it settles on is the whole input's.
    bool settled = false;
    proxy_parse_result first = proxy_parse_result::need_more();
    for (std::size_t n = 0; n <= size; ++n) {
        const auto prefix = input.substr(0, n);
        const auto r = parse_proxy_header(prefix);
        check_result(r, prefix);
        if (!settled) {
            if (r.incomplete()) continue;
            settled = true;
            first = r;
        }
        require(!r.incomplete(), "a settled outcome stays settled");
        if (first.failed()) {
            require(r.failed(), "a failed prefix fails with any bytes after it");
        } else {
            require(r.complete() && same_header(r, first),
                    "a complete header is unchanged by the bytes after it");
        }
    }
    if (settled && first.complete()) require(same_header(whole, first), "prefix equals whole");
    if (!settled) require(whole.incomplete(), "never settled means the whole needs more");
    return 0;
}
