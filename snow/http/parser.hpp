// snow/http/parser.hpp: the HTTP/1.1 message parsers (request_parser.cpp, response_parser.cpp,
// chunked_decoder.cpp). Heads are parsed in place from the connection buffer; chunked bodies are
// decoded incrementally. Pure: no I/O, no allocation per message once the field vectors have grown.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "snow/core/export.hpp"
#include "snow/http/errc.hpp"
#include "snow/http/headers.hpp"
#include "snow/http/method.hpp"

namespace snow::http {

/// Bounds on what a peer can make the parser hold or wait for.
struct parser_limits {
    std::size_t max_target_bytes = 8192;      ///< request-target; over it → errc::uri_too_long
    std::size_t max_header_bytes = 64 * 1024; ///< whole head (and trailer section) → 431
    std::size_t max_headers = 100;            ///< field lines per head or trailer section → 431
    std::size_t max_body_bytes = 1 << 20;     ///< Content-Length or chunked total → 413
};

/// Deviations from RFC 9112 a caller may opt into; every one is off by default.
struct parser_leniency {
    /// Accept a bare LF as a line terminator (RFC 9112 §2.2 allows it, and `nc` sends it).
    /// A bare CR is refused either way: it is what request smuggling hides behind.
    bool bare_lf = false;
    /// Accept an HTTP/1.1 request without Host.
    bool missing_host = false;
    /// Accept any visible ASCII and obs-text in the request-target ('{', '|', raw UTF-8…)
    /// and skip percent-escape checks, as some crawlers and hand-written clients need.
    bool any_target_chars = false;
};

/// How the message body that follows a head is delimited (RFC 9112 §6.3).
enum class body_kind : unsigned char {
    none,           ///< no body: the next message starts right after the head
    content_length, ///< exactly body_framing::content_length bytes
    chunked,        ///< chunked transfer coding; decode with chunked_decoder
    until_close,    ///< responses only: everything until the server closes the connection
};

/// How a message's body is delimited, as the head parser determined it.
struct body_framing {
    /// Which framing the body uses.
    body_kind kind = body_kind::none;
    std::uint64_t content_length = 0; ///< only meaningful for body_kind::content_length

    /// Member-wise equality.
    friend bool operator==(const body_framing&, const body_framing&) = default;
};

/// A parsed request head, meaningful once request_parser::parse() reports complete(). Every view
/// points into the buffer given to parse(). Keep one request_head per connection so `fields`
/// keeps its capacity and parsing the next request allocates nothing.
struct request_head {
    /// The request method; method::other for one snow does not know (see method_name).
    http::method method = http::method::get;
    /// As sent; the only spelling there is for method::other.
    std::string_view method_name;
    /// The whole request-target.
    std::string_view target;
    /// The target up to '?'. "*" in asterisk-form; in absolute-form the path after the
    /// authority (possibly empty); empty for CONNECT, whose target is an authority.
    std::string_view path;
    /// Raw (still percent-encoded) text after the first '?'; empty if none.
    std::string_view query;
    /// 0 or 1; HTTP/1.2 and later minors are answered as 1.1 (RFC 9112 §2.3).
    int version_minor = 1;
    /// The header fields in message order, views into the buffer.
    std::vector<header_field> fields;
    /// How the request body is delimited.
    body_framing body;
    /// The connection may carry another request after this one (RFC 9112 §9.3).
    bool keep_alive = false;
    /// An HTTP/1.1 `Expect: 100-continue`: send 100 before reading the body, or answer early.
    bool expect_continue = false;

    /// The fields with case-insensitive lookup.
    header_list headers() const noexcept { return header_list(fields); }
};

/// A parsed response head, for the client; meaningful once response_parser::parse() reports
/// complete(). Views point into the buffer given to parse().
struct response_head {
    /// The minor HTTP version: 1 or 0.
    int version_minor = 1;
    int status = 0;          ///< 100..599
    std::string_view reason; ///< may be empty
    /// The header fields in message order, views into the buffer.
    std::vector<header_field> fields;
    /// How the response body is delimited (none for HEAD, 204 and 304).
    body_framing body;
    bool keep_alive = false; ///< the connection may carry another request after this response

    /// 1xx: another head follows on the same connection (101 hands the connection over to
    /// the new protocol instead).
    bool interim() const noexcept { return status >= 100 && status < 200; }
    /// The fields with case-insensitive lookup.
    header_list headers() const noexcept { return header_list(fields); }
};

/// Where a parse or decode call left the message: complete, in need of more bytes, or
/// failed.
enum class parse_state : unsigned char { complete, incomplete, failed };

/// What one call to a parser found: a complete head and how many bytes it took, a need for
/// more bytes, or a protocol error.
class [[nodiscard]] parse_result {
public:
    /// The head is not complete yet: call again with more bytes.
    static constexpr parse_result need_more() noexcept { return parse_result(); }
    /// A complete head that took `consumed` bytes.
    static constexpr parse_result done(std::size_t consumed) noexcept {
        parse_result r;
        r.state_ = parse_state::complete;
        r.consumed_ = consumed;
        return r;
    }
    /// A failure with `error`.
    constexpr parse_result(errc error) noexcept : state_(parse_state::failed), error_(error) {}

