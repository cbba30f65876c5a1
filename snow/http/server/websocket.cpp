// snow/http/server/websocket.cpp: the upgrade response, and the websocket a handler's function
// uses, which passes each call to the connection's session.
#include "snow/http/server/websocket.hpp"

#include <fmt/format.h>

#include <utility>

#include "snow/http/server/detail/websocket_session.hpp"
#include "snow/http/status.hpp"
#include "snow/http/websocket/handshake.hpp"
#include "snow/http/websocket/utf8.hpp"

namespace snow::http {

namespace {
task<result<void>> refuse(std::error_code why) {
    co_return why;
}

task<void> serve_websocket(upgraded_connection& connection, websocket::handler body,
                           websocket_options options, std::string subprotocol,
                           std::optional<ws::deflate_params> deflate) {
    detail::websocket_session session(connection, std::move(options), std::move(subprotocol),
                                      deflate);
    co_await session.run(std::move(body));
}
} // namespace

task<result<ws::message>> websocket::recv() {
    return session_.recv();
}

task<result<void>> websocket::send(std::string_view text) {
    // A text frame must carry UTF-8 (the peer would fail the connection otherwise).
    if (!ws::is_valid_utf8(text)) return refuse(std::make_error_code(std::errc::invalid_argument));
    return session_.send(ws::opcode::text,
                         std::as_bytes(std::span<const char>(text.data(), text.size())));
}

task<result<void>> websocket::send_binary(std::span<const std::byte> bytes) {
    return session_.send(ws::opcode::binary, bytes);
}

task<result<void>> websocket::send(const ws::message& m) {
    return m.is_text() ? send(m.text()) : send_binary(m.bytes());
}

task<result<void>> websocket::close(std::uint16_t code, std::string_view reason) {
    return session_.close(code, reason);
}

snow::event::awaiter websocket::closed() noexcept {
    return session_.closed();
}

bool websocket::is_open() const noexcept {
    return session_.is_open();
}

const ws::close_status& websocket::close_status() const noexcept {
    return session_.status();
}

std::string_view websocket::subprotocol() const noexcept {
    return session_.subprotocol();
}

const std::optional<ws::deflate_params>& websocket::deflate() const noexcept {
    return session_.deflate();
}

std::size_t websocket::queued() const noexcept {
    return session_.queued();
}

const websocket_options& websocket::options() const noexcept {
    return session_.options();
}

response websocket_response(const request& req, websocket::handler body,
                            websocket_options options) {
    auto reply =
        ws::check_upgrade(req.method(), req.version_minor(), req.headers(), options.subprotocols);
    if (!reply) {
        const auto why = static_cast<ws::handshake_errc>(reply.error().value());
        const int status = ws::status_for(why);
        response refused =
            text(fmt::format("{} {}: {}\n", status, reason_phrase(status), reply.error().message()),
                 status);
        if (status == 426) {
            // RFC 6455 §4.4: the versions the server speaks; RFC 9110 §15.5.22: the protocol
            // to upgrade to.
            refused.headers.add("Sec-WebSocket-Version", "13");
            refused.headers.add("Upgrade", "websocket");
        }
        return refused;
    }
    response r;
    r.status = 101;
    r.headers.add("Upgrade", "websocket");
    r.headers.add("Sec-WebSocket-Accept", reply->accept);
    if (!reply->subprotocol.empty()) r.headers.add("Sec-WebSocket-Protocol", reply->subprotocol);
    std::optional<ws::deflate_params> deflate;
    const auto offers = req.headers().get_all("Sec-WebSocket-Extensions");
    if (auto agreed = ws::negotiate_deflate(offers, options.deflate)) {
        r.headers.add("Sec-WebSocket-Extensions", agreed->response);
        deflate = agreed->params;
    }
    r.upgrade = [body = std::move(body), options = std::move(options),
                 subprotocol = std::move(reply->subprotocol),
                 deflate](upgraded_connection& connection) {
        return serve_websocket(connection, body, options, subprotocol, deflate);
    };
    return r;
}

} // namespace snow::http
