// snow/http/server/multipart_reader.hpp: a multipart/form-data body (RFC 7578) read part by part
// as it arrives, over a body_reader, with limits on each part; memory stays bounded by them.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "snow/core/export.hpp"
#include "snow/core/result.hpp"
#include "snow/core/task.hpp"
#include "snow/http/server/body_reader.hpp"

namespace snow::http {

/// Bounds on what one multipart body may make the reader hold or accept.
struct multipart_limits {
    std::size_t max_part_bytes = 1 << 20;    ///< data of one part; over it: std::errc::message_size
    std::size_t max_header_bytes = 8 * 1024; ///< the header section of one part
    std::size_t max_parts = 100;             ///< parts in the body
};

/// The head of one part: its header fields, with Content-Disposition's name and filename.
struct multipart_part {
    std::string name;                                           ///< the form field's name
    std::optional<std::string> filename{};                      ///< for a file upload
    std::string content_type = "text/plain";                    ///< RFC 7578 §4.4's default
    std::vector<std::pair<std::string, std::string>> headers{}; ///< every field, in order
};

/// Reads a multipart/form-data body part by part: next_part() for each part's head, then
/// read() for its data, piece by piece, until an empty piece. A malformed body is
/// std::errc::bad_message; a part over its limit std::errc::message_size; errors of the
/// underlying body_reader pass through. The closing boundary need not be followed by CRLF.
///     auto boundary = multipart_reader::boundary_of(*req.header("Content-Type"));
///     multipart_reader form(req.body_stream(), *boundary);
///     for (;;) { auto part = co_await form.next_part(); ... }
class SNOW_API multipart_reader {
public:
    /// The boundary parameter of a multipart/form-data Content-Type; none if it is absent,
    /// not multipart/form-data, or not a valid boundary (1 to 70 characters, RFC 2046).
    static std::optional<std::string> boundary_of(std::string_view content_type);

    /// Reads `body` (which must outlive the reader), delimited by `boundary`.
    multipart_reader(body_reader& body, std::string_view boundary, multipart_limits limits);
    /// The same with the default limits.
    multipart_reader(body_reader& body, std::string_view boundary)
        : multipart_reader(body, boundary, multipart_limits{}) {}

    /// The head of the next part, skipping what is left of the current one's data; none once
    /// the closing boundary has been read.
    task<result<std::optional<multipart_part>>> next_part();
    /// The next piece of the current part's data, valid until the next call; empty at the
    /// end of the part.
    task<result<std::string_view>> read();

private:
    enum class stage : unsigned char { preamble, head, data, delimiter, closed };

    /// Appends the body's next piece to the buffer; false at the body's end.
    task<result<bool>> pull();
    std::optional<std::error_code> parse_head(std::string_view text, multipart_part& part);
    void drop_front(std::size_t n);

    body_reader& body_;
    std::string delimiter_; // "\r\n--" boundary
    multipart_limits limits_;
    std::string buffer_; // received, not yet handed out, from start_
    std::size_t start_ = 0;
    std::size_t part_bytes_ = 0;
    std::size_t parts_ = 0;
    stage stage_ = stage::preamble;
    std::error_code error_;
};

} // namespace snow::http
