// snow/http/client/websocket_client.cpp: the client's opening handshake over client::open(),
// and the connection after it: reading frames into messages, answering pings and close
// frames, masked sends in call order, and the close handshake under its timeout.
#include "snow/http/client/websocket_client.hpp"

#include <utility>

#include "snow/core/error.hpp"
#include "snow/http/grammar.hpp"
#include "snow/http/websocket/frame.hpp"
#include "snow/http/websocket/handshake.hpp"
#include "snow/http/websocket/message_reader.hpp"
#include "snow/http/websocket/utf8.hpp"
#include "snow/net/tcp_stream.hpp"
#include "snow/sync/event.hpp"
#include "snow/time/timeout.hpp"

namespace snow::http {
namespace {

/// Bytes asked of each receive.
constexpr std::size_t read_size = 16 * 1024;

std::string_view message_for(websocket_client_error e) noexcept {
    switch (e) {
    case websocket_client_error::upgrade_refused:
        return "the server refused the WebSocket upgrade";
    case websocket_client_error::bad_handshake:
        return "the server's WebSocket handshake answer is invalid";
    }
    return "unknown websocket client error";
}

/// Fields the handshake sets itself; the caller's fields of these names are not sent.
bool is_handshake_field(std::string_view name) noexcept {
    return iequals(name, "Upgrade") || iequals(name, "Connection") ||
           iequals(name, "Sec-WebSocket-Key") || iequals(name, "Sec-WebSocket-Version") ||
           iequals(name, "Sec-WebSocket-Protocol") || iequals(name, "Sec-WebSocket-Extensions");
}

/// `url` with ws:// and wss:// as the http:// and https:// the handshake travels over.
std::string handshake_url(std::string url) {
    if (url.size() >= 5 && iequals(std::string_view(url).substr(0, 5), "ws://"))
        return "http://" + url.substr(5);
    if (url.size() >= 6 && iequals(std::string_view(url).substr(0, 6), "wss://"))
        return "https://" + url.substr(6);
    return url;
}

/// Whether a 101 answers the handshake made with `key` and `offered` (RFC 6455 §4.1): the
/// upgrade to websocket, the accept value of the key, and a subprotocol among those offered,
/// if any. (Its extensions are checked apart.)
bool is_valid_answer(const response_stream& r, std::string_view key,
                     const std::vector<std::string>& offered) {
    const headers& h = r.headers();
    if (!list_contains(h.get("Upgrade").value_or(""), "websocket")) return false;
    if (!list_contains(h.get("Connection").value_or(""), "upgrade")) return false;
    if (h.get("Sec-WebSocket-Accept") != ws::accept_key(key)) return false;
    if (auto picked = h.get("Sec-WebSocket-Protocol")) {
        for (const std::string& name : offered)
            if (name == *picked) return true;
        return false;
    }
    return true;
}

} // namespace

const std::error_category& websocket_client_category() noexcept {
    static const enum_category<websocket_client_error> category("websocket client", message_for);
    return category;
}

// ---------------------------------------------------------------------------------------
// The connection's state, on the heap so that moving the client moves none of it

struct websocket_client::state {
    state(net::stream s, std::string received, std::string protocol,
          const websocket_client_options& options, std::optional<ws::deflate_params> agreed)
        : stream(std::move(s))
        , input(std::move(received))
        , reader(ws::reader_options{.receiver = ws::role::client,
                                    .max_message_size = options.max_message_size,
                                    .rsv1_allowed = false,
                                    .deflate = server_compression(agreed)})
        , subprotocol(std::move(protocol))
        , deflate(agreed)
        , deflater(ws::direction_of(agreed.value_or(ws::deflate_params{}), ws::role::client),
                   options.deflate.level)
        , min_compressed_size(options.deflate.min_size)
        , close_timeout(options.close_timeout)
        , max_queued_bytes(options.max_queued_bytes) {}

    net::stream stream;
    std::string input; ///< received and not yet read
    ws::message_reader reader;
    std::string subprotocol;
    std::optional<ws::deflate_params> deflate;
    ws::deflater deflater; ///< its zlib stream comes with the first compressed message
    std::size_t min_compressed_size;
    std::chrono::milliseconds close_timeout;
    std::size_t max_queued_bytes;
    std::string outgoing; ///< frames behind the write in flight, in call order
    bool writing = false; ///< a send is writing
    snow::event written;  ///< set after each write, for senders waiting for room
    bool close_sent = false;
    bool ended = false;
    ws::close_status status;

    task<result<ws::message>> read(bool close_only);
    task<result<std::size_t>> receive();
    task<result<void>> send_frame(ws::opcode op, std::span<const std::byte> payload);
    task<result<void>> send_close(std::uint16_t code, std::string_view reason);
    task<void> fail(ws::close_code why);
    task<void> end(std::error_code why);
    std::error_code end_code() const noexcept;

