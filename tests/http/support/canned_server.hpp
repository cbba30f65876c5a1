// tests/http/support/canned_server.hpp: a loopback server for client tests that answers every
// request on every connection with one canned response, over TLS when given a context, and
// counts the connections it accepted.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>

#include "snow/core/task.hpp"
#include "snow/core/task_group.hpp"
#include "snow/net/stream.hpp"
#include "snow/net/tcp_listener.hpp"
#include "snow/net/tls_context.hpp"

namespace snow::testing {

/// Answers every request on every connection with `answer`, over TLS when given a context.
/// Counts the connections it accepted.
class canned_server {
public:
    canned_server(std::string answer, std::optional<net::tls_context> tls)
        : listener_(net::tcp_listener::bind("127.0.0.1:0").value())
        , answer_(std::move(answer))
        , tls_(std::move(tls)) {
        group_.spawn(accept_loop());
    }
    ~canned_server() { group_.cancel(); }

    std::uint16_t port() const { return listener_.local_address().port(); }
    int accepted() const noexcept { return accepted_; }
    task<void> stop() {
        group_.cancel();
        co_await group_.join();
    }

private:
    task<void> accept_loop() {
        for (;;) {
            auto tcp = co_await listener_.accept();
            if (!tcp) co_return;
            ++accepted_;
            group_.spawn(serve(std::move(*tcp)));
        }
    }

    task<void> serve(net::tcp_stream tcp) {
        net::stream s(std::move(tcp));
        if (tls_) {
            auto secure = co_await net::stream::accept_tls(std::move(s.tcp()), *tls_);
            if (!secure) co_return;
            s = std::move(*secure);
        }
        std::string input;
        std::array<std::byte, 4096> buffer{};
        for (;;) {
            while (input.find("\r\n\r\n") == std::string::npos) {
                auto n = co_await s.recv(buffer);
                if (!n || *n == 0) co_return;
                input.append(reinterpret_cast<const char*>(buffer.data()), *n);
            }
            input.erase(0, input.find("\r\n\r\n") + 4);
            auto sent = co_await s.send_all(answer_);
            if (!sent) co_return;
        }
    }

    net::tcp_listener listener_;
    std::string answer_;
    std::optional<net::tls_context> tls_;
    int accepted_ = 0;
    task_group group_;
};

} // namespace snow::testing
