// snow/http/writer.cpp
#include "snow/http/writer.hpp"

#include <charconv>

#include "snow/http/date.hpp"
#include "snow/http/status.hpp"

namespace snow::http {

namespace {
// Plain appends rather than fmt: the head is written once per response, and parsing a
// format string each time was a measurable share of a pipelined request's cost.
template <typename Integer>
void append_number(std::string& out, Integer value) {
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
    out.append(digits, static_cast<std::size_t>(end - digits));
}
} // namespace

void write_head(std::string& out, const response& r, const write_context& context) {
    out.append(context.version_minor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ");
    append_number(out, r.status);
    out.append(" ").append(reason_phrase(r.status)).append("\r\n");
    bool has_date = false;
    for (header_field field : r.headers) {
        // The server decides framing; a handler's own framing fields would contradict it.
        if (iequals(field.name, "Content-Length") || iequals(field.name, "Transfer-Encoding"))
            continue;
        if (iequals(field.name, "Date")) has_date = true;
        if (iequals(field.name, "Connection")) continue;
        out.append(field.name).append(": ").append(field.value).append("\r\n");
    }
    if (!has_date) out.append("Date: ").append(http_date()).append("\r\n");
    if (!status_forbids_body(r.status)) {
        if (r.stream) {
            if (context.version_minor >= 1) out.append("Transfer-Encoding: chunked\r\n");
        } else {
            out.append("Content-Length: ");
            append_number(out, r.body.size());
            out.append("\r\n");
        }
    }
    const bool closes = !context.keep_alive || (r.stream && context.version_minor == 0);
    if (closes)
        out.append("Connection: close\r\n");
    else if (context.version_minor == 0)
        out.append("Connection: keep-alive\r\n");
    out.append("\r\n");
}

void write_response(std::string& out, const response& r, const write_context& context) {
    write_head(out, r, context);
    if (!context.head_request && !status_forbids_body(r.status) && !r.stream) out.append(r.body);
}

bool wants_close(const response& r) noexcept {
    for (std::string_view value : r.headers.get_all("Connection"))
        if (value.find("close") != std::string_view::npos) return true;
    return false;
}

} // namespace snow::http
