// snow/http/server/request.cpp
#include "snow/http/server/request.hpp"

#include "snow/http/query.hpp"

namespace snow::http {

const std::vector<std::pair<std::string, std::string>>& request::query_parameters() const {
    if (!query_) query_ = parse_query(head_->query);
    return *query_;
}

std::optional<std::string> request::query(std::string_view name) const {
    for (const auto& [key, value] : query_parameters())
        if (key == name) return value;
    return std::nullopt;
}

std::string_view request::param(std::string_view name) const noexcept {
    for (const auto& [key, value] : params_)
        if (key == name) return value;
    return {};
}

std::string_view request::group(std::size_t index) const noexcept {
    return index < groups_.size() ? groups_[index] : std::string_view{};
}

} // namespace snow::http
