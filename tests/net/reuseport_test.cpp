// tests/net/reuseport_test.cpp: the CPU-steering program of a SO_REUSEPORT group. Where the
// kernel takes it, a connection made from a thread pinned to CPU c waits on listener c mod 2
// (loopback delivers the SYN on the sending CPU); where it does not, the error is a value
// and the kernel's hash still hands every connection to one of the listeners.
#include "snow/net/reuseport.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "snow/io/cpu_affinity.hpp"
#include "snow/net/tcp_listener.hpp"

using namespace snow;

TEST_SUITE_BEGIN("net.reuseport");

namespace {

/// Two listeners in one SO_REUSEPORT group on a free loopback port, in joining order.
std::vector<net::tcp_listener> group_of_two() {
    std::vector<net::tcp_listener> group;
    group.push_back(net::tcp_listener::bind("127.0.0.1:0", {.reuse_port = true}).value());
    group.push_back(
        net::tcp_listener::bind(group[0].local_address(), {.reuse_port = true}).value());
    return group;
}

/// Connects to `port` from a thread pinned to `cpu` (or from anywhere, for cpu -1) and
/// returns the client socket once the handshake is done; -1 if it failed.
int connect_from(int cpu, std::uint16_t port) {
    int fd = -1;
    std::thread client([cpu, port, &fd] {
        if (cpu >= 0 && !io::pin_this_thread(std::vector<int>{cpu})) return;
        int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in peer{};
        peer.sin_family = AF_INET;
        peer.sin_port = htons(port);
        peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(s, reinterpret_cast<const sockaddr*>(&peer), sizeof peer) == 0)
            fd = s;
        else
            ::close(s);
    });
    client.join();
    return fd;
}

/// The index of the listener that holds the next connection (accepting and closing it), or
/// -1 when none does within 5 s.
int listener_with_connection(std::vector<net::tcp_listener>& group) {
    pollfd ready[2] = {{.fd = group[0].native_handle(), .events = POLLIN, .revents = 0},
                       {.fd = group[1].native_handle(), .events = POLLIN, .revents = 0}};
    if (::poll(ready, 2, 5000) <= 0) return -1;
    for (int i = 0; i < 2; ++i) {
        if ((ready[i].revents & POLLIN) == 0) continue;
        int accepted = ::accept4(ready[i].fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (accepted < 0) return -1;
        ::close(accepted);
        return i;
    }
    return -1;
}

} // namespace

TEST_CASE("steering refuses a group of no sockets and a socket in no reuseport group") {
    auto group = group_of_two();
    auto none = net::steer_by_cpu(group[0].native_handle(), 0);
    REQUIRE_FALSE(none);
    CHECK(none.error() == std::errc::invalid_argument);

    auto alone = net::tcp_listener::bind("127.0.0.1:0").value();
    auto outside = net::steer_by_cpu(alone.native_handle(), 2);
    REQUIRE_FALSE(outside);
    CHECK(outside.error() == std::errc::invalid_argument);
}

TEST_CASE("a steered group hands a connection to the listener numbered by its CPU") {
    auto group = group_of_two();
    const std::uint16_t port = group[0].local_address().port();
    auto steered = net::steer_by_cpu(group[0].native_handle(), 2);
    if (!steered) {
        // The fallback: no program, and the kernel's hash still places every connection.
        MESSAGE("the kernel refuses SO_ATTACH_REUSEPORT_CBPF (" << steered.error().message()
                                                                << "): checking the hash");
        for (int i = 0; i < 8; ++i) {
            int client = connect_from(-1, port);
            REQUIRE(client >= 0);
            CHECK(listener_with_connection(group) >= 0);
            ::close(client);
        }
        return;
    }
    const std::vector<int> cpus = io::allowed_cpus();
    REQUIRE_FALSE(cpus.empty());
    for (int cpu : cpus) {
        for (int round = 0; round < 3; ++round) {
            int client = connect_from(cpu, port);
            REQUIRE(client >= 0);
            const int landed = listener_with_connection(group);
            INFO("connection made on CPU " << cpu << ", round " << round);
            CHECK(landed == cpu % 2);
            ::close(client);
        }
    }
}

TEST_SUITE_END();
