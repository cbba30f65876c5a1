// tests/http/websocket/handshake_test.cpp: the opening handshake's checks, the accept key of
// RFC 6455's example, subprotocol choice, and close codes and payloads.
#include "snow/http/websocket/handshake.hpp"

#include <doctest/doctest.h>

#include <ostream>
#include <string>
#include <vector>

#include "snow/http/websocket/close.hpp"
#include "snow/http/websocket/utf8.hpp"

#include "http/websocket/frames.hpp"

using namespace snow::http;
using namespace snow::http::ws;

TEST_SUITE_BEGIN("http.websocket");

namespace {
std::vector<header_field> upgrade_fields() {
    return {{"Host", "example.com"},
            {"Upgrade", "websocket"},
            {"Connection", "Upgrade"},
            {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
            {"Sec-WebSocket-Version", "13"}};
}

snow::result<handshake_reply> check(const std::vector<header_field>& fields, method m = method::get,
                                    int minor = 1, std::vector<std::string> protocols = {}) {
    return check_upgrade(m, minor, header_list(fields), protocols);
}

/// The fields with the first field named `name` replaced by `value` (removed if empty).
std::vector<header_field> with(std::string_view name, std::string_view value) {
    auto fields = upgrade_fields();
    for (auto it = fields.begin(); it != fields.end(); ++it) {
        if (it->name == name) {
            if (value.empty())
                fields.erase(it);
            else
                it->value = value;
            return fields;
        }
    }
    fields.push_back({name, value});
    return fields;
}
} // namespace

TEST_CASE("RFC 6455's example key gets its accept value") {
    // §1.3: the accept value is 28 characters, base64 of a 20-byte SHA-1.
    CHECK(accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    const auto reply = check(upgrade_fields());
    REQUIRE(reply);
    CHECK(reply->accept == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    CHECK(reply->subprotocol.empty());
}

TEST_CASE("Upgrade and Connection are matched case-insensitively, within lists") {
    CHECK(check(with("Upgrade", "WebSocket")));
    CHECK(check(with("Connection", "keep-alive, Upgrade")));
    CHECK(check(with("Connection", "upgrade")));
    CHECK(check(with("Upgrade", "h2c, websocket")));
}

TEST_CASE("each broken rule is refused with its reason and status") {
    auto refused = [](const snow::result<handshake_reply>& r, handshake_errc why) {
        REQUIRE_FALSE(r);
        CHECK(r.error() == why);
        return status_for(why);
    };
    CHECK(refused(check(upgrade_fields(), method::post), handshake_errc::not_get) == 400);
    CHECK(refused(check(upgrade_fields(), method::get, 0), handshake_errc::not_http11) == 400);
    CHECK(refused(check(with("Upgrade", "")), handshake_errc::missing_upgrade) == 400);
    CHECK(refused(check(with("Upgrade", "h2c")), handshake_errc::missing_upgrade) == 400);
    CHECK(refused(check(with("Connection", "keep-alive")),
                  handshake_errc::missing_connection_upgrade) == 400);
    CHECK(refused(check(with("Connection", "upgraded")),
                  handshake_errc::missing_connection_upgrade) == 400);
    CHECK(refused(check(with("Sec-WebSocket-Version", "8")), handshake_errc::unsupported_version) ==
          426);
    CHECK(refused(check(with("Sec-WebSocket-Version", "")), handshake_errc::unsupported_version) ==
          426);
    CHECK(refused(check(with("Sec-WebSocket-Key", "")), handshake_errc::invalid_key) == 400);
    CHECK(refused(check(with("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ")),
                  handshake_errc::invalid_key) == 400);
    CHECK(refused(check(with("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=")),
                  handshake_errc::invalid_key) == 400);
    CHECK(refused(check(with("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25j!Q==")),
                  handshake_errc::invalid_key) == 400);
    auto twice = upgrade_fields();
    twice.push_back({"Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAA=="});
    CHECK(refused(check(twice), handshake_errc::invalid_key) == 400);
    CHECK(make_error_code(handshake_errc::invalid_key).message().find("16 bytes") !=
          std::string::npos);
}

TEST_CASE("the server's first subprotocol that the client offers is picked") {
    auto fields = upgrade_fields();
    fields.push_back({"Sec-WebSocket-Protocol", "chat.v1, superchat"});
    fields.push_back({"Sec-WebSocket-Protocol", "json"});
    auto reply = check(fields, method::get, 1, {"json", "superchat"});
    REQUIRE(reply);
    CHECK(reply->subprotocol == "json");
    reply = check(fields, method::get, 1, {"mqtt", "superchat", "json"});
    REQUIRE(reply);
    CHECK(reply->subprotocol == "superchat");
    reply = check(fields, method::get, 1, {"mqtt", "Chat.v1"}); // exact names only
    REQUIRE(reply);
    CHECK(reply->subprotocol.empty());
}

TEST_CASE("close codes that may travel, and those that may not") {
    for (int code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000,
                     3999, 4000, 4999}) {
        CAPTURE(code);
        CHECK(is_sendable_close_code(static_cast<std::uint16_t>(code)));
    }
    for (int code : {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
        CAPTURE(code);
        CHECK_FALSE(is_sendable_close_code(static_cast<std::uint16_t>(code)));
    }
}

TEST_CASE("close payloads are read and checked") {
    using snow::testing::bytes_of;
    using snow::testing::close_body;
    auto empty = parse_close_payload({});
    REQUIRE(empty);
    CHECK(empty->code == 1005);
    auto normal = parse_close_payload(bytes_of(close_body(1000, "done")));
    REQUIRE(normal);
    CHECK(normal->code == 1000);
    CHECK(normal->reason == "done");
    CHECK(parse_close_payload(bytes_of("\x03")).error() == close_code::protocol_error);
    CHECK(parse_close_payload(bytes_of(close_body(1005))).error() == close_code::protocol_error);
    CHECK(parse_close_payload(bytes_of(close_body(999))).error() == close_code::protocol_error);
    CHECK(parse_close_payload(bytes_of(close_body(1000, "\xce\xba\xe1"))).error() ==
          close_code::invalid_payload);
    CHECK(make_error_code(close_code::message_too_big).message() == "message too big");
    CHECK(std::error_code(4001, close_category()).message() == "close code 4001");
}

TEST_CASE("a close payload is cut to fit a control frame, at a code point's end") {
    CHECK(format_close_payload(1000, "bye") == snow::testing::close_body(1000, "bye"));
    CHECK(format_close_payload(1005, "ignored").empty());
    std::string long_reason(122, 'a');
    long_reason += "\xc3\xa9\xc3\xa9"; // é twice: the first crosses the 123-byte limit
    const std::string payload = format_close_payload(1001, long_reason);
    CHECK(payload.size() == 2 + 122);
    CHECK(is_valid_utf8(std::string_view(payload).substr(2)));
}

TEST_SUITE_END();
