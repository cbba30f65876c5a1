// snow/http/date.cpp
#include "snow/http/date.hpp"

#include <cstdio>
#include <ctime>

namespace snow::http {

std::string_view http_date() noexcept {
    thread_local std::time_t cached_second = -1;
    thread_local char text[32];
    thread_local std::size_t length = 0;
    std::time_t now = std::time(nullptr);
    if (now != cached_second) {
        cached_second = now;
        std::tm utc{};
        ::gmtime_r(&now, &utc);
        // Names spelled out rather than strftime's %a/%b, which follow the locale.
        static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
        static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
        int n = std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                              days[utc.tm_wday], utc.tm_mday, months[utc.tm_mon],
                              utc.tm_year + 1900, utc.tm_hour, utc.tm_min, utc.tm_sec);
        length = n > 0 ? static_cast<std::size_t>(n) : 0;
    }
    return {text, length};
}

} // namespace snow::http
