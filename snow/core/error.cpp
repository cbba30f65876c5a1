// snow/core/error.cpp: messages for snow::errc.
#include "snow/core/error.hpp"

namespace snow {
namespace {

std::string_view message_for(errc e) noexcept {
    switch (e) {
    case errc::eof:
        return "end of stream";
    case errc::message_too_long:
        return "message exceeds the size limit";
    case errc::broken_promise:
        return "promise destroyed without a value";
    case errc::resolve_failed:
        return "host name could not be resolved";
    case errc::resolve_timeout:
        return "name servers did not answer in time";
    case errc::invalid_address:
        return "invalid address";
    }
    return "unknown snow error";
}

} // namespace

const std::error_category& error_category() noexcept {
    static const enum_category<errc> instance("snow", message_for);
    return instance;
}

} // namespace snow
