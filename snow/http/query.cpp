// snow/http/query.cpp: percent_decode() and parse_query().
#include "snow/http/query.hpp"

#include "snow/http/grammar.hpp"

namespace snow::http {
namespace {

// Decodes into `out`; a malformed escape fails when `strict`, and is copied as is otherwise.
bool decode_into(std::string& out, std::string_view s, bool plus_as_space, bool strict) {
    out.reserve(out.size() + s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 < s.size()) {
                int hi = hex_value(s[i + 1]);
                int lo = hex_value(s[i + 2]);
                if (hi >= 0 && lo >= 0) {
                    out.push_back(static_cast<char>(hi * 16 + lo));
                    i += 2;
                    continue;
                }
            }
            if (strict) return false;
            out.push_back(c);
        } else if (c == '+' && plus_as_space) {
            out.push_back(' ');
        } else {
            out.push_back(c);
        }
    }
    return true;
}

} // namespace

std::optional<std::string> percent_decode(std::string_view s, bool plus_as_space) {
    std::string out;
    if (!decode_into(out, s, plus_as_space, true)) return std::nullopt;
    return out;
}

std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query) {
    std::vector<std::pair<std::string, std::string>> pairs;
    while (!query.empty()) {
        auto amp = query.find('&');
        auto pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (pair.empty()) continue;
        auto eq = pair.find('=');
        std::string key, value;
        decode_into(key, pair.substr(0, eq), true, false);
        if (eq != std::string_view::npos) decode_into(value, pair.substr(eq + 1), true, false);
        pairs.emplace_back(std::move(key), std::move(value));
    }
    return pairs;
}

} // namespace snow::http