    /// Complete, incomplete or failed.
    constexpr parse_state state() const noexcept { return state_; }
    /// A whole head was parsed.
    constexpr bool complete() const noexcept { return state_ == parse_state::complete; }
    /// More bytes are needed.
    constexpr bool incomplete() const noexcept { return state_ == parse_state::incomplete; }
    /// The message is invalid; see error().
    constexpr bool failed() const noexcept { return state_ == parse_state::failed; }
    /// Bytes of the buffer the head occupies, including leading empty lines; the body (or
    /// the next pipelined message) starts there. Zero unless complete().
    constexpr std::size_t consumed() const noexcept { return consumed_; }
    /// Why parsing failed; only meaningful when failed().
    constexpr errc error() const noexcept { return error_; }
    /// error() as a std::error_code; the empty one unless failed().
    std::error_code error_code() const noexcept {
        return failed() ? make_error_code(error_) : std::error_code{};
    }

private:
    constexpr parse_result() noexcept = default;

    parse_state state_ = parse_state::incomplete;
    errc error_{};
    std::size_t consumed_ = 0;
};

namespace detail {

/// Progress through one head, kept between calls so that no byte is examined twice.
/// Positions are 32-bit offsets from the start of the message (heads are far smaller), so the
/// buffer may move between calls; the struct stays small enough to reset with a few stores.
struct head_progress {
    const char* base = nullptr;   // buffer.data() at the previous call, to rebase field views
    std::uint32_t pos = 0;        // next byte to examine
    std::uint32_t line0 = 0;      // start line: method begin (request) / reason begin (response)
    std::uint32_t line1 = 0;      // method end / reason end
    std::uint32_t line2 = 0;      // target end
    std::uint32_t query_at = 0;   // offset of the first '?' in the target + 1; 0 if none
    std::uint32_t path_begin = 0; // the path within the target, once the request line is done
    std::uint32_t path_end = 0;
    std::uint32_t name_begin = 0; // the field line being scanned
    std::uint32_t name_end = 0;
    std::uint32_t value_begin = 0;
    std::uint64_t content_length = 0;
    std::uint16_t status = 0;
    std::uint8_t method = 0; // http::method of the request line
    std::uint8_t stage = 0;
    std::uint8_t empty_lines = 0;
    std::uint8_t host_count = 0;
    bool has_content_length = false;
    bool has_transfer_encoding = false;
    bool chunked_last = false;     // the last transfer coding seen so far is chunked
    bool chunked_not_last = false; // chunked was followed by another coding
    bool chunked_twice = false;    // chunked applied more than once
    bool other_coding = false;     // a coding other than chunked
    bool connection_close = false; // a `close` connection option
    bool connection_keep_alive = false;
    bool expect_continue = false;
    bool target_bracket = false; // '[' or ']' in the target, legal only in an authority
    bool finished = false;       // the last call completed or failed; the next starts anew
};

} // namespace detail

namespace detail {
/// What both head parsers keep between calls: their limits and how far the message got.
class head_parser_base {
public:
    /// Forgets a partly parsed message.
    void reset() noexcept { progress_ = {}; }

    const parser_limits& limits() const noexcept { return limits_; }
    const parser_leniency& leniency() const noexcept { return leniency_; }

protected:
    head_parser_base(parser_limits limits, parser_leniency leniency) noexcept
        : limits_(limits)
        , leniency_(leniency) {}

    parser_limits limits_;
    parser_leniency leniency_;
    head_progress progress_;
};
} // namespace detail

/// Parses request heads (RFC 9112 §2-§6) for a server connection. One per connection.
///
/// Call parse() with the bytes received so far for the current message, starting at its
/// first byte; when it needs more, call again with the grown buffer (which may have moved,
/// but must hold the same bytes in front) and the same head. Each byte is examined once over
/// all calls. After a complete or failed result, the next call starts a new message.
class SNOW_API request_parser : public detail::head_parser_base {
public:
    /// A parser enforcing `limits`, strict except for what `leniency` allows.
    explicit request_parser(parser_limits limits = {}, parser_leniency leniency = {}) noexcept
        : head_parser_base(limits, leniency) {}

