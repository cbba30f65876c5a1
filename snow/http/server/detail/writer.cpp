// snow/http/server/detail/writer.cpp
#include "snow/http/server/detail/writer.hpp"

#include <charconv>
#include <cstring>

#include "snow/http/date.hpp"
#include "snow/http/status.hpp"

namespace snow::http {

namespace {

/// Writes the head into a region of `out` sized beforehand: one growth of the string and
/// plain copies, rather than a dozen appends that each check the capacity (or fmt, whose
/// format-string parsing was a measurable share of a pipelined request).
class head_builder {
public:
    head_builder(std::string& out, std::size_t at_most) : out_(out) {
        const std::size_t start = out.size();
        out.resize(start + at_most);
        at_ = out.data() + start;
    }
    head_builder(const head_builder&) = delete;
    head_builder& operator=(const head_builder&) = delete;
    ~head_builder() { out_.resize(static_cast<std::size_t>(at_ - out_.data())); }

    head_builder& operator<<(std::string_view text) noexcept {
        std::memcpy(at_, text.data(), text.size());
        at_ += text.size();
        return *this;
    }
    template <typename Integer>
    head_builder& number(Integer value) noexcept {
        at_ = std::to_chars(at_, at_ + max_digits, value).ptr;
        return *this;
    }
    static constexpr std::size_t max_digits = 20;

private:
    std::string& out_;
    char* at_;
};

enum class field_role { plain, framing, date, connection };

/// What a handler's field means to the writer, looked at by length first so ordinary
/// fields cost one comparison.
field_role role_of(std::string_view name) noexcept {
    switch (name.size()) {
    case 4:
        return iequals(name, "Date") ? field_role::date : field_role::plain;
    case 10:
        return iequals(name, "Connection") ? field_role::connection : field_role::plain;
    case 14:
        return iequals(name, "Content-Length") ? field_role::framing : field_role::plain;
    case 17:
        return iequals(name, "Transfer-Encoding") ? field_role::framing : field_role::plain;
    default:
        return field_role::plain;
    }
}

} // namespace

void write_head(std::string& out, const response& r, const write_context& context) {
    const std::string_view reason = reason_phrase(r.status);
    const std::string_view date = http_date();
    // The longest server-added lines: status line, Date, Content-Length or
    // Transfer-Encoding, Connection, and the blank line.
    std::size_t at_most = 9 + head_builder::max_digits + 1 + reason.size() + 2 + 8 + date.size() +
                          18 + head_builder::max_digits + 28 + 24 + 2;
    for (header_field field : r.headers) at_most += field.name.size() + field.value.size() + 4;

    head_builder head(out, at_most);
    head << (context.version_minor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ");
    head.number(r.status) << " " << reason << "\r\n";
    bool has_date = false;
    for (header_field field : r.headers) {
        // The server decides framing and persistence; a handler's own framing fields would
        // contradict it.
        const field_role role = role_of(field.name);
        if (role == field_role::framing || role == field_role::connection) continue;
        if (role == field_role::date) has_date = true;
        head << field.name << ": " << field.value << "\r\n";
    }
    if (!has_date) head << "Date: " << date << "\r\n";
    if (!status_forbids_body(r.status)) {
        if (r.stream) {
            if (context.version_minor >= 1) head << "Transfer-Encoding: chunked\r\n";
        } else {
            head << "Content-Length: ";
            head.number(r.body.size()) << "\r\n";
        }
    }
    const bool closes = !context.keep_alive || (r.stream && context.version_minor == 0);
    if (closes)
        head << "Connection: close\r\n";
    else if (context.version_minor == 0)
        head << "Connection: keep-alive\r\n";
    head << "\r\n";
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
