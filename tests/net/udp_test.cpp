// tests/net/udp_test.cpp: datagrams over loopback with their sender's address.
#include "snow/net/udp_socket.hpp"

#include <doctest/doctest.h>

#include "snow/net/tcp_stream.hpp"
#include "support/run_test.hpp"

using namespace snow;
using namespace std::chrono_literals;
using net::udp_socket;
using testing::run_test;

TEST_SUITE_BEGIN("net.udp");

TEST_CASE("a datagram arrives whole with its sender, and the reply goes back to it") {
    auto [request, sender_ok, reply] =
        run_test([]() -> task<std::tuple<std::string, bool, std::string>> {
            auto server = udp_socket::bind("127.0.0.1:0").value();
            auto client = udp_socket::bind("127.0.0.1:0").value();
            auto server_address = server.local_address().value();
            auto sent = co_await client.send_to(net::as_bytes("ping"), server_address);
            REQUIRE(sent.value_or(0) == 4);

            std::array<std::byte, 64> buffer{};
            auto got = co_await server.recv_from(buffer).timeout(5s);
            REQUIRE(got.has_value());
            std::string request_text(net::as_text(std::span(buffer).first(got->size)));
            bool from_client = got->sender == client.local_address().value();
            (void)co_await server.send_to(net::as_bytes("ok"), got->sender);

            auto back = co_await client.recv_from(buffer).timeout(5s);
            REQUIRE(back.has_value());
            co_return std::tuple{request_text, from_client,
                                 std::string(net::as_text(std::span(buffer).first(back->size)))};
        }());
    CHECK(request == "ping");
    CHECK(sender_ok);
    CHECK(reply == "ok");
}

TEST_CASE("a recv_from with nothing to read times out") {
    auto error = run_test([]() -> task<std::error_code> {
        auto socket = udp_socket::bind("127.0.0.1:0").value();
        std::array<std::byte, 8> buffer{};
        co_return (co_await socket.recv_from(buffer).timeout(10ms)).error();
    }());
    CHECK(error == std::errc::timed_out);
}

TEST_SUITE_END();
