// tests/http/support/prometheus_text.hpp: a checker for the Prometheus text exposition format
// 0.0.4, strict enough to fail on what a scraper would reject: names, label syntax and
// escaping, numeric values, one TYPE per family before its samples, and histograms whose
// buckets are cumulative and end in +Inf equal to _count.
#pragma once

#include <cstdlib>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace snow::testing {

/// The problems found in `text`; empty when it is valid.
inline std::vector<std::string> check_exposition(std::string_view text) {
    std::vector<std::string> problems;
    static const std::regex comment(R"x(# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*))x");
    static const std::regex sample(
        R"x(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")*\})? ([^ ]+))x");
    static const std::regex le_label(R"x(le="([^"]*)")x");
    std::map<std::string, std::string> types;
    std::set<std::string> seen_samples;
    std::map<std::string, std::vector<std::pair<double, double>>> buckets; // family → (le, n)
    std::map<std::string, double> counts;
    if (!text.empty() && text.back() != '\n') problems.push_back("does not end in a newline");
    std::size_t from = 0;
    while (from < text.size()) {
        auto end = text.find('\n', from);
        if (end == std::string_view::npos) end = text.size();
        const std::string line(text.substr(from, end - from));
        from = end + 1;
        std::smatch m;
        if (line.starts_with("#")) {
            if (!std::regex_match(line, m, comment)) {
                problems.push_back("bad comment: " + line);
                continue;
            }
            if (m[1] == "TYPE") {
                const std::string family = m[2];
                static const std::set<std::string> kinds{"counter", "gauge", "histogram", "summary",
                                                         "untyped"};
                if (!kinds.contains(m[3])) problems.push_back("bad type: " + line);
                if (types.contains(family)) problems.push_back("TYPE twice: " + family);
                if (seen_samples.contains(family))
                    problems.push_back("TYPE after samples: " + family);
                types[family] = m[3];
            }
            continue;
        }
        if (line.empty()) continue;
        if (!std::regex_match(line, m, sample)) {
            problems.push_back("bad sample: " + line);
            continue;
        }
        const std::string name = m[1];
        const std::string value = m[7];
        char* stop = nullptr;
        const double number = std::strtod(value.c_str(), &stop);
        if (value != "+Inf" && value != "-Inf" && value != "NaN" && *stop != '\0')
            problems.push_back("bad value: " + line);
        std::string family = name;
        for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
            if (name.ends_with(suffix)) {
                const std::string base = name.substr(0, name.size() - suffix.size());
                if (types.contains(base) && types[base] == "histogram") family = base;
            }
        }
        if (!types.contains(family)) problems.push_back("sample without TYPE: " + line);
        seen_samples.insert(family);
        if (family != name && name.ends_with("_bucket")) {
            std::smatch le;
            const std::string labels = m[2];
            if (!std::regex_search(labels, le, le_label)) {
                problems.push_back("bucket without le: " + line);
                continue;
            }
            const std::string bound = le[1];
            buckets[family].emplace_back(
                bound == "+Inf" ? 1e300 : std::strtod(bound.c_str(), nullptr), number);
        }
        if (family != name && name.ends_with("_count")) counts[family] = number;
    }
    for (const auto& [family, rows] : buckets) {
        for (std::size_t i = 1; i < rows.size(); ++i) {
            if (rows[i].first <= rows[i - 1].first)
                problems.push_back("le not increasing: " + family);
            if (rows[i].second < rows[i - 1].second)
                problems.push_back("not cumulative: " + family);
        }
        if (rows.empty() || rows.back().first != 1e300)
            problems.push_back("no +Inf: " + family);
        else if (!counts.contains(family) || counts[family] != rows.back().second)
            problems.push_back("+Inf differs from _count: " + family);
    }
    return problems;
}

} // namespace snow::testing
