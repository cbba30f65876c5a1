// bench/http_parser_peer.hpp: Node's http_parser (Debian's libhttp-parser-dev) doing what snow's
// request parser does, for parser_bench: the start line and every field's name and value as views.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include <http_parser.h>

namespace snow_bench {

/// What one request head leaves behind: the same views and facts snow's request_head holds.
struct peer_head {
    struct field {
        std::string_view name;
        std::string_view value;
    };
    unsigned method = 0;
    std::string_view target;
    std::vector<field> fields;
    unsigned version_minor = 0;
    bool keep_alive = false;
    std::uint64_t content_length = 0;
};

/// One http_parser with callbacks that record spans into a reused peer_head, so the steady state
/// allocates nothing, as snow's bench loop does not either.
class http_parser_peer {
public:
    http_parser_peer();
    http_parser_peer(const http_parser_peer&) = delete;
    http_parser_peer& operator=(const http_parser_peer&) = delete;

    /// Parses every message in `bytes` (head and body, chunked ones decoded) as one connection's
    /// stream; returns how many messages completed, or 0 if the parser refused a byte.
    std::size_t parse_all(std::string_view bytes);

    /// The head of the last message parsed.
    const peer_head& head() const noexcept { return head_; }

private:
    static int on_message_begin(http_parser* p);
    static int on_url(http_parser* p, const char* at, std::size_t length);
    static int on_header_field(http_parser* p, const char* at, std::size_t length);
    static int on_header_value(http_parser* p, const char* at, std::size_t length);
    static int on_headers_complete(http_parser* p);
    static int on_body(http_parser* p, const char* at, std::size_t length);
    static int on_message_complete(http_parser* p);

    http_parser parser_{};
    http_parser_settings settings_{};
    peer_head head_;
    std::size_t messages_ = 0;
    std::size_t body_bytes_ = 0;
    bool in_value_ = false; // the last header callback was a value: a new name starts a field
};

} // namespace snow_bench
