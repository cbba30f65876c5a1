// snow/http/server/access_log.hpp: the access log as middleware, one line per request in the
// formats log tools already read: nginx/Apache "combined", or one JSON object per line.
// Lines go through an io::log_file, gathered per thread and written by the loop with io_uring
// writes, so logging never blocks a loop; reopen the file after logrotate moves it.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "snow/core/export.hpp"
#include "snow/http/server/middleware.hpp"
#include "snow/io/log_file.hpp"

namespace snow::http {

/// The line format of an access log.
enum class access_log_format {
    /// `$remote - - [$time_local] "$request" $status $bytes "$referer" "$user_agent"`,
    /// time in UTC; `"` `\` and bytes outside printable ASCII escaped as `\xHH`, as nginx does.
    combined,
    /// {"time":…,"remote":…,"method":…,"target":…,"status":…,"bytes":…,"duration":…,
    /// "user_agent":…,"referer":…}, one object per line; duration in seconds.
    json,
};

/// "combined" or "json"; none for anything else.
SNOW_API std::optional<access_log_format> parse_access_log_format(std::string_view name) noexcept;

/// What one line says. The middleware fills it from the request and the response; tests and
/// other sinks can format one directly.
struct access_record {
    std::chrono::system_clock::time_point time; ///< when the line was recorded
    std::string_view remote;                    ///< the client's address, without the port
    std::string_view method; ///< empty when the request line never parsed (a 400)
    std::string_view target; ///< the request target as sent: path and query
    int version_minor = 1;   ///< the y of HTTP/1.y
    int status = 0;          ///< the response's status code
    /// Body bytes sent: 0 for HEAD and bodiless statuses; none when streamed (unknown).
    std::optional<std::size_t> bytes;
    std::chrono::nanoseconds duration{0}; ///< time spent serving the request
    std::string_view referer;             ///< the Referer header; empty when absent
    std::string_view user_agent;          ///< the User-Agent header; empty when absent
};

/// Appends `record` as one line, '\n' included.
SNOW_API void format_access_line(std::string& out, access_log_format format,
                                 const access_record& record);

/// The record for a request and the response it got. 499 (nginx's "client closed request")
/// reaches here as the status when the client left before the answer.
SNOW_API access_record make_access_record(const request& req, const response& resp,
                                          std::chrono::nanoseconds elapsed, std::string& remote);

/// The access log middleware writing to `out` (see io::log_file::open: "-" is stderr).
SNOW_API middleware access_log(std::shared_ptr<io::log_file> out,
                               access_log_format format = access_log_format::combined);

} // namespace snow::http
