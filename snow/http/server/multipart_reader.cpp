// snow/http/server/multipart_reader.cpp: finding the boundaries of a multipart/form-data body as
// it arrives, keeping back only what could be the start of a delimiter.
#include "snow/http/server/multipart_reader.hpp"

#include <algorithm>
#include <system_error>

namespace snow::http {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool equal_ignoring_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return (x | 0x20) == (y | 0x20);
           });
}

/// The value of parameter `name` in a field value such as `form-data; name="a"; filename=b`.
std::optional<std::string> parameter(std::string_view value, std::string_view name) {
    std::size_t at = value.find(';');
    while (at != std::string_view::npos) {
        value.remove_prefix(at + 1);
        const std::size_t equals = value.find('=');
        if (equals == std::string_view::npos) return std::nullopt;
        const std::string_view key = trim(value.substr(0, equals));
        std::string_view rest = trim(value.substr(equals + 1));
        std::string parsed;
        if (!rest.empty() && rest.front() == '"') {
            std::size_t i = 1;
            for (; i < rest.size() && rest[i] != '"'; ++i) {
                if (rest[i] == '\\' && i + 1 < rest.size()) ++i;
                parsed += rest[i];
            }
            value = rest.substr(std::min(i + 1, rest.size()));
        } else {
            const std::size_t end = rest.find(';');
            parsed = std::string(trim(rest.substr(0, end)));
            value = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
        }
        if (equal_ignoring_case(key, name)) return parsed;
        at = value.find(';');
    }
    return std::nullopt;
}

std::error_code malformed() {
    return std::make_error_code(std::errc::bad_message);
}

} // namespace

std::optional<std::string> multipart_reader::boundary_of(std::string_view content_type) {
    const std::string_view type = trim(content_type.substr(0, content_type.find(';')));
    if (!equal_ignoring_case(type, "multipart/form-data")) return std::nullopt;
    auto boundary = parameter(content_type, "boundary");
    if (!boundary || boundary->empty() || boundary->size() > 70) return std::nullopt;
    return boundary;
}

multipart_reader::multipart_reader(body_reader& body, std::string_view boundary,
                                   multipart_limits limits)
    : body_(body)
    , delimiter_("\r\n--" + std::string(boundary))
    , limits_(limits) {
    // The body's first delimiter may come without the CRLF before it: one is put in front.
    buffer_ = "\r\n";
}

void multipart_reader::drop_front(std::size_t n) {
    start_ += n;
}

task<result<bool>> multipart_reader::pull() {
    // Compact first: what was handed out is no longer needed.
    buffer_.erase(0, start_);
    start_ = 0;
    auto piece = co_await body_.next();
    if (!piece) co_return piece.error();
    if (piece->empty()) co_return false;
    buffer_.append(piece->data(), piece->size());
    co_return true;
}

std::optional<std::error_code> multipart_reader::parse_head(std::string_view text,
                                                            multipart_part& part) {
    bool disposition = false;
    while (!text.empty()) {
        const std::size_t end = text.find("\r\n");
        const std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 2);
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) return malformed();
        const std::string_view name = line.substr(0, colon);
        const std::string_view value = trim(line.substr(colon + 1));
        part.headers.emplace_back(std::string(name), std::string(value));
        if (equal_ignoring_case(name, "Content-Disposition")) {
            if (!equal_ignoring_case(trim(value.substr(0, value.find(';'))), "form-data"))
                return malformed();
            auto field = parameter(value, "name");
            if (!field) return malformed();
            part.name = std::move(*field);
            part.filename = parameter(value, "filename");
            disposition = true;
        } else if (equal_ignoring_case(name, "Content-Type")) {
            part.content_type = std::string(value);
        }
    }
    // RFC 7578 §4.2: each part has a Content-Disposition naming its field.
    if (!disposition) return malformed();
    return std::nullopt;
}

task<result<std::string_view>> multipart_reader::read() {
    if (error_) co_return error_;
    for (;;) {
        if (stage_ != stage::data) co_return std::string_view{};
        const std::string_view held(buffer_.data() + start_, buffer_.size() - start_);
        const std::size_t found = held.find(delimiter_);
        // Without a delimiter, all but what could be its start is data.
        const std::size_t data = found != std::string_view::npos
                                     ? found
                                     : held.size() - std::min(held.size(), delimiter_.size() - 1);
        if (data > 0) {
            part_bytes_ += data;
            if (part_bytes_ > limits_.max_part_bytes)
                co_return error_ = std::make_error_code(std::errc::message_size);
            drop_front(data);
            co_return held.substr(0, data);
        }
        if (found != std::string_view::npos) {
            drop_front(delimiter_.size());
            stage_ = stage::delimiter;
            co_return std::string_view{};
        }
        auto more = co_await pull();
        if (!more) co_return error_ = more.error();
        if (!*more) co_return error_ = malformed(); // the body ended inside a part
    }
}

task<result<std::optional<multipart_part>>> multipart_reader::next_part() {
    if (error_) co_return error_;
    for (;;) {
        if (stage_ == stage::closed) co_return std::optional<multipart_part>{};
        if (stage_ == stage::data) {
            // What the caller left of the current part is skipped.
            auto rest = co_await read();
            if (!rest) co_return rest.error();
            continue;
        }
        const std::string_view held(buffer_.data() + start_, buffer_.size() - start_);
        bool need_more = false;
        if (stage_ == stage::preamble) {
            const std::size_t found = held.find(delimiter_);
            if (found != std::string_view::npos) {
                drop_front(found + delimiter_.size());
                stage_ = stage::delimiter;
                continue;
            }
            // The preamble is dropped, all but what could start a delimiter.
            drop_front(held.size() - std::min(held.size(), delimiter_.size() - 1));
            need_more = true;
        } else if (stage_ == stage::delimiter) {
            // After a delimiter: "--" closes the body (CRLF and epilogue optional, so a
            // client that ends right there is understood), else padding and CRLF.
            if (held.size() >= 2 && held.starts_with("--")) {
                stage_ = stage::closed;
                continue;
            }
            const std::size_t line_end = held.find("\r\n");
            if (line_end != std::string_view::npos) {
                if (!trim(held.substr(0, line_end)).empty()) co_return error_ = malformed();
                drop_front(line_end + 2);
                if (++parts_ > limits_.max_parts)
                    co_return error_ = std::make_error_code(std::errc::message_size);
                stage_ = stage::head;
                continue;
            }
            // Only padding may wait here for its CRLF, or a lone '-' for the second one.
            const std::string_view padding = trim(held);
            if (!(padding.empty() || padding == "-" || padding == "\r") ||
                held.size() > limits_.max_header_bytes)
                co_return error_ = malformed();
            need_more = true;
        } else { // stage::head
            const std::size_t end = held.starts_with("\r\n") ? 0 : held.find("\r\n\r\n");
            if (end != std::string_view::npos) {
                multipart_part part;
                if (auto bad = parse_head(held.substr(0, end), part)) co_return error_ = *bad;
                drop_front(end == 0 ? 2 : end + 4);
                part_bytes_ = 0;
                stage_ = stage::data;
                co_return std::optional<multipart_part>(std::move(part));
            }
            if (held.size() > limits_.max_header_bytes)
                co_return error_ = std::make_error_code(std::errc::message_size);
            need_more = true;
        }
        if (need_more) {
            auto more = co_await pull();
            if (!more) co_return error_ = more.error();
            if (!*more) co_return error_ = malformed(); // the body ended before the close
        }
    }
}

} // namespace snow::http
