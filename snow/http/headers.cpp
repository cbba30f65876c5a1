// snow/http/headers.cpp: the lookups of headers and header_list, field validation on add, and
// the storage of headers' entries.
#include "snow/http/headers.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <new>
#include <utility>

namespace snow::http {
namespace {

// A header_field's name and value are members, a headers entry's functions.
std::string_view name_of(const header_field& f) noexcept {
    return f.name;
}
std::string_view value_of(const header_field& f) noexcept {
    return f.value;
}
template <typename Entry>
std::string_view name_of(const Entry& e) noexcept {
    return e.name();
}
template <typename Entry>
std::string_view value_of(const Entry& e) noexcept {
    return e.value();
}

template <typename Range>
std::optional<std::string_view> find_first(const Range& fields, std::string_view name) noexcept {
    for (const auto& f : fields)
        if (iequals(name_of(f), name)) return value_of(f);
    return std::nullopt;
}

template <typename Range>
std::vector<std::string_view> find_all(const Range& fields, std::string_view name) {
    std::vector<std::string_view> values;
    for (const auto& f : fields)
        if (iequals(name_of(f), name)) values.emplace_back(value_of(f));
    return values;
}

/// The field names and values snow's own response helpers add (text(), html(), json()):
/// recognised by their bytes, which costs a comparison where checking every byte against
/// the grammar costs several instructions a byte. Anything else is checked in full.
/// The constant equal to `name`, or an empty view (see known_field_value()).
std::string_view known_token(std::string_view name) noexcept {
    constexpr std::string_view content_type = "Content-Type";
    return name.size() == content_type.size() && name == content_type ? content_type
                                                                      : std::string_view();
}
/// The constant equal to `value`, or an empty view: a known value is then stored as a view
/// of the constant, which costs no allocation (the 25 bytes of text()'s would need one).
std::string_view known_field_value(std::string_view value) noexcept {
    constexpr std::string_view json = "application/json";
    constexpr std::string_view html = "text/html; charset=utf-8";
    constexpr std::string_view plain = "text/plain; charset=utf-8";
    switch (value.size()) {
    case json.size():
        return value == json ? json : std::string_view();
    case html.size():
        return value == html ? html : std::string_view();
    case plain.size():
        return value == plain ? plain : std::string_view();
    default:
        return {};
    }
}

} // namespace

std::optional<std::string_view> header_list::get(std::string_view name) const noexcept {
    return find_first(fields_, name);
}

std::vector<std::string_view> header_list::get_all(std::string_view name) const {
    return find_all(fields_, name);
}

// --- entry_list ---

headers::entry_list::entry_list(const entry_list& other) {
    reserve(other.size_);
    try {
        for (const entry& e : other) push_back(entry(e));
    } catch (...) {
        release(); // a constructor that throws runs no destructor
        throw;
    }
}

headers::entry_list& headers::entry_list::operator=(const entry_list& other) {
    if (this != &other) {
        entry_list copy(other);
        *this = std::move(copy);
    }
    return *this;
}

headers::entry_list& headers::entry_list::operator=(entry_list&& other) noexcept {
    if (this != &other) {
        release();
        data_ = inline_entries();
        size_ = 0;
        capacity_ = inline_capacity;
        take(other);
    }
    return *this;
}

void headers::entry_list::take(entry_list& other) noexcept {
    if (other.data_ != other.inline_entries()) { // a heap block changes hands
        data_ = std::exchange(other.data_, other.inline_entries());
        size_ = std::exchange(other.size_, 0);
        capacity_ = std::exchange(other.capacity_, inline_capacity);
        return;
    }
    std::uninitialized_move(other.begin(), other.end(), data_);
    size_ = other.size_;
    other.clear();
}

void headers::entry_list::release() noexcept {
    std::destroy(begin(), end());
    if (data_ != inline_entries()) std::allocator<entry>().deallocate(data_, capacity_);
}

void headers::entry_list::reserve(std::size_t capacity) {
    if (capacity <= capacity_) return;
    entry* block = std::allocator<entry>().allocate(capacity);
    std::uninitialized_move(begin(), end(), block); // entry's move does not throw
    const std::size_t size = size_;
    release();
    data_ = block;
    size_ = size;
    capacity_ = capacity;
}

void headers::entry_list::push_back(entry&& e) {
    if (size_ == capacity_) reserve(capacity_ * 2);
    new (data_ + size_) entry(std::move(e));
    ++size_;
}

void headers::entry_list::truncate(entry* first) noexcept {
    std::destroy(first, end());
    size_ = static_cast<std::size_t>(first - data_);
}

// --- headers ---

headers::entry::entry(std::string_view name, std::string_view value)
    : entry(name, value, known_token(name), known_field_value(value)) {}

headers::entry::entry(std::string_view name, std::string_view value, std::string_view constant_name,
                      std::string_view constant_value) {
    const std::size_t owned_size =
        (constant_name.data() ? 0 : name.size()) + (constant_value.data() ? 0 : value.size());
    if (owned_size > 0) owned_ = std::make_unique_for_overwrite<char[]>(owned_size);
    char* at = owned_.get();
    auto place = [&](std::string_view constant, std::string_view bytes) -> const char* {
        if (constant.data()) return constant.data();
        const char* placed = at;
        if (!bytes.empty()) std::memcpy(at, bytes.data(), bytes.size());
        at += bytes.size();
        return placed;
    };
    name_ = place(constant_name, name);
    value_ = place(constant_value, value);
    name_size_ = name.size();
    value_size_ = value.size();
}

headers::headers(std::initializer_list<header_field> fields) {
    entries_.reserve(fields.size());
    for (const auto& f : fields) add(f.name, f.value);
}

bool headers::add(std::string_view name, std::string_view value) {
    const std::string_view constant_name = known_token(name);
    const std::string_view constant_value = known_field_value(value);
    if (constant_name.data() == nullptr && !is_token(name)) return false;
    if (constant_value.data() == nullptr && !is_field_value(value)) return false;
    entries_.push_back(entry(name, value, constant_name, constant_value));
    return true;
}

bool headers::set(std::string_view name, std::string_view value) {
    if (!is_token(name) || !is_field_value(value)) return false;
    auto first = std::find_if(entries_.begin(), entries_.end(),
                              [&](const entry& e) { return iequals(e.name(), name); });
    if (first == entries_.end()) {
        entries_.push_back(entry(name, value));
        return true;
    }
    *first = entry(name, value);
    // Compared with the kept entry's copy: `name` may view an entry that moves or goes.
    const std::string_view kept = first->name();
    entries_.truncate(std::remove_if(std::next(first), entries_.end(),
                                     [&](const entry& e) { return iequals(e.name(), kept); }));
    return true;
}

std::size_t headers::remove(std::string_view name) {
    auto kept_end = std::remove_if(entries_.begin(), entries_.end(),
                                   [&](const entry& e) { return iequals(e.name(), name); });
    const auto removed = static_cast<std::size_t>(entries_.end() - kept_end);
    entries_.truncate(kept_end);
    return removed;
}

std::optional<std::string_view> headers::get(std::string_view name) const noexcept {
    return find_first(entries_, name);
}

std::vector<std::string_view> headers::get_all(std::string_view name) const {
    return find_all(entries_, name);
}

} // namespace snow::http
