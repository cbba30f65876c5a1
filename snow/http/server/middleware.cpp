// snow/http/server/middleware.cpp
#include "snow/http/server/middleware.hpp"

#include <fmt/format.h>

namespace snow::http {

middleware access_log(std::FILE* out) {
    return {.before = nullptr,
            .after = [out](const request& req, response& resp, std::chrono::nanoseconds elapsed) {
                fmt::print(out, "{} \"{} {} HTTP/1.{}\" {} {} {:.3f}ms\n", req.peer(),
                           req.method_name(), req.target(), req.version_minor(), resp.status,
                           resp.body.size(), static_cast<double>(elapsed.count()) / 1e6);
            }};
}

} // namespace snow::http
