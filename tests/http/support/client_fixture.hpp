// tests/http/support/client_fixture.hpp: what the client tests share: snow's own server
// in-process on 127.0.0.1:0 (or a listener given, such as a Unix socket's) with the routes the
// tests fetch (local_server), a canned response, elapsed time in seconds, and a readable
// std::error_code in doctest's failure messages.
// Timing assertions built on it are bounds with generous slack, never exact durations.
#pragma once

#include <doctest/doctest.h>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <fmt/format.h>

#include "snow/http/server/server.hpp"
#include "snow/io/clock.hpp"
#include "snow/io/run.hpp"
#include "snow/net/tcp_listener.hpp"
#include "snow/sync/event.hpp"
#include "snow/time/sleep.hpp"

template <>
struct doctest::StringMaker<std::error_code> {
    static String convert(const std::error_code& e) {
        return fmt::format("{}:{} ({})", e.category().name(), e.value(), e.message()).c_str();
    }
};

namespace snow::testing {

/// The routes local_server serves.
inline http::router client_test_routes() {
    using http::request;
    using http::response;
    http::router r;
    r.get("/index/", [](request&) -> task<response> { co_return http::text("OK"); });
    r.get("/home/", [](request&) -> task<response> { co_return http::text("home"); });
    r.get("/sleep/{ms}", [](request& req) -> task<response> {
        int ms = 0;
        auto text = req.param("ms");
        std::from_chars(text.data(), text.data() + text.size(), ms);
        const bool slept = co_await sleep(std::chrono::milliseconds(ms));
        co_return http::text(slept ? "slept" : "woken");
    });
    r.get("/big",
          [](request&) -> task<response> { co_return http::text(std::string(3 << 20, 'x')); });
    r.get("/host", [](request& req) -> task<response> {
        co_return http::text(std::string(req.header("Host").value_or("none")));
    });
    r.post("/echo",
           [](request& req) -> task<response> { co_return http::text(std::string(req.body())); });
    r.get("/chunked", [](request&) -> task<response> {
        response resp;
        resp.stream = [](http::body_writer& w) -> task<result<void>> {
            auto sent = co_await w.write("hello ");
            if (!sent) co_return sent;
            co_return co_await w.write("world");
        };
        co_return resp;
    });
    r.get("/redirect/{n}", [](request& req) -> task<response> {
        int n = 0;
        auto text = req.param("n");
        std::from_chars(text.data(), text.data() + text.size(), n);
        if (n == 0) co_return http::text("landed");
        co_return http::redirect(fmt::format("/redirect/{}", n - 1), 302);
    });
    r.get("/relative/a/b",
          [](request&) -> task<response> { co_return http::redirect("../c?from=b", 301); });
    r.get("/relative/c", [](request& req) -> task<response> {
        co_return http::text(fmt::format("c {}", req.query_string()));
    });
    r.get("/loop", [](request&) -> task<response> { co_return http::redirect("/loop", 307); });
    r.post("/see-other",
           [](request&) -> task<response> { co_return http::redirect("/index/", 303); });
    r.post("/keep-post",
           [](request&) -> task<response> { co_return http::redirect("/echo", 307); });
    return r;
}

/// snow's server on 127.0.0.1:0 for the length of a test; stop() before it goes.
class local_server {
public:
    local_server() : local_server(net::tcp_listener::bind("127.0.0.1:0").value()) {}
    /// Serving on `listener` instead, such as a Unix socket's (net::listen_unix).
    explicit local_server(net::tcp_listener listener) : server_(client_test_routes()) {
        port_ = listener.local_address().port();
        spawn(serve(&server_, std::move(listener), &done_));
    }
    std::string url(std::string_view target) const {
        return fmt::format("http://127.0.0.1:{}{}", port_, target);
    }
    std::uint16_t port() const noexcept { return port_; }
    task<void> stop() {
        server_.stop();
        co_await done_.wait();
    }

private:
    static task<void> serve(http::server* s, net::tcp_listener listener, event* done) {
        // Named rather than defaulted: GCC 12 mishandles a defaulted by-value argument of a
        // coroutine called inside co_await (the server's options arrived corrupted).
        http::server_options options;
        co_await s->serve(std::move(listener), std::move(options));
        done->set();
    }

    http::server server_;
    event done_;
    std::uint16_t port_ = 0;
};

inline double seconds_since(io::clock::time_point start) {
    return std::chrono::duration<double>(io::clock::now() - start).count();
}

/// A complete keep-alive response for the misbehaving servers to send.
inline constexpr std::string_view ok_response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

} // namespace snow::testing
