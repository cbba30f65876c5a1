// snow/core/error.cpp: messages for snow::errc.
#include "snow/core/error.hpp"

#include <string>

namespace snow {
namespace {

class category final : public std::error_category {
public:
    const char* name() const noexcept override { return "snow"; }
    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
        case errc::eof:
            return "end of stream";
        case errc::message_too_long:
            return "message exceeds the size limit";
        case errc::broken_promise:
            return "promise destroyed without a value";
        case errc::resolve_failed:
            return "host name could not be resolved";
        case errc::invalid_address:
            return "invalid address";
        case errc::would_block:
            return "operation would block";
        }
        return "unknown snow error";
    }
};

} // namespace

const std::error_category& error_category() noexcept {
    static const category instance;
    return instance;
}

} // namespace snow
