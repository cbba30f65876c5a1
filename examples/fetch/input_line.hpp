// examples/fetch/input_line.hpp: one line of snow-fetch's input, taken apart: a bare URL, or a
// JSON object {"url", "method", "headers", "body", "timeout"} read by a small strict reader
// that accepts exactly that shape and names what is wrong with anything else.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace snow::examples::fetch {

/// What one input line asks for. Fields left unset take the command line's values.
struct input_request {
    std::string url{};
    std::optional<std::string> method{};
    /// Header fields in the order given; a name may repeat.
    std::vector<std::pair<std::string, std::string>> headers{};
    std::optional<std::string> body{};
    std::optional<double> timeout_seconds{};
};

/// Why a JSON line was refused, for the message on stderr.
struct input_error {
    std::string reason{};
};

/// Reads one JSON object of the input-line shape. Strict: every key is one of url (a
/// string, required), method (a string), headers (an object of strings), body (a string) and
/// timeout (a number of seconds > 0); no key twice; nothing but whitespace after the object.
class json_request_reader {
public:
    /// `text` as an input_request, or why it is not one.
    static std::variant<input_request, input_error> read(std::string_view text) {
        json_request_reader reader(text);
        input_request out;
        if (auto failed = reader.object(out)) return input_error{std::move(*failed)};
        return out;
    }

private:
    explicit json_request_reader(std::string_view text) noexcept : text_(text) {}

    std::optional<std::string> object(input_request& out) {
        skip_space();
        if (!take('{')) return fail("expected '{'");
        bool seen_url = false;
        bool seen_headers = false;
        skip_space();
        if (!take('}')) {
            for (;;) {
                skip_space();
                std::string key;
                if (auto failed = string(key)) return failed;
                skip_space();
                if (!take(':')) return fail("expected ':' after a key");
                skip_space();
                if (key == "url") {
                    if (seen_url) return fail("\"url\" given twice");
                    seen_url = true;
                    if (auto failed = string(out.url)) return failed;
                } else if (key == "method") {
                    if (out.method) return fail("\"method\" given twice");
                    if (auto failed = string(out.method.emplace())) return failed;
                } else if (key == "body") {
                    if (out.body) return fail("\"body\" given twice");
                    if (auto failed = string(out.body.emplace())) return failed;
                } else if (key == "timeout") {
                    if (out.timeout_seconds) return fail("\"timeout\" given twice");
                    if (auto failed = seconds(out.timeout_seconds.emplace())) return failed;
                } else if (key == "headers") {
                    if (seen_headers) return fail("\"headers\" given twice");
                    seen_headers = true;
                    if (auto failed = headers(out.headers)) return failed;
                } else {
                    return fail("unknown key \"" + key + "\"");
                }
                skip_space();
                if (take('}')) break;
                if (!take(',')) return fail("expected ',' or '}'");
            }
        }
        skip_space();
        if (at_ < text_.size()) return fail("text after the object");
        if (!seen_url) return fail("no \"url\"");
        return std::nullopt;
    }

    std::optional<std::string> headers(std::vector<std::pair<std::string, std::string>>& out) {
        if (!take('{')) return fail("\"headers\" must be an object of strings");
        skip_space();
        if (take('}')) return std::nullopt;
        for (;;) {
            skip_space();
            std::pair<std::string, std::string> field;
            if (auto failed = string(field.first)) return failed;
            skip_space();
            if (!take(':')) return fail("expected ':' after a header name");
            skip_space();
            if (peek() != '"') return fail("a header value must be a string");
            if (auto failed = string(field.second)) return failed;
            out.push_back(std::move(field));
            skip_space();
            if (take('}')) return std::nullopt;
            if (!take(',')) return fail("expected ',' or '}' in \"headers\"");
        }
    }

    /// A JSON number (RFC 8259 grammar, nothing looser) that is a duration in seconds.
    std::optional<std::string> seconds(double& out) {
        const std::size_t start = at_;
        take('-');
        if (!take('0') && !digits()) return fail("\"timeout\" must be a number of seconds");
        if (take('.') && !digits()) return fail("a digit must follow '.'");
        if (take('e') || take('E')) {
            if (!take('+')) take('-');
            if (!digits()) return fail("a digit must follow the exponent");
        }
        const std::string number(text_.substr(start, at_ - start));
        out = std::strtod(number.c_str(), nullptr);
        // A deadline beyond a year is a typo, and would overflow the clock arithmetic.
        if (!std::isfinite(out) || out <= 0 || out > 365.0 * 24 * 3600)
            return fail("\"timeout\" must be more than 0 and at most a year");
        return std::nullopt;
    }

