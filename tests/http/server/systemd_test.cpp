// tests/http/server/systemd_test.cpp: the systemd protocol without systemd: READY=1 and
// STOPPING=1 arrive as datagrams on $NOTIFY_SOCKET (a path or an abstract name), LISTEN_FDS
// meant for another process is ignored and cleared, and a listener adopted from a passed
// descriptor serves. The demo under systemd-socket-activate is in tests/http/demo_test.cpp.
#include "snow/net/systemd.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "snow/http/server/server.hpp"
#include "snow/net/tcp_listener.hpp"

#include "http/support/server_fixture.hpp"
#include "http/support/temp_dir.hpp"

using namespace snow;
using namespace snow::testing;

namespace {

/// A datagram socket bound at `name` ('@' first: abstract) that NOTIFY_SOCKET points to
/// while it lives.
class notify_receiver {
public:
    explicit notify_receiver(const std::string& name) {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_un at{};
        at.sun_family = AF_UNIX;
        std::memcpy(at.sun_path, name.data(), name.size());
        if (name.front() == '@') at.sun_path[0] = '\0';
        const auto size = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
        REQUIRE(::bind(fd_, reinterpret_cast<const sockaddr*>(&at), size) == 0);
        timeval wait{.tv_sec = 2, .tv_usec = 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
        ::setenv("NOTIFY_SOCKET", name.c_str(), 1);
    }
    notify_receiver(const notify_receiver&) = delete;
    notify_receiver& operator=(const notify_receiver&) = delete;
    ~notify_receiver() {
        ::unsetenv("NOTIFY_SOCKET");
        ::close(fd_);
    }
    /// The next datagram; empty after two seconds without one.
    std::string next() {
        char buffer[256];
        const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
        return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
    }

private:
    int fd_ = -1;
};

} // namespace

TEST_SUITE_BEGIN("http.server");

TEST_CASE("notify sends its state to NOTIFY_SOCKET, a path or an abstract name") {
    temp_dir dir;
    {
        notify_receiver systemd(dir.file("notify"));
        CHECK(net::systemd::notify("READY=1"));
        CHECK(systemd.next() == "READY=1");
        CHECK(net::systemd::notify("STOPPING=1"));
        CHECK(systemd.next() == "STOPPING=1");
    }
    {
        notify_receiver systemd("@snow-test-notify-" + std::to_string(::getpid()));
        CHECK(net::systemd::notify("READY=1"));
        CHECK(systemd.next() == "READY=1");
    }
    CHECK_FALSE(net::systemd::notify("READY=1")); // no NOTIFY_SOCKET: nothing to tell
}

TEST_CASE("LISTEN_FDS meant for another process is ignored, and cleared") {
    ::setenv("LISTEN_PID", std::to_string(::getpid() + 1).c_str(), 1);
    ::setenv("LISTEN_FDS", "1", 1);
    CHECK(net::systemd::take_listen_fds().empty());
    CHECK(std::getenv("LISTEN_PID") == nullptr);
    CHECK(std::getenv("LISTEN_FDS") == nullptr);
}

TEST_CASE("a listener adopted from a passed descriptor serves; a non-listening one is refused") {
    auto bound = net::tcp_listener::bind("127.0.0.1:0");
    REQUIRE(bound.has_value());
    const int copy = ::fcntl(bound->native_handle(), F_DUPFD_CLOEXEC, 0);
    REQUIRE(copy >= 0);
    auto adopted = net::tcp_listener::adopt(net::file_descriptor(copy));
    REQUIRE(adopted.has_value());
    CHECK(adopted->local_address().port() == bound->local_address().port());

    const int plain = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(plain >= 0);
    auto refused = net::tcp_listener::adopt(net::file_descriptor(plain));
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error() == std::errc::invalid_argument);

    probe p;
    http::server srv(test_routes(p));
    *bound = net::tcp_listener{}; // only the adopted copy accepts now
    run_test([](http::server& s, net::tcp_listener listener) -> task<void> {
        const net::address at = listener.local_address();
        event stopped;
        spawn(serve_then_signal(s, std::move(listener), test_options(), stopped));
        auto answer = co_await exchange(at, get("/hello"));
        REQUIRE(answer.has_value());
        CHECK(answer->body == "hello");
        s.stop();
        co_await stopped.wait();
    }(srv, std::move(*adopted)));
}

TEST_SUITE_END();
