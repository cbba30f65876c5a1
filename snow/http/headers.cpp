// snow/http/headers.cpp: the lookups of headers and header_list, and field validation on add.
#include "snow/http/headers.hpp"

#include <algorithm>

namespace snow::http {
namespace {

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

/// The field names and values snow's own response helpers add (text(), html(), json()):
/// recognised by their bytes, which costs a comparison where checking every byte against
/// the grammar costs several instructions a byte. Anything else is checked in full.
bool known_token(std::string_view name) noexcept {
    return name.size() == 12 && name == "Content-Type";
}
bool known_field_value(std::string_view value) noexcept {
    switch (value.size()) {
    case 16:
        return value == "application/json";
    case 24:
        return value == "text/html; charset=utf-8";
    case 25:
        return value == "text/plain; charset=utf-8";
    default:
        return false;
    }
}

} // namespace

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
    if (!known_token(name) && !is_token(name)) return false;
    if (!known_field_value(value) && !is_field_value(value)) return false;
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