    /// Parses into `head`. On complete(), consumed() bytes hold the head and `head` is
    /// filled in, its views pointing into `buffer`; on failed(), status_for(error()) is the
    /// status to answer before closing the connection. The head is also rejected as too
    /// large as soon as max_header_bytes arrive without its end, so a peer that never
    /// finishes its head costs bounded memory.
    parse_result parse(std::string_view buffer, request_head& head);
};

/// Parses response heads (RFC 9112 §4, §6.3) for a client, with the same incremental
/// contract as request_parser.
class SNOW_API response_parser : public detail::head_parser_base {
public:
    /// A parser enforcing `limits`, strict except for what `leniency` allows.
    explicit response_parser(parser_limits limits = {}, parser_leniency leniency = {}) noexcept
        : head_parser_base(limits, leniency) {}

    /// Parses into `head`. `request_method` is the method of the request this answers: a
    /// response to HEAD has no body whatever its fields say, and a 2xx to CONNECT turns the
    /// connection into a tunnel. A missing reason phrase ("HTTP/1.1 200\r\n") is accepted,
    /// as every deployed client does.
    parse_result parse(std::string_view buffer, response_head& head,
                       http::method request_method = http::method::get);
};

/// What one call to chunked_decoder found.
class [[nodiscard]] decode_result {
public:
    /// A result in `state` that used `consumed` input bytes and decoded `data`.
    constexpr decode_result(parse_state state, std::size_t consumed, std::string_view data) noexcept
        : state_(state)
        , consumed_(consumed)
        , data_(data) {}
    /// A failure with `error` after `consumed` input bytes.
    constexpr decode_result(errc error, std::size_t consumed) noexcept
        : state_(parse_state::failed)
        , error_(error)
        , consumed_(consumed) {}

    /// Complete, incomplete or failed.
    constexpr parse_state state() const noexcept { return state_; }
    /// The last chunk and the trailer section have been read; bytes after consumed() belong
    /// to the next message.
    constexpr bool complete() const noexcept { return state_ == parse_state::complete; }
    /// The body goes on: call again with the input after consumed() (read more once that is
    /// empty).
    constexpr bool incomplete() const noexcept { return state_ == parse_state::incomplete; }
    /// The framing is invalid; see error().
    constexpr bool failed() const noexcept { return state_ == parse_state::failed; }
    /// Input bytes used by this call (framing and data).
    constexpr std::size_t consumed() const noexcept { return consumed_; }
    /// Body bytes decoded by this call; may be empty.
    constexpr std::string_view data() const noexcept { return data_; }
    /// Only meaningful when failed().
    constexpr errc error() const noexcept { return error_; }
    /// error() as a std::error_code; the empty one unless failed().
    std::error_code error_code() const noexcept {
        return failed() ? make_error_code(error_) : std::error_code{};
    }

private:
    parse_state state_;
    errc error_{};
    std::size_t consumed_;
    std::string_view data_;
};

/// Decodes a chunked body (RFC 9112 §7.1) incrementally, for request bodies on the server and
/// response bodies on the client. Unlike the head parsers it is fed only new bytes: whatever
/// it consumed, it has remembered, so the caller may drop it. Chunk extensions are validated
/// and ignored; trailer fields are validated and kept (see trailers()).
class SNOW_API chunked_decoder {
public:
    /// A decoder enforcing `limits` (max_body_bytes, and max_header_bytes and max_headers for
    /// the trailer section), strict except for what `leniency` allows.
    explicit chunked_decoder(parser_limits limits = {}, parser_leniency leniency = {}) noexcept
        : limits_(limits)
        , leniency_(leniency) {}

    /// Decodes from the front of `input` up to the end of one data span, the end of the
    /// body, or the end of `input`, whichever comes first. data() views `input`. Every call
    /// with non-empty input consumes at least one byte or finishes.
    decode_result decode(std::string_view input);

    /// Decodes all of `buffer` it can in one go, moving the body bytes to its front:
    /// data() is that prefix of `buffer`, consumed() how far into `buffer` the body's
    /// framing went (bytes after it are untouched: the next message).
    decode_result decode_in_place(std::span<char> buffer);

    /// True once the whole body, trailers included, has been read.
    bool done() const noexcept { return stage_ == stage_done; }
    /// Body bytes decoded so far.
    std::uint64_t body_bytes() const noexcept { return total_; }
    /// The trailer fields, once done(); views into this decoder, valid until reset().
    header_list trailers() const noexcept { return header_list(trailer_fields_); }

    /// Prepares for the next body, keeping allocated trailer storage.
    void reset() noexcept;

private:
    static constexpr std::uint8_t stage_done = 255;

    errc finish_trailers();

    parser_limits limits_;
    parser_leniency leniency_;
    std::uint64_t chunk_size_ = 0; // declared size of the current chunk
    std::uint64_t remaining_ = 0;  // data bytes of the current chunk not yet handed out
    std::uint64_t total_ = 0;      // body bytes so far, against max_body_bytes
    std::size_t extension_bytes_ = 0;
    std::uint8_t stage_ = 0;
    errc error_{};             // why the body failed, repeated to later calls
    std::string trailer_text_; // trailer lines as received, CRLF-terminated
    std::vector<header_field> trailer_fields_;
};

} // namespace snow::http