    bool digits() noexcept {
        const std::size_t start = at_;
        while (at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9') ++at_;
        return at_ > start;
    }

    /// A JSON string; escapes decoded, \u escapes (surrogate pairs too) as UTF-8.
    std::optional<std::string> string(std::string& out) {
        if (!take('"')) return fail("expected a string");
        out.clear();
        for (;;) {
            if (at_ >= text_.size()) return fail("unterminated string");
            const char c = text_[at_++];
            if (c == '"') return std::nullopt;
            if (static_cast<unsigned char>(c) < 0x20) return fail("control character in a string");
            if (c != '\\') {
                out.push_back(c);
                continue;
            }
            if (at_ >= text_.size()) return fail("unterminated string");
            switch (text_[at_++]) {
            case '"':
                out.push_back('"');
                break;
            case '\\':
                out.push_back('\\');
                break;
            case '/':
                out.push_back('/');
                break;
            case 'b':
                out.push_back('\b');
                break;
            case 'f':
                out.push_back('\f');
                break;
            case 'n':
                out.push_back('\n');
                break;
            case 'r':
                out.push_back('\r');
                break;
            case 't':
                out.push_back('\t');
                break;
            case 'u': {
                std::uint32_t code = 0;
                if (!hex4(code)) return fail("\\u wants four hex digits");
                if (code >= 0xDC00 && code <= 0xDFFF) return fail("lone low surrogate");
                if (code >= 0xD800 && code <= 0xDBFF) {
                    std::uint32_t low = 0;
                    if (!take('\\') || !take('u') || !hex4(low) || low < 0xDC00 || low > 0xDFFF)
                        return fail("lone high surrogate");
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                }
                append_utf8(out, code);
                break;
            }
            default:
                return fail("unknown escape");
            }
        }
    }

    bool hex4(std::uint32_t& out) noexcept {
        if (text_.size() - at_ < 4) return false;
        out = 0;
        for (int i = 0; i < 4; ++i) {
            const char c = text_[at_++];
            std::uint32_t digit = 0;
            if (c >= '0' && c <= '9') {
                digit = static_cast<std::uint32_t>(c - '0');
            } else if (c >= 'a' && c <= 'f') {
                digit = static_cast<std::uint32_t>(c - 'a' + 10);
            } else if (c >= 'A' && c <= 'F') {
                digit = static_cast<std::uint32_t>(c - 'A' + 10);
            } else {
                return false;
            }
            out = out * 16 + digit;
        }
        return true;
    }

    static void append_utf8(std::string& out, std::uint32_t code) {
        auto byte = [&out](std::uint32_t b) { out.push_back(static_cast<char>(b)); };
        if (code < 0x80) {
            byte(code);
        } else if (code < 0x800) {
            byte(0xC0 | (code >> 6));
            byte(0x80 | (code & 0x3F));
        } else if (code < 0x10000) {
            byte(0xE0 | (code >> 12));
            byte(0x80 | ((code >> 6) & 0x3F));
            byte(0x80 | (code & 0x3F));
        } else {
            byte(0xF0 | (code >> 18));
            byte(0x80 | ((code >> 12) & 0x3F));
            byte(0x80 | ((code >> 6) & 0x3F));
            byte(0x80 | (code & 0x3F));
        }
    }

    void skip_space() noexcept {
        while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\t' ||
                                      text_[at_] == '\n' || text_[at_] == '\r'))
            ++at_;
    }
    char peek() const noexcept { return at_ < text_.size() ? text_[at_] : '\0'; }
    bool take(char c) noexcept {
        if (at_ < text_.size() && text_[at_] == c) {
            ++at_;
            return true;
        }
        return false;
    }
    std::string fail(std::string_view why) const {
        return std::string(why) + " at byte " + std::to_string(at_ + 1);
    }

    std::string_view text_;
    std::size_t at_ = 0;
};

/// What an input line holds once blanks and comments are set aside.
enum class line_kind { skip, url, json };

/// Blank lines and lines starting with '#' (after leading whitespace) are skipped; a line
/// starting with '{' is JSON; anything else is a URL. `line` loses its surrounding
/// whitespace.
inline line_kind classify_line(std::string_view& line) noexcept {
    auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!line.empty() && is_space(line.front())) line.remove_prefix(1);
    while (!line.empty() && is_space(line.back())) line.remove_suffix(1);
    if (line.empty() || line.front() == '#') return line_kind::skip;
    return line.front() == '{' ? line_kind::json : line_kind::url;
}

} // namespace snow::examples::fetch
