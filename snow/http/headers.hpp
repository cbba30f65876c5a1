// snow/http/headers.hpp: header fields. `headers` owns the fields of a response or client request
// being built; `header_list` looks fields up in a head the parser left in the connection buffer.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "snow/core/export.hpp"
#include "snow/http/grammar.hpp"

namespace snow::http {

/// One field line; both views point into storage someone else owns.
struct header_field {
    /// The field name, as spelled in the message.
    std::string_view name;
    /// The field value, without surrounding whitespace.
    std::string_view value;

    /// Byte-wise equality of name and value.
    friend bool operator==(const header_field&, const header_field&) = default;
};

/// A read-only, non-owning view of parsed fields (a request_head's or response_head's), with
/// case-insensitive lookup. Valid while the buffer the fields point into is.
class SNOW_API header_list {
public:
    /// Iterates the fields in message order.
    using iterator = std::span<const header_field>::iterator;

    header_list() noexcept = default;
    /// A view of `fields`, which must outlive it.
    header_list(std::span<const header_field> fields) noexcept : fields_(fields) {}

    /// The value of the first field named `name`, or nullopt.
    std::optional<std::string_view> get(std::string_view name) const noexcept;
    /// The values of every field named `name`, in order (allocates; get() does not).
    std::vector<std::string_view> get_all(std::string_view name) const;
    /// Whether a field named `name` is present.
    bool contains(std::string_view name) const noexcept { return get(name).has_value(); }

    ///@{
    /// The fields as a range, in message order: their number, whether there are none, and their
    /// iterators.
    std::size_t size() const noexcept { return fields_.size(); }
    bool empty() const noexcept { return fields_.empty(); }
    iterator begin() const noexcept { return fields_.begin(); }
    iterator end() const noexcept { return fields_.end(); }
    ///@}

private:
    std::span<const header_field> fields_;
};

/// An owning, ordered list of fields for a message being built. Names compare
/// case-insensitively and keep the spelling they were added with; repeated fields stay in
/// the order they were added. The first few fields are stored in the object itself, and the
/// Content-Type values the response helpers use are kept as views of constants, so a small
/// response's fields cost no allocation.
class SNOW_API headers {
    /// One field. Its name and value are views of constants (the names and values the
    /// response helpers use) or of `owned`, one block for whichever bytes are not constants:
    /// a move copies pointers, and the views stay put.
    class entry {
    public:
        entry(std::string_view name, std::string_view value);
        /// With `constant_name` and `constant_value` already looked up (empty: none).
        entry(std::string_view name, std::string_view value, std::string_view constant_name,
              std::string_view constant_value);
        entry(const entry& other) : entry(other.name(), other.value()) {}
        entry(entry&&) noexcept = default;
        entry& operator=(const entry& other) {
            entry copy(other);
            return *this = std::move(copy);
        }
        entry& operator=(entry&&) noexcept = default;
        ~entry() = default;

        std::string_view name() const noexcept { return {name_, name_size_}; }
        std::string_view value() const noexcept { return {value_, value_size_}; }

    private:
        std::unique_ptr<char[]> owned_;
        const char* name_;
        const char* value_;
        std::size_t name_size_;
        std::size_t value_size_;
    };

    /// The entries, contiguous: in `inline_` while there are at most inline_capacity, then
    /// all of them in one heap block.
    class entry_list {
    public:
        static constexpr std::size_t inline_capacity = 3;

        entry_list() noexcept = default;
        entry_list(const entry_list& other);
        entry_list(entry_list&& other) noexcept { take(other); }
        entry_list& operator=(const entry_list& other);
        entry_list& operator=(entry_list&& other) noexcept;
        ~entry_list() { release(); }

        entry* begin() noexcept { return data_; }
        entry* end() noexcept { return data_ + size_; }
        const entry* begin() const noexcept { return data_; }
        const entry* end() const noexcept { return data_ + size_; }
        std::size_t size() const noexcept { return size_; }
        bool empty() const noexcept { return size_ == 0; }

        void reserve(std::size_t capacity);
        void push_back(entry&& e);
        /// Removes [first, end()).
        void truncate(entry* first) noexcept;
        void clear() noexcept { truncate(data_); }

    private:
        entry* inline_entries() noexcept { return reinterpret_cast<entry*>(inline_); }
        void take(entry_list& other) noexcept; // moves other's entries into an empty list
        void release() noexcept;               // destroys the entries, frees a heap block

        entry* data_ = inline_entries();
        std::size_t size_ = 0;
        std::size_t capacity_ = inline_capacity;
        alignas(entry) unsigned char inline_[inline_capacity * sizeof(entry)];
    };

public:
    /// Iterates the fields as header_field views into this object.
    class iterator {
    public:
        ///@{
        /// The standard iterator traits: a forward iterator whose reference is a header_field
        /// value.
        using iterator_category = std::forward_iterator_tag;
        using value_type = header_field;
        using difference_type = std::ptrdiff_t;
        using reference = header_field;
        using pointer = void;
        ///@}

        iterator() noexcept = default;
        /// The current field, as views into the headers object.
        header_field operator*() const noexcept { return {it_->name(), it_->value()}; }
        ///@{
        /// Moves to the next field.
        iterator& operator++() noexcept {
            ++it_;
            return *this;
        }
        iterator operator++(int) noexcept {
            auto copy = *this;
            ++it_;
            return copy;
        }
        /// Whether both iterators are at the same field.
        ///@}
        friend bool operator==(const iterator&, const iterator&) = default;

    private:
        friend class headers;
        explicit iterator(const entry* it) noexcept : it_(it) {}
        const entry* it_ = nullptr;
    };

    headers() = default;
    /// Adds each field in order; fields that add() would refuse are skipped.
    headers(std::initializer_list<header_field> fields);

    /// Appends a field. Returns false, changing nothing, if `name` is not a token or `value`
    /// is not a valid field value (see is_field_value()).
    bool add(std::string_view name, std::string_view value);
    /// Replaces every field named `name` with one field, kept where the first one was (or
    /// appended). Returns false, changing nothing, on the same grounds as add().
    bool set(std::string_view name, std::string_view value);
    /// Removes every field named `name`; returns how many there were.
    std::size_t remove(std::string_view name);
    /// Removes every field (nothing to do, inline, when there are none).
    void clear() noexcept {
        if (!entries_.empty()) entries_.clear();
    }

    /// The value of the first field named `name`, or nullopt.
    std::optional<std::string_view> get(std::string_view name) const noexcept;
    /// The values of every field named `name`, in order.
    std::vector<std::string_view> get_all(std::string_view name) const;
    /// Whether a field named `name` is present (case-insensitive).
    bool contains(std::string_view name) const noexcept { return get(name).has_value(); }

    ///@{
    /// The fields as a range, in the order added: their number, whether there are none, and
    /// their iterators.
    std::size_t size() const noexcept { return entries_.size(); }
    bool empty() const noexcept { return entries_.empty(); }
    iterator begin() const noexcept { return iterator(entries_.begin()); }
    iterator end() const noexcept { return iterator(entries_.end()); }
    ///@}

private:
    entry_list entries_;
};

} // namespace snow::http
