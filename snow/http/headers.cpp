// snow/http/headers.cpp: field validation and the lookups of headers and header_list.
#include "snow/http/headers.hpp"

#include <algorithm>
#include <array>

namespace snow::http {
namespace {

// Character classes as tables: a field is checked once per byte, for every field a
// handler adds.
struct char_class {
    std::array<bool, 256> member{};
};

constexpr char_class token_chars = [] {
    char_class t;
    for (int c = 0; c < 256; ++c)
        t.member[static_cast<std::size_t>(c)] =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    for (char c : std::string_view("!#$%&'*+-.^_`|~"))
        t.member[static_cast<unsigned char>(c)] = true;
    return t;
}();

constexpr char_class field_value_chars = [] {
    char_class t;
    for (int c = 0; c < 256; ++c)
        t.member[static_cast<std::size_t>(c)] = c == '\t' || (c >= 0x20 && c != 0x7f);
    return t;
}();

constexpr bool is_tchar(unsigned char c) noexcept {
    return token_chars.member[c];
}

constexpr bool is_field_char(unsigned char c) noexcept {
    return field_value_chars.member[c];
}

template <typename Range>
std::optional<std::string_view> find_first(const Range& fields, std::string_view name) noexcept {
    for (const auto& f : fields)
        if (iequals(f.name, name)) return std::string_view(f.value);
    return std::nullopt;
}

template <typename Range>
std::vector<std::string_view> find_all(const Range& fields, std::string_view name) {
    std::vector<std::string_view> values;
    for (const auto& f : fields)
        if (iequals(f.name, name)) values.emplace_back(f.value);
    return values;
}

} // namespace

bool is_token(std::string_view s) noexcept {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return is_tchar(static_cast<unsigned char>(c));
    });
}

bool is_field_value(std::string_view s) noexcept {
    if (!s.empty() &&
        (s.front() == ' ' || s.front() == '\t' || s.back() == ' ' || s.back() == '\t'))
        return false;
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return is_field_char(static_cast<unsigned char>(c)); });
}

std::optional<std::string_view> header_list::get(std::string_view name) const noexcept {
    return find_first(fields_, name);
}

std::vector<std::string_view> header_list::get_all(std::string_view name) const {
    return find_all(fields_, name);
}

headers::headers(std::initializer_list<header_field> fields) {
    entries_.reserve(fields.size());
    for (const auto& f : fields) add(f.name, f.value);
}

bool headers::add(std::string_view name, std::string_view value) {
    if (!is_token(name) || !is_field_value(value)) return false;
    entries_.push_back({std::string(name), std::string(value)});
    return true;
}

bool headers::set(std::string_view name, std::string_view value) {
    if (!is_token(name) || !is_field_value(value)) return false;
    auto first = std::find_if(entries_.begin(), entries_.end(),
                              [&](const entry& e) { return iequals(e.name, name); });
    if (first == entries_.end()) {
        entries_.push_back({std::string(name), std::string(value)});
        return true;
    }
    first->name = name;
    first->value = value;
    entries_.erase(std::remove_if(std::next(first), entries_.end(),
                                  [&](const entry& e) { return iequals(e.name, name); }),
                   entries_.end());
    return true;
}

std::size_t headers::remove(std::string_view name) {
    return std::erase_if(entries_, [&](const entry& e) { return iequals(e.name, name); });
}

std::optional<std::string_view> headers::get(std::string_view name) const noexcept {
    return find_first(entries_, name);
}

std::vector<std::string_view> headers::get_all(std::string_view name) const {
    return find_all(entries_, name);
}

} // namespace snow::http
