// snow/http/server/detail/writer.cpp: the response head, written without fmt and bounds-checked.
#include "snow/http/server/detail/writer.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "snow/http/date.hpp"
#include "snow/http/grammar.hpp"
#include "snow/http/status.hpp"

namespace snow::http {

namespace {

/// Writes the head into `out` with one growth of the string for the usual head and plain
/// copies after it (fmt's format-string parsing was a measurable share of a pipelined
/// request). Every write checks the room left and grows the string when the estimate was
/// short, so the estimate is only a hint: a head it did not foresee costs a reallocation,
/// never an overflow.
class head_builder {
public:
    head_builder(std::string& out, std::size_t expected) : out_(out) {
        const std::size_t start = out.size();
        out.resize(start + expected);
        at_ = out.data() + start;
        end_ = out.data() + out.size();
    }
    head_builder(const head_builder&) = delete;
    head_builder& operator=(const head_builder&) = delete;
    ~head_builder() { out_.resize(static_cast<std::size_t>(at_ - out_.data())); }

    // Inlined into every use, so that a literal's copy is a few moves of a known size
    // rather than a call and a libc memcpy of an unknown one.
    [[gnu::always_inline]] head_builder& operator<<(std::string_view text) {
        reserve(text.size());
        std::memcpy(at_, text.data(), text.size());
        at_ += text.size();
        return *this;
    }
    template <typename Integer>
    head_builder& number(Integer value) {
        reserve(max_digits);
        at_ = std::to_chars(at_, end_, value).ptr;
        return *this;
    }
    /// A status code: three digits written directly for the codes there are (to_chars
    /// otherwise).
    head_builder& status(int code) {
        if (code < 100 || code > 999) return number(code);
        reserve(3);
        at_[0] = static_cast<char>('0' + code / 100);
        at_[1] = static_cast<char>('0' + code / 10 % 10);
        at_[2] = static_cast<char>('0' + code % 10);
        at_ += 3;
        return *this;
    }
    static constexpr std::size_t max_digits = 20;

private:
    [[gnu::always_inline]] void reserve(std::size_t bytes) {
        if (static_cast<std::size_t>(end_ - at_) >= bytes) [[likely]]
            return;
        grow(bytes);
    }
    void grow(std::size_t bytes) {
        const std::size_t used = static_cast<std::size_t>(at_ - out_.data());
        out_.resize(std::max(out_.size() * 2, used + bytes));
        at_ = out_.data() + used;
        end_ = out_.data() + out_.size();
    }

    std::string& out_;
    char* at_;
    char* end_;
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
    // The status line, the handler's fields, and room for what the server adds (Date,
    // framing, Connection): a hint, see head_builder.
    constexpr std::size_t server_lines = 128;
    std::size_t expected = server_lines + reason.size() + date.size();
    for (header_field field : r.headers) expected += field.name.size() + field.value.size() + 4;

    head_builder head(out, expected);
    head << (context.version_minor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ");
    head.status(r.status) << " " << reason << "\r\n";
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
    if (r.upgrade && r.status == 101)
        head << "Connection: Upgrade\r\n"; // the connection switches protocols, then ends
    else if (closes)
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
    for (const header_field field : r.headers)
        if (iequals(field.name, "Connection") && has_close_option(field.value)) return true;
    return false;
}

} // namespace snow::http
