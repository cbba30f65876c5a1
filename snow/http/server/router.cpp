// snow/http/server/router.cpp: template and RE2 matching.
#include "snow/http/server/router.hpp"

#include <re2/re2.h>

#include <algorithm>
#include <optional>
#include <stdexcept>

namespace snow::http {

struct router::route_entry {
    std::optional<http::method> only; // none: every method
    handler target;
    std::string pattern; // as registered: the route's label in metrics and logs

    // A path template, split into segments; or a compiled regex.
    struct segment {
        std::string text; // literal text, or the parameter name
        enum class kind { literal, parameter, rest } type;
    };
    std::vector<segment> segments;
    std::string literal; // the whole template when it has no parameters: one comparison
    std::unique_ptr<re2::RE2> regex;
    // A regex with no metacharacter ("/index/") matched at the start of the path is a
    // prefix test: no RE2 call at all, which is most of a request's cost otherwise.
    std::optional<std::string> prefix;

    /// Whether the route matches `path`, with its captures in `out` (none left from an
    /// earlier route tried with the same `out`).
    bool matches(std::string_view path, match& out) const {
        out.params.clear();
        out.groups.clear();
        if (prefix) return match_prefix(path, out);
        if (regex) return match_regex(path, out);
        if (!literal.empty()) return path == literal;
        return match_template(path, out);
    }

    bool match_prefix(std::string_view path, match& out) const {
        if (!path.starts_with(*prefix)) return false;
        out.groups.push_back(path.substr(0, prefix->size()));
        return true;
    }

    bool match_regex(std::string_view path, match& out) const {
        const int groups = regex->NumberOfCapturingGroups();
        std::vector<re2::StringPiece> pieces(static_cast<std::size_t>(groups) + 1);
        if (!regex->Match(re2::StringPiece(path.data(), path.size()), 0, path.size(),
                          re2::RE2::ANCHOR_START, pieces.data(), groups + 1))
            return false;
        for (auto& piece : pieces) out.groups.emplace_back(piece.data(), piece.size());
        return true;
    }

    bool match_template(std::string_view path, match& out) const {
        std::size_t pos = 0;
        for (const segment& s : segments) {
            if (pos >= path.size() || path[pos] != '/') return false;
            ++pos;
            if (s.type == segment::kind::rest) {
                out.params.emplace_back(s.text, path.substr(pos));
                return true;
            }
            std::size_t end = path.find('/', pos);
            if (end == std::string_view::npos) end = path.size();
            std::string_view piece = path.substr(pos, end - pos);
            if (s.type == segment::kind::literal) {
                if (piece != s.text) return false;
            } else {
                if (piece.empty()) return false;
                out.params.emplace_back(s.text, piece);
            }
            pos = end;
        }
        return pos == path.size();
    }
};

router::router() = default;
router::router(router&&) noexcept = default;
router& router::operator=(router&&) noexcept = default;
router::~router() = default;

namespace {
bool is_plain_text(std::string_view pattern) noexcept {
    return pattern.find_first_of("\\^$.|?*+()[]{}") == std::string_view::npos;
}
} // namespace

router& router::add_regex(std::string_view regex, handler h) {
    auto entry = std::make_unique<route_entry>();
    entry->pattern = std::string(regex);
    if (is_plain_text(regex)) {
        entry->prefix.emplace(regex);
        entry->target = std::move(h);
        routes_.push_back(std::move(entry));
        return *this;
    }
    re2::RE2::Options options;
    options.set_encoding(re2::RE2::Options::EncodingLatin1); // paths are bytes
    options.set_log_errors(false);
    entry->regex =
        std::make_unique<re2::RE2>(re2::StringPiece(regex.data(), regex.size()), options);
    if (!entry->regex->ok())
        throw std::invalid_argument("snow: bad route pattern '" + std::string(regex) +
                                    "': " + entry->regex->error());
    entry->target = std::move(h);
    routes_.push_back(std::move(entry));
    return *this;
}

router& router::add_regex(http::method m, std::string_view regex, handler h) {
    add_regex(regex, std::move(h));
    routes_.back()->only = m;
    return *this;
}

router& router::add_template(http::method m, std::string_view path_template, handler h) {
    if (path_template.empty() || path_template.front() != '/')
        throw std::invalid_argument("snow: a path template starts with '/': " +
                                    std::string(path_template));
    auto entry = std::make_unique<route_entry>();
    entry->only = m;
    entry->target = std::move(h);
    entry->pattern = std::string(path_template);
    std::string_view rest = path_template.substr(1);
    for (;;) {
        std::size_t slash = rest.find('/');
        std::string_view piece = rest.substr(0, slash);
        using kind = route_entry::segment::kind;
        if (piece.size() >= 2 && piece.front() == '{' && piece.back() == '}') {
            std::string_view name = piece.substr(1, piece.size() - 2);
            bool is_rest = name.size() > 3 && name.substr(name.size() - 3) == "...";
            if (is_rest) name.remove_suffix(3);
            if (name.empty() || (is_rest && slash != std::string_view::npos))
                throw std::invalid_argument("snow: bad path template " +
                                            std::string(path_template));
            entry->segments.push_back({std::string(name), is_rest ? kind::rest : kind::parameter});
        } else {
            if (piece.find_first_of("{}") != std::string_view::npos)
                throw std::invalid_argument("snow: bad path template " +
                                            std::string(path_template));
            entry->segments.push_back({std::string(piece), kind::literal});
        }
        if (slash == std::string_view::npos) break;
        rest = rest.substr(slash + 1);
    }
    const bool all_literal =
        std::all_of(entry->segments.begin(), entry->segments.end(),
                    [](const auto& s) { return s.type == route_entry::segment::kind::literal; });
    if (all_literal) entry->literal = std::string(path_template);
    routes_.push_back(std::move(entry));
    return *this;
}

router::match router::find(http::method m, std::string_view path) const {
    // One match object, filled by each route tried and returned as it is: no captures are
    // copied, and a request that matches its first route builds nothing else.
    match out;
    std::vector<http::method> allowed;
    const route_entry* head_fallback = nullptr;
    for (const auto& entry : routes_) {
        if (!entry->matches(path, out)) continue;
        if (!entry->only || *entry->only == m) {
            out.target = &entry->target;
            out.status = 200;
            out.pattern = entry->pattern;
            return out;
        }
        if (m == method::head && *entry->only == method::get && head_fallback == nullptr)
            head_fallback = entry.get();
        if (std::find(allowed.begin(), allowed.end(), *entry->only) == allowed.end())
            allowed.push_back(*entry->only);
    }
    if (head_fallback) {
        head_fallback->matches(path, out); // again, for its captures: it matched before
        out.target = &head_fallback->target;
        out.status = 200;
        out.pattern = head_fallback->pattern;
        return out;
    }
    out.params.clear(); // a 404 or 405 carries no captures
    out.groups.clear();
    if (allowed.empty()) return out;
    // A GET route answers HEAD too (RFC 9110 §9.3.2).
    if (std::find(allowed.begin(), allowed.end(), method::get) != allowed.end() &&
        std::find(allowed.begin(), allowed.end(), method::head) == allowed.end())
        allowed.push_back(method::head);
    for (http::method a : allowed) {
        if (!out.allow.empty()) out.allow += ", ";
        out.allow += to_string(a);
    }
    out.status = 405;
    return out;
}

} // namespace snow::http
