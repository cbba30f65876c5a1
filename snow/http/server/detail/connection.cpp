// snow/http/server/detail/connection.cpp: the server's per-connection coroutine.
#include "snow/http/server/detail/connection.hpp"

#include <fmt/format.h>

#include <poll.h>

#include <algorithm>
#include <cassert>
#include <cstring>
#include <exception>
#include <new>
#include <utility>

#include "snow/http/server/detail/body_sink.hpp"
#include "snow/http/server/detail/body_source.hpp"
#include "snow/http/server/detail/writer.hpp"
#include "snow/http/status.hpp"
#include "snow/io/log.hpp"
#include "snow/io/run.hpp"
#include "snow/time/sleep.hpp"
#include "snow/time/timeout.hpp"

namespace snow::http::detail {

namespace {
constexpr std::size_t flush_threshold = 64 * 1024; // gather pipelined responses up to this
constexpr std::size_t linger_bytes = 64 * 1024;
constexpr auto linger_time = std::chrono::seconds(1);
} // namespace

// ---------------------------------------------------------------------------------------
// connection

connection::connection(worker& owner, net::tcp_stream stream, net::address peer)
    : io_scope(&owner.hard_stop)
    , owner_(owner)
    , stream_(net::stream(std::move(stream)))
    , peer_(peer)
    , deadline_(io_scope) {
    owner_.add(this);
}

connection::~connection() {
    owner_.remove(this);
}

void connection::rebase_head(const char* old_base) noexcept {
    const char* new_base = s_->input.data();
    if (old_base == new_base) return;
    auto move = [&](std::string_view& v) {
        if (v.data() != nullptr && !v.empty())
            v = std::string_view(new_base + (v.data() - old_base), v.size());
    };
    move(s_->head.method_name);
    move(s_->head.target);
    move(s_->head.path);
    move(s_->head.query);
    for (auto& field : s_->head.fields) {
        move(field.name);
        move(field.value);
    }
}

bool connection::next_head_buffered() const noexcept {
    return s_->input.view().find("\r\n\r\n") != std::string_view::npos;
}

std::span<std::byte> connection::make_room(std::size_t wanted, bool head_complete) {
    const char* old_base = s_->input.data();
    auto room = s_->input.prepare(wanted);
    // The head's views point into the message; the parser rebases its own while a head is
    // incomplete, so only a complete head is moved here.
    if (head_complete) rebase_head(old_base);
    return room;
}

task<result<std::size_t>> connection::receive(bool head_complete) {
    auto room = make_room(s_->input.size() + 1, head_complete);
    auto n = co_await stream_.recv(room);
    if (n) s_->input.commit(*n);
    co_return n;
}

io::buffer_pool* connection::receive_pool() const noexcept {
    // A pool buffer takes the socket's bytes as they are, which over TLS are ciphertext: a
    // TLS connection reads through its session's own buffer instead.
    return stream_.secure() ? nullptr : io::event_loop::current().receive_buffers();
}

task<result<void>> connection::flush() {
    // Sent from this frame: one send usually takes it all, and only a short write pays for
    // send_all's coroutine.
    std::span<const std::byte> pending = net::as_bytes(s_->output);
    result<void> done;
    auto sent = co_await stream_.send(pending);
    if (!sent) {
        done = sent.error();
    } else if (*sent < pending.size()) {
        done = co_await stream_.send_all(pending.subspan(*sent));
    }
    s_->output.clear();
    co_return done;
}

task<void> connection::linger_close() {
    // Closing with unread input makes the kernel send RST, which can destroy the response
    // still in flight to the client; read a little first (nginx's lingering close).
    (void)co_await stream_.shutdown(); // over TLS, one close_notify first
    const auto until = io::clock::now() + linger_time;
    std::size_t drained = 0;
    s_->input.clear(); // what the client sends now is read only to be dropped
    const auto scratch = s_->input.prepare(0);
    while (drained < linger_bytes) {
        auto left = until - io::clock::now();
        if (left <= io::clock::duration::zero()) break;
        // Raw socket bytes, TLS or not: they are only dropped.
        auto n = co_await stream_.tcp().recv(scratch).timeout(
            std::chrono::duration_cast<std::chrono::nanoseconds>(left));
        if (!n || *n == 0) break;
        drained += *n;
    }
}

task<void> connection::reject(int status, std::string_view reason) {
    // A deadline that expired has cancelled the connection's I/O scope, and the answer must
    // still go out: it runs under the server's hard stop with a write deadline of its own.
    return with_cancellation(answer_and_close(status, std::string(reason)), owner_.hard_stop);
}

task<void> connection::reject(errc failure) {
    return reject(status_for(failure), make_error_code(failure).message());
}

void connection::after_rejection(response& r) {
    const auto& middlewares = owner_.owner.middlewares();
    if (middlewares.empty()) return;
    // Before its head parsed, the request is only what the client's bytes fail to be: the
    // hooks see an empty head (no method, no target) rather than another request's views.
    static const request_head unparsed{};
    request req(s_->head_parsed ? s_->head : unparsed, {}, peer_);
    for (const auto& m : middlewares)
        if (m.after) m.after(req, r, std::chrono::nanoseconds(0));
}

task<void> connection::answer_and_close(int status, std::string reason) {
    ++owner_.owner.mutable_stats().rejected;
    response r = text(fmt::format("{} {}: {}\n", status, reason_phrase(status), reason), status);
    after_rejection(r);
    // A body that fails (malformed, too large, too slow) follows a head that parsed: a HEAD
    // request's rejection still carries no body, or the client reads it as the next response.
    const bool head_request = s_->head_parsed && s_->head.method == method::head;
    write_response(s_->output, r,
                   {.version_minor = 1, .head_request = head_request, .keep_alive = false});
    deadline_.disarm();
    const auto sent = co_await with_timeout(flush(), owner_.options.write_timeout);
    if (sent) co_await linger_close();
}

task<void> connection::watch(cancel_source& request_scope, cancel_source& watch_scope) {
    // The watcher runs under watch_scope, which ends it when the handler does; the responses
    // it sends must not be cut short by that, so their flush runs under the I/O scope.
    if (!s_->output.empty()) {
        deadline_.arm(owner_.options.write_timeout);
        auto sent = co_await with_cancellation(flush(), io_scope);
        deadline_.disarm();
        if (!sent) {
            s_->write_failed = true;
            request_scope.request();
        }
    }
    if (!s_->write_failed && !watch_scope.requested()) {
        // Pipelined bytes that arrive meanwhile are kept aside, so the request's views
        // stay put; they wait in a pool buffer, and only their own size is kept.
        result<std::size_t> n = std::size_t{0};
        bool waited = false;
        if (io::buffer_pool* pool = receive_pool()) {
            auto got = co_await stream_.tcp().recv_pooled(*pool);
            if (got) {
                const auto* bytes = reinterpret_cast<const char*>(got->bytes().data());
                s_->side.assign(bytes, bytes + got->size());
                n = got->size();
                waited = true;
            } else if (got.error() != std::errc::no_buffer_space) {
                n = got.error();
                waited = true;
            }
        }
        if (!waited) {
            s_->side.resize(1024);
            n = co_await stream_.recv(std::as_writable_bytes(std::span(s_->side)));
        }
        if (n && *n > 0) {
            s_->side_bytes = *n; // pipelined bytes: kept for after the handler
        } else if (n || n.error() != std::errc::operation_canceled) {
            s_->peer_gone = true; // EOF or reset: nobody is waiting for this response
            request_scope.request();
        }
    }
    s_->watcher_done.set();
}

bool connection::watch_unframed(cancel_source& request_scope, cancel_source& watch_scope) {
    io::buffer_pool* pool = receive_pool();
    if (pool == nullptr || !s_->output.empty()) return false;
    s_->watched = &request_scope;
    // A watch_scope cancelled already leaves nothing to watch.
    if (!pooled_receive(*pool).start(&watch_scope, nullptr, &connection::watched))
        s_->watcher_done.set();
    return true;
}

void connection::watched(io::recv_pooled_op& op) noexcept {
    connection& c = static_cast<parked_receive&>(op).owner;
    exchange_state& s = *c.s_;
    auto got = op.take();
    if (got && !got->empty()) {
        // Pipelined bytes: kept for after the handler, so the request's views stay put.
        try {
            const auto* bytes = reinterpret_cast<const char*>(got->bytes().data());
            s.side.assign(bytes, bytes + got->size());
            s.side_bytes = got->size();
        } catch (const std::bad_alloc&) {
            s.write_failed = true; // the connection closes after the handler
        }
    } else if (got || (got.error() != std::errc::operation_canceled &&
                       got.error() != std::errc::no_buffer_space)) {
        s.peer_gone = true; // EOF or reset: nobody is waiting for this response
        s.watched->request();
    }
    // With the pool dry, the bytes wait in the socket for the exchange to read after the
    // handler; the handler is no longer watched meanwhile.
    s.watcher_done.set();
}

task<void> connection::watch_hangup(cancel_source& request_scope, const body_source& body) {
    // POLLRDHUP: the client's FIN, even behind body bytes not read yet; a reset reports
    // POLLERR and POLLHUP, which every poll does. A client that half-closes after its body
    // and waits for the answer counts as gone, as it does for the watcher that reads.
    auto polled = co_await io::poll_op(stream_.tcp().native_handle(), POLLRDHUP)
                      .interruptible(s_->hangup_wait);
    if (polled && !body.reading()) {
        s_->peer_gone = true;
        request_scope.request();
    }
    s_->hangup_done.set();
}

// The work around a handler is done in plain functions: GCC keeps every local of a
// coroutine in its frame, and the exchange's frame lives as long as a long poll does.

/// Middleware that answers early, then the route: a coroutine handler's task, or an empty
/// task with `answer` filled in when the answer is already there (a plain handler, which
/// runs here with no frame of its own; middleware; 404 and 405).
task<response> connection::route(request& req, response& answer) {
    server& srv = owner_.owner;
    for (const auto& m : srv.middlewares()) {
        if (!m.before) continue;
        if (auto early = m.before(req)) {
            answer = std::move(*early);
            return {};
        }
    }
    auto match = srv.find(s_->head.method, s_->head.path);
    if (match.status == 200) {
        req.set_route(std::move(match.params), std::move(match.groups), match.pattern);
        try {
            if (!match.target->is_plain()) return match.target->start(req);
            answer = match.target->answer(req);
        } catch (...) {
            answer = handler_failed(req, std::current_exception());
        }
        return {};
    }
    if (match.status == 405) {
        answer = status_page(405);
        answer.headers.add("Allow", match.allow);
    } else {
        answer = text("Not Found", 404);
    }
    return {};
}

io::clock::time_point connection::middleware_clock() const {
    // Only middleware wants the handler's duration. It starts at the loop's time of this
    // turn, read once per turn for every connection, so it also counts the wait behind the
    // requests served earlier in the turn: the time the server really took.
    return owner_.owner.middlewares().empty() ? io::clock::time_point{}
                                              : io::event_loop::current().now();
}

response connection::handler_failed(const request& req, std::exception_ptr failure) {
    ++owner_.owner.mutable_stats().handler_errors;
    try {
        std::rethrow_exception(std::move(failure));
    } catch (const std::exception& e) {
        log::error("handler for {} {} failed: {}", req.method_name(), req.target(), e.what());
    } catch (...) {
        log::error("handler for {} {} failed with a non-standard exception", req.method_name(),
                   req.target());
    }
    return status_page(500);
}

namespace {
void run_after_middleware(const std::vector<middleware>& middlewares, request& req, response& resp,
                          io::clock::time_point started) {
    if (middlewares.empty()) return;
    const auto elapsed = io::clock::now() - started;
    for (const auto& m : middlewares)
        if (m.after) m.after(req, resp, elapsed);
}
} // namespace

/// The head, then the body as the handler produces it. False when the connection must end:
/// a failed write, or an HTTP/1.0 body that runs until close.
task<bool> connection::send_streamed(response& resp, const write_context& context) {
    write_head(s_->output, resp, context);
    const auto head_sent = co_await flush();
    if (!head_sent) co_return false;
    // From here each write of the body has a deadline of its own (body_sink::write): the
    // producer may wait as long as it likes between writes.
    deadline_.disarm();
    const bool chunked = context.version_minor >= 1;
    const auto body_sent = co_await stream_body(resp, chunked);
    co_return body_sent&& chunked;
}

/// Sends what is left and ends the connection gently: FIN, after draining unread input.
task<void> connection::close_after_response() {
    const auto sent = co_await flush();
    if (!sent) co_return;
    if (!s_->input.empty() || s_->body_unread)
        co_await linger_close();
    else
        (void)co_await stream_.shutdown();
}

task<result<void>> connection::stream_body(response& resp, bool chunked) {
    body_sink sink({.stream = stream_,
                    .timer = deadline_,
                    .write_timeout = owner_.options.write_timeout,
                    .input = s_->input,
                    .max_input = owner_.options.limits.max_header_bytes,
                    .pool = receive_pool(),
                    .io_scope = io_scope,
                    .chunked = chunked});
    // A graceful stop reaches the body through the sink while it streams (worker::
    // begin_shutdown); one that began before is passed on at once.
    if (owner_.draining) sink.stopping().request();
    struct published {
        cancel_source*& slot;
        ~published() { slot = nullptr; } // also if this frame is destroyed mid-stream
    };
    s_->streaming_stop = &sink.stopping();
    const published unpublish{s_->streaming_stop};
    std::exception_ptr failure;
    result<void> produced;
    try {
        produced = co_await resp.stream(sink);
    } catch (...) {
        failure = std::current_exception();
    }
    co_await sink.stop_watching();
    if (failure) std::rethrow_exception(failure);
    if (!produced) co_return produced;
    if (!chunked) co_return result<void>{};
    deadline_.arm(owner_.options.write_timeout);
    co_return co_await stream_.send_all("0\r\n\r\n");
}

/// Serves requests while bytes of them are buffered or arriving; returns true when the
/// connection is idle again with everything sent and its state given back, false when it
/// must close.
task<bool> connection::exchange() {
    const server_options& options = owner_.options;
    server_stats& stats = owner_.owner.mutable_stats();
    deadline_.arm(options.header_timeout);
    for (;;) {
        // --- the head ---
        s_->head_parsed = false;
        parse_result parsed = parse_result::need_more();
        for (;;) {
            parsed = s_->parser.parse(s_->input.view(), s_->head);
            if (!parsed.incomplete()) break;
            if (!s_->output.empty()) {
                const auto sent = co_await flush();
                if (!sent) co_return false;
            }
            if (s_->input.empty()) { // idle: the caller waits for more
                owner_.give_back(std::move(s_));
                deadline_.arm(options.idle_timeout);
                co_return true;
            }
            auto n = co_await receive(false);
            if (!n || *n == 0) {
                if (deadline_.expired()) {
                    ++stats.timeouts;
                    co_await reject(408, "the request head did not arrive in time");
                }
                co_return false;
            }
        }
        s_->head_parsed = !parsed.failed();
        if (parsed.failed()) {
            co_await reject(parsed.error());
            co_return false;
        }

        // --- the body ---
        std::string_view body;
        s_->message_bytes = parsed.consumed();
        // A streamed() route reads its own body, after the handler starts: only its room is
        // made here. On the heap: most requests have none, and this frame lives long.
        std::unique_ptr<body_source> streamed;
        if (s_->head.body.kind != body_kind::none) {
            if (const handler* target = streamed_route()) {
                streamed = std::make_unique<body_source>(*this, parsed.consumed(),
                                                         target->max_body_bytes());
                if (streamed->over_limit()) {
                    co_await reject(errc::body_too_large); // before reading a byte of it
                    co_return false;
                }
            }
        }
        if (s_->head.body.kind != body_kind::none && !streamed) {
            deadline_.arm(options.body_timeout);
            errc body_failure{};
            auto read = co_await read_body(parsed.consumed(), body_failure);
            if (!read) {
                if (body_failure != errc{}) {
                    co_await reject(body_failure);
                } else if (deadline_.expired()) {
                    ++stats.timeouts;
                    co_await reject(408, "the request body did not arrive in time");
                }
                co_return false;
            }
            body = *read;
        }

        // --- the handler ---
        ++stats.requests;
        deadline_.disarm(); // a handler may take as long as it needs (long polls)
        const int version_minor = s_->head.version_minor;
        const bool head_request = s_->head.method == method::head;
        cancel_source request_scope(&owner_.handlers_stop);
        request req(s_->head, body, peer_);
        response resp;
        if (streamed) {
            req.set_body_stream(streamed.get());
            // No watcher runs while the handler reads the socket: the responses gathered so
            // far go out now, before any 100 Continue.
            if (!s_->output.empty()) {
                deadline_.arm(options.write_timeout);
                const auto sent = co_await flush();
                deadline_.disarm();
                if (!sent) co_return false;
            }
        }
        // The handler is awaited here rather than in a coroutine of its own: one frame fewer
        // per request, and a parked request holds one frame fewer.
        const auto started = middleware_clock();
        task<response> handler = route(req, resp);
        if (handler.valid()) {
            cancel_source watch_scope(&io_scope);
            task<void> watcher; // declared after its scope, so it is destroyed first
            task<void> hangup;
            bool watching = false;
            bool watching_hangup = false;
            std::exception_ptr failure;
            // A handler that answers at once (the common case) costs nothing more. One that
            // waits gets a watcher: it sends the responses already gathered and notices a
            // client that leaves, whose handler is then cancelled.
            auto start_watching = [&] {
                s_->hangup_wait.interrupt(); // the body has ended: the socket is free to read
                watching = true;
                s_->watcher_done.reset();
                if (watch_unframed(request_scope, watch_scope)) return;
                watcher = with_cancellation(watch(request_scope, watch_scope), watch_scope);
                watcher.handle().resume();
            };
            auto start_watcher = [&] {
                if (!streamed || streamed->finished()) return start_watching();
                // While the handler reads its body, its reads notice a client that leaves,
                // and while it waits for something else, a poll for a hangup does. Once the
                // body has ended the socket is the watcher's, as for any handler.
                if (streamed->error()) return;
                watching_hangup = true;
                s_->hangup_done.reset();
                hangup = with_cancellation(watch_hangup(request_scope, *streamed), watch_scope);
                hangup.handle().resume();
                streamed->on_finish(
                    [](void* start) noexcept {
                        (*static_cast<decltype(start_watching)*>(start))();
                    },
                    &start_watching);
            };
            handler = with_cancellation(std::move(handler), request_scope);
            try {
                resp = co_await snow::detail::hooked_awaiter(handler, start_watcher);
            } catch (...) {
                failure = std::current_exception();
            }
            if (streamed) streamed->on_finish(nullptr, nullptr); // a drain starts no watcher
            if (watching || watching_hangup) watch_scope.request();
            if (watching_hangup) {
                co_await s_->hangup_done.wait();
                hangup = task<void>{};
            }
            if (watching) {
                co_await s_->watcher_done.wait();
                watcher = task<void>{};
            }
            if (failure) resp = handler_failed(req, std::move(failure));
        }
        if (streamed) {
            const bool settled = co_await settle_body(*streamed);
            if (!settled) co_return false;
        }
        s_->body_unread = streamed && !streamed->finished();
        // A client that left is logged and counted as 499 (nginx's "client closed request");
        // what is still sent keeps the handler's status.
        const int answered = s_->peer_gone ? std::exchange(resp.status, 499) : resp.status;
        run_after_middleware(owner_.owner.middlewares(), req, resp, started);
        resp.status = answered;
        if (s_->write_failed) co_return false;
        const bool head_keep_alive = s_->head.keep_alive;

        // The request is done with: its bytes leave the buffer, and pipelined bytes the
        // watcher read join what follows. The head's views are not used past this point.
        s_->input.consume(s_->message_bytes);
        if (s_->side_bytes > 0) {
            s_->input.append(std::as_bytes(std::span(s_->side).first(s_->side_bytes)));
            s_->side_bytes = 0;
        }
        // While draining, requests whose heads have already arrived are still answered;
        // the last of them says Connection: close.
        const bool keep_alive = head_keep_alive && !s_->peer_gone && !s_->body_unread &&
                                !wants_close(resp) && (!owner_.draining || next_head_buffered());
        const write_context context{version_minor, head_request, keep_alive};

        // --- the response ---
        deadline_.arm(options.write_timeout);
        if (resp.upgrade && resp.status == 101) {
            // run() hands the connection over once this frame is gone: an upgraded connection
            // lives long, and should not keep all of an exchange's locals while it does.
            s_->upgrade =
                std::make_unique<pending_upgrade>(pending_upgrade{std::move(resp), context});
            co_return false;
        }
        if (resp.stream && !head_request && !status_forbids_body(resp.status)) {
            const bool sent_whole = co_await send_streamed(resp, context);
            if (!sent_whole) co_return false;
        } else {
            write_response(s_->output, resp, context);
        }
        if (!keep_alive) {
            co_await close_after_response();
            co_return false;
        }
        if (s_->output.size() >= flush_threshold) {
            const auto sent = co_await flush();
            if (!sent) co_return false;
        }
        // With no bytes of a next request, the write deadline armed above stays for the flush
        // that follows, and the idle one is armed above once the response is out.
        if (!s_->input.empty()) deadline_.arm(options.header_timeout);
    }
}

} // namespace snow::http::detail
