// snow/http/event_stream_parser.hpp: the text/event-stream parser (WHATWG HTML, "Server-sent
// events", §9.2.6): bytes in, as they arrive, events out. Pure: no sockets, no clock.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "snow/core/export.hpp"
#include "snow/core/result.hpp"

namespace snow::http {

/// Why an event stream was refused: each is a limit the stream went past.
enum class event_stream_errc {
    line_too_long = 1, ///< a line longer than event_stream_limits::max_line_bytes
    event_too_large,   ///< an event's data longer than event_stream_limits::max_event_bytes
};

/// The "event-stream" error category.
SNOW_API const std::error_category& event_stream_category() noexcept;

/// `e` as a std::error_code in the "event-stream" category.
inline std::error_code make_error_code(event_stream_errc e) noexcept {
    return {static_cast<int>(e), event_stream_category()};
}

/// What an event_stream_parser holds at most, so a stream that never ends a line or an event
/// cannot grow it without bound.
struct event_stream_limits {
    /// One line, its field name included. A longer one fails the stream.
    std::size_t max_line_bytes = 64 * 1024;
    /// The data of one event (its data lines joined). A larger one fails the stream.
    std::size_t max_event_bytes = 1024 * 1024;
};

/// An event as the parser dispatches it. The views point into the parser and stay valid until
/// its next parse() or reset().
struct parsed_event {
    std::string_view type; ///< the `event:` field; "message" when the event had none
    std::string_view data; ///< the `data:` lines, joined with LF
    /// The stream's last event id when the event was dispatched: the latest `id:` field, of
    /// this event or an earlier one; empty if none came.
    std::string_view id;
};

/// Parses an event stream fed in pieces of any size: a line (or a CRLF, or the byte order
/// mark) may be split anywhere across them. Follows the WHATWG algorithm: lines end at CRLF,
/// LF or CR; one leading BOM is skipped; `:` starts a comment; one space after the field's
/// colon is dropped; `data:` lines are joined with LF; an `id:` holding NUL is ignored;
/// `retry:` is taken only when all digits; unknown fields are ignored; a blank line dispatches
/// the event, unless it has no data (it then only updates the last event id); an event not
/// ended by a blank line when the stream ends is never dispatched. Bytes pass through as they
/// are: it does not replace invalid UTF-8.
///
/// Allocation-light: a line inside one piece is parsed where it lies; only a line split
/// across pieces is copied, and the buffers keep their capacity from event to event.
class SNOW_API event_stream_parser {
public:
    /// A parser for a new stream, held to `limits`.
    explicit event_stream_parser(event_stream_limits limits = {}) noexcept : limits_(limits) {}

    /// Consumes bytes from the front of `input` until an event is dispatched (returned, with
    /// the rest of `input` left for the next call) or `input` is used up (nothing returned).
    /// Errors: event_stream_errc; the stream cannot go on past one (reset() starts a new one).
    result<std::optional<parsed_event>> parse(std::string_view& input);

    /// Starts a new stream, as after a reconnection: a partial line or event is dropped and a
    /// BOM is skipped again. The last event id and the retry time are kept.
    void reset();

    /// The last event id: the id of the latest dispatched event (or blank line after an
    /// `id:`), which a reconnecting client sends as Last-Event-ID.
    std::string_view last_event_id() const noexcept { return last_event_id_; }
    /// Sets the last event id, as a client resuming from a known id does before it starts.
    void set_last_event_id(std::string_view id) {
        last_event_id_.assign(id);
        id_buffer_.assign(id);
    }
    /// The latest `retry:` time, if the stream sent one (values past about 49 days are
    /// clamped to milliseconds::max()).
    std::optional<std::chrono::milliseconds> retry() const noexcept { return retry_; }

private:
    /// Handles one complete line; true when it dispatched an event.
    result<bool> take_line(std::string_view line);
    parsed_event dispatched() const noexcept;

    event_stream_limits limits_;
    std::string line_;          ///< the start of a line split across pieces
    std::string data_;          ///< the event's data lines, each followed by LF
    std::string type_;          ///< the event's type
    std::string id_buffer_;     ///< the latest `id:` field, dispatched or not
    std::string last_event_id_; ///< the id as of the latest dispatch
    std::optional<std::chrono::milliseconds> retry_;
    unsigned char bom_matched_ = 0; ///< bytes of a leading BOM seen so far
    bool at_start_ = true;          ///< no byte of the stream has been taken but BOM bytes
    bool skip_lf_ = false;          ///< the last line ended with CR: an LF next is its CRLF
    bool clear_event_ = false;      ///< an event was handed out: clear it on the next parse
};

} // namespace snow::http

template <>
struct std::is_error_code_enum<snow::http::event_stream_errc> : std::true_type {};
