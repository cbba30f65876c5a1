// tests/http/websocket/deflate_frames.hpp: compressed payloads made with zlib directly, as a
// peer (hostile or not) would send them, for the permessage-deflate tests.
#pragma once

#include <doctest/doctest.h>
#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <string>

namespace snow::testing {

/// `n` zero bytes as one compressed message (raw deflate, sync flush, the 00 00 ff ff tail
/// left off): a deflate bomb once `n` passes the receiver's limit.
inline std::string deflate_zeros(std::size_t n) {
    z_stream z{};
    REQUIRE(deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    const std::string zeros(64 * 1024, '\0');
    std::string out(n / 512 + 1024, '\0');
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    for (std::size_t done = 0; done < n; done += zeros.size()) {
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(zeros.data()));
        z.avail_in = static_cast<uInt>(std::min(zeros.size(), n - done));
        REQUIRE(deflate(&z, done + zeros.size() >= n ? Z_SYNC_FLUSH : Z_NO_FLUSH) == Z_OK);
        REQUIRE(z.avail_out > 0);
    }
    const std::size_t used = out.size() - z.avail_out;
    REQUIRE(used >= 4);
    out.erase(used - 4); // the 00 00 ff ff
    deflateEnd(&z);
    return out;
}

} // namespace snow::testing
