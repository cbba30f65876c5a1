// snow/http/server/access_log.cpp: the two line formats and their escaping.
#include "snow/http/server/access_log.hpp"

#include <fmt/format.h>

#include <ctime>
#include <iterator>

#include "snow/http/json.hpp"
#include "snow/http/server/detail/writer.hpp"

namespace snow::http {

std::optional<access_log_format> parse_access_log_format(std::string_view name) noexcept {
    if (name == "combined") return access_log_format::combined;
    if (name == "json") return access_log_format::json;
    return std::nullopt;
}

namespace {

/// A request's bytes are the client's: quote and control characters are escaped so that a
/// line cannot be forged or broken by what a client sends.
void append_combined_escaped(std::string& out, std::string_view text) {
    if (text.empty()) {
        out.push_back('-');
        return;
    }
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte >= 0x7f || c == '"' || c == '\\')
            fmt::format_to(std::back_inserter(out), "\\x{:02X}", byte);
        else
            out.push_back(c);
    }
}

std::tm utc(std::chrono::system_clock::time_point t) {
    const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
    std::tm parts{};
    ::gmtime_r(&seconds, &parts); // UTC: no time zone file to read on a loop thread
    return parts;
}

constexpr const char* month_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void format_combined(std::string& out, const access_record& r) {
    const std::tm t = utc(r.time);
    fmt::format_to(std::back_inserter(out), "{} - - [{:02}/{}/{:04}:{:02}:{:02}:{:02} +0000] \"",
                   r.remote.empty() ? std::string_view("-") : r.remote, t.tm_mday,
                   month_names[t.tm_mon % 12], t.tm_year + 1900, t.tm_hour, t.tm_min, t.tm_sec);
    if (r.method.empty()) {
        out.push_back('-');
    } else {
        append_combined_escaped(out, r.method);
        out.push_back(' ');
        append_combined_escaped(out, r.target);
        fmt::format_to(std::back_inserter(out), " HTTP/1.{}", r.version_minor);
    }
    fmt::format_to(std::back_inserter(out), "\" {} ", r.status);
    if (r.bytes)
        fmt::format_to(std::back_inserter(out), "{}", *r.bytes);
    else
        out.push_back('-');
    out += " \"";
    append_combined_escaped(out, r.referer);
    out += "\" \"";
    append_combined_escaped(out, r.user_agent);
    out += "\"\n";
}

void format_json(std::string& out, const access_record& r) {
    const std::tm t = utc(r.time);
    const auto millis =
        std::chrono::duration_cast<std::chrono::milliseconds>(r.time.time_since_epoch()) % 1000;
    fmt::format_to(
        std::back_inserter(out),
        "{{\"time\":\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z\",\"remote\":", t.tm_year + 1900,
        t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, millis.count());
    append_json_string(out, r.remote, json_bytes::latin1);
    out += ",\"method\":";
    append_json_string(out, r.method, json_bytes::latin1);
    out += ",\"target\":";
    append_json_string(out, r.target, json_bytes::latin1);
    fmt::format_to(std::back_inserter(out), ",\"status\":{},\"bytes\":", r.status);
    if (r.bytes)
        fmt::format_to(std::back_inserter(out), "{}", *r.bytes);
    else
        out += "null";
    fmt::format_to(std::back_inserter(out), ",\"duration\":{:.6f},\"user_agent\":",
                   std::chrono::duration<double>(r.duration).count());
    append_json_string(out, r.user_agent, json_bytes::latin1);
    out += ",\"referer\":";
    append_json_string(out, r.referer, json_bytes::latin1);
    out += "}\n";
}

} // namespace

void format_access_line(std::string& out, access_log_format format, const access_record& record) {
    if (format == access_log_format::json)
        format_json(out, record);
    else
        format_combined(out, record);
}

access_record make_access_record(const request& req, const response& resp,
                                 std::chrono::nanoseconds elapsed, std::string& remote) {
    remote = req.peer().ip();
    access_record r;
    r.time = std::chrono::system_clock::now();
    r.remote = remote;
    r.method = req.method_name();
    r.target = req.target();
    r.version_minor = req.version_minor();
    r.status = resp.status;
    if (req.method() == method::head || status_forbids_body(resp.status))
        r.bytes = 0;
    else if (!resp.stream)
        r.bytes = resp.body.size();
    r.duration = elapsed;
    r.referer = req.header("Referer").value_or("");
    r.user_agent = req.header("User-Agent").value_or("");
    return r;
}

middleware access_log(std::shared_ptr<io::log_file> out, access_log_format format) {
    return {
        .before = nullptr,
        .after =
            [out, format](const request& req, response& resp, std::chrono::nanoseconds elapsed) {
                // One scratch line per thread: formatting allocates nothing once it has grown.
                thread_local std::string line;
                thread_local std::string remote;
                line.clear();
                format_access_line(line, format, make_access_record(req, resp, elapsed, remote));
                out->write(line);
            },
        .finish = [out = std::move(out)]() { return out->drain(); }};
}

} // namespace snow::http
