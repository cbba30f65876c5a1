// snow/http/writer.cpp
#include "snow/http/writer.hpp"

#include <fmt/format.h>

#include "snow/http/date.hpp"
#include "snow/http/status.hpp"

namespace snow::http {

void write_head(std::string& out, const response& r, const write_context& context) {
    auto sink = std::back_inserter(out);
    fmt::format_to(sink, "HTTP/1.{} {} {}\r\n", context.version_minor == 0 ? 0 : 1, r.status,
                   reason_phrase(r.status));
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
            fmt::format_to(sink, "Content-Length: {}\r\n", r.body.size());
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