    static std::optional<ws::deflate_direction>
    server_compression(const std::optional<ws::deflate_params>& p) {
        if (!p) return std::nullopt;
        return ws::direction_of(*p, ws::role::server);
    }
};

/// What recv() reports once the connection has ended: the close code, or the failure.
std::error_code websocket_client::state::end_code() const noexcept {
    if (status.error && status.error.category() == ws::close_category()) return status.error;
    return {status.code, ws::close_category()};
}

task<result<std::size_t>> websocket_client::state::receive() {
    const std::size_t had = input.size();
    input.resize(had + read_size);
    auto n = co_await stream.recv(std::as_writable_bytes(std::span(input).subspan(had)));
    input.resize(had + (n ? *n : 0));
    co_return n;
}

task<result<ws::message>> websocket_client::state::read(bool close_only) {
    for (;;) {
        if (ended) co_return end_code();
        if (!input.empty()) {
            const ws::read_step step = reader.read(std::as_writable_bytes(std::span(input)));
            input.erase(0, step.consumed);
            if (step.what == ws::read_step::kind::message) {
                ws::message m = reader.take_message();
                if (!close_only) co_return m;
                continue;
            }
            if (step.what == ws::read_step::kind::failed) {
                co_await fail(step.failure);
                co_return end_code();
            }
            if (step.what == ws::read_step::kind::control) {
                if (step.control == ws::opcode::ping && !close_sent) {
                    const std::string payload(net::as_text(reader.control_payload()));
                    (void)co_await send_frame(ws::opcode::pong, std::as_bytes(std::span(payload)));
                } else if (step.control == ws::opcode::close) {
                    auto parsed = ws::parse_close_payload(reader.control_payload());
                    if (!parsed) {
                        co_await fail(static_cast<ws::close_code>(parsed.error().value()));
                        co_return end_code();
                    }
                    status.code = parsed->code;
                    status.reason = std::move(parsed->reason);
                    // Answered with its own code (none for none), as RFC 6455 §5.5.1 asks.
                    if (!close_sent) (void)co_await send_close(parsed->code, "");
                    co_await end({});
                    co_return end_code();
                }
                continue;
            }
            // need_more: every byte was used, or a partial header waits for the rest.
        }
        auto n = co_await receive();
        if (!n) {
            // A cancelled receive loses nothing: the connection goes on.
            if (n.error() == std::errc::operation_canceled) co_return n.error();
            co_await end(n.error());
            co_return end_code();
        }
        if (*n == 0) {
            co_await end(make_error_code(snow::errc::eof));
            co_return end_code();
        }
    }
}

task<result<void>> websocket_client::state::send_frame(ws::opcode op,
                                                       std::span<const std::byte> payload) {
    if (ended || close_sent) co_return std::errc::not_connected;
    // A sender waits while the frames queued behind the write in flight are many.
    while (writing && outgoing.size() >= max_queued_bytes) {
        written.reset();
        const bool woken = co_await written.wait();
        if (!woken) co_return std::errc::operation_canceled;
        if (ended) co_return std::errc::not_connected;
    }
    auto key = ws::make_masking_key();
    if (!key) co_return key.error();
    ws::frame_header header;
    header.op = op;
    header.masked = true;
    header.mask = *key;
    // Compressed here, after any wait and right before the queue, so the compressor sees
    // messages in the order they go out (context takeover depends on it).
    std::string compressed;
    if (deflate && !ws::is_control(op) && payload.size() >= min_compressed_size &&
        deflater.usable() && deflater.compress(payload, compressed)) {
        header.rsv1 = true;
        payload = std::as_bytes(std::span(compressed));
    }
    outgoing += ws::encode_frame(header, payload);
    if (op == ws::opcode::close) close_sent = true; // nothing may follow it
    if (writing) co_return result<void>{};          // the write in flight sends it, in order
    writing = true;
    result<void> outcome;
    while (!outgoing.empty() && outcome) {
        const std::string batch = std::exchange(outgoing, std::string());
        outcome = co_await stream.send_all(std::string_view(batch));
        written.set();
    }
    writing = false;
    if (!outcome) {
        outgoing.clear();
        close_sent = true; // a write cut short leaves the framing broken: no more sends
        status.error = outcome.error();
    }
    co_return outcome;
}

task<result<void>> websocket_client::state::send_close(std::uint16_t code,
                                                       std::string_view reason) {
    status.sent = code;
    const std::string payload = ws::format_close_payload(code, reason);
    co_return co_await send_frame(ws::opcode::close, std::as_bytes(std::span(payload)));
}

task<void> websocket_client::state::fail(ws::close_code why) {
    if (!close_sent) (void)co_await send_close(static_cast<std::uint16_t>(why), "");
    co_await end(make_error_code(why));
}

task<void> websocket_client::state::end(std::error_code why) {
    if (ended) co_return;
    ended = true;
    if (!status.error) status.error = why;
    written.set(); // senders waiting for room see the end
    // A write in flight keeps the socket until it finishes; the destructor closes it then.
    if (!writing) (void)co_await stream.close();
}

// ---------------------------------------------------------------------------------------
// websocket_client

websocket_client::websocket_client(net::stream stream, std::string received,
                                   std::string subprotocol, const websocket_client_options& options)
    : websocket_client(std::move(stream), std::move(received), std::move(subprotocol), options,
                       std::nullopt) {}

websocket_client::websocket_client(net::stream stream, std::string received,
                                   std::string subprotocol, const websocket_client_options& options,
                                   std::optional<ws::deflate_params> deflate)
    : state_(std::make_unique<state>(std::move(stream), std::move(received), std::move(subprotocol),
                                     options, deflate)) {}

websocket_client::websocket_client(websocket_client&&) noexcept = default;
websocket_client& websocket_client::operator=(websocket_client&&) noexcept = default;
websocket_client::~websocket_client() = default;

task<result<ws::message>> websocket_client::recv() {
    return state_->read(false);
}

task<result<void>> websocket_client::send(std::string_view text) {
    if (!ws::is_valid_utf8(text)) co_return std::errc::invalid_argument;
    co_return co_await state_->send_frame(ws::opcode::text, std::as_bytes(std::span(text)));
}

task<result<void>> websocket_client::send_binary(std::span<const std::byte> bytes) {
    return state_->send_frame(ws::opcode::binary, bytes);
}

task<result<void>> websocket_client::send(const ws::message& m) {
    if (m.is_text()) co_return co_await send(m.text());
    co_return co_await send_binary(m.bytes());
}

task<result<void>> websocket_client::close(std::uint16_t code, std::string_view reason) {
    state& s = *state_;
    if (!ws::is_sendable_close_code(code) || !ws::is_valid_utf8(reason))
        co_return std::errc::invalid_argument;
    if (!s.ended && !s.close_sent) (void)co_await s.send_close(code, reason);
    s.reader.ignore_data();
    if (!s.ended) {
        auto waited = co_await with_timeout(s.read(true), s.close_timeout);
        // Cut short by the timeout (or the caller's cancellation): close regardless.
        const std::error_code why = waited.error();
        if (!s.ended) co_await s.end(why);
    }
    if (s.status.error) co_return s.status.error;
    co_return result<void>{};
}

bool websocket_client::is_open() const noexcept {
    return !state_->close_sent && !state_->ended;
}
const ws::close_status& websocket_client::close_status() const noexcept {
    return state_->status;
}
const std::string& websocket_client::subprotocol() const noexcept {
    return state_->subprotocol;
}
const std::optional<ws::deflate_params>& websocket_client::deflate() const noexcept {
    return state_->deflate;
}

// ---------------------------------------------------------------------------------------
// The opening handshake

task<result<websocket_client>> connect_websocket(client& http, std::string url,
                                                 websocket_client_options options) {
    const std::string key = ws::make_client_key();
    if (key.empty()) co_return std::errc::resource_unavailable_try_again;
    headers fields;
    fields.add("Upgrade", "websocket");
    fields.add("Connection", "Upgrade");
    fields.add("Sec-WebSocket-Key", key);
    fields.add("Sec-WebSocket-Version", "13");
    if (!options.subprotocols.empty()) {
        std::string offered;
        for (const std::string& name : options.subprotocols) {
            if (!offered.empty()) offered.append(", ");
            offered.append(name);
        }
        fields.add("Sec-WebSocket-Protocol", offered);
    }
    if (options.deflate.enabled)
        fields.add("Sec-WebSocket-Extensions", ws::deflate_offer(options.deflate));
    for (const header_field field : options.headers)
        if (!is_handshake_field(field.name)) fields.add(field.name, field.value);

    request_options request;
    request.timeout = options.open_timeout;
    auto opened = co_await http.open(method::get, handshake_url(std::move(url)), std::string(),
                                     std::move(fields), request);
    if (!opened) co_return opened.error();
    if (opened->status() != 101) co_return websocket_client_error::upgrade_refused;
    if (!is_valid_answer(*opened, key, options.subprotocols))
        co_return websocket_client_error::bad_handshake;
    const auto extensions = opened->headers().get_all("Sec-WebSocket-Extensions");
    auto agreed = ws::accept_deflate_answer(extensions, options.deflate);
    if (!agreed) co_return websocket_client_error::bad_handshake; // not what was offered
    std::string picked(opened->headers().get("Sec-WebSocket-Protocol").value_or(""));
    auto taken = opened->take_upgraded();
    if (!taken) co_return taken.error();
    co_return websocket_client(std::move(taken->stream), std::move(taken->received),
                               std::move(picked), options, *agreed);
}

} // namespace snow::http
