// tests/net/reader_test.cpp: buffered reads and length-prefixed framing, including the
// limits that keep a hostile peer from growing the buffer.
#include "snow/net/buffered_reader.hpp"

#include <doctest/doctest.h>

#include "snow/net/framing.hpp"
#include "support/run_test.hpp"
#include "support/socket_pair.hpp"

using namespace snow;
using namespace std::chrono_literals;
using testing::run_test;

TEST_SUITE_BEGIN("net.reader");

namespace {
/// Writes `text` in pieces of `step` bytes with a turn between them, then closes.
task<void> trickle(net::tcp_stream out, std::string text, std::size_t step) {
    for (std::size_t i = 0; i < text.size(); i += step) {
        (void)co_await out.send_all(std::string_view(text).substr(i, step));
        co_await yield();
    }
}
} // namespace

TEST_CASE("read_line returns whole lines however the bytes are split, then eof") {
    auto lines = run_test([]() -> task<std::vector<std::string>> {
        auto [a, b] = testing::socket_pair();
        spawn(trickle(std::move(b), "first\r\nsecond\nthird\n", 1));
        net::buffered_reader reader(a, 4);
        std::vector<std::string> out;
        for (;;) {
            auto line = co_await reader.read_line(100);
            if (!line) {
                CHECK(line.error() == snow::errc::eof);
                co_return out;
            }
            out.emplace_back(*line);
        }
    }());
    CHECK(lines == std::vector<std::string>{"first", "second", "third"});
}

TEST_CASE("a line longer than the limit is message_too_long") {
    auto error = run_test([]() -> task<std::error_code> {
        auto [a, b] = testing::socket_pair();
        spawn(trickle(std::move(b), std::string(300, 'x') + "\n", 64));
        net::buffered_reader reader(a);
        co_return (co_await reader.read_line(100)).error();
    }());
    CHECK(error == snow::errc::message_too_long);
}

TEST_CASE("read_exact and read_until take exactly what they are asked for") {
    auto parts = run_test([]() -> task<std::vector<std::string>> {
        auto [a, b] = testing::socket_pair();
        spawn(trickle(std::move(b), "HEAD:abcdefg|rest", 3));
        net::buffered_reader reader(a);
        std::vector<std::string> out;
        out.emplace_back(*co_await reader.read_until(":", 10));
        out.emplace_back(net::as_text(*co_await reader.read_exact(4)));
        out.emplace_back(*co_await reader.read_until("|", 10));
        out.emplace_back(net::as_text(*co_await reader.read_exact(4)));
        auto end = co_await reader.read_exact(1);
        CHECK(end.error() == snow::errc::eof);
        co_return out;
    }());
    CHECK(parts == std::vector<std::string>{"HEAD", "abcd", "efg", "rest"});
}

TEST_CASE("frames survive any split of the byte stream") {
    auto frames = run_test([]() -> task<std::vector<std::string>> {
        auto [a, b] = testing::socket_pair();
        auto writer = [](net::tcp_stream out) -> task<void> {
            for (std::string_view m : {std::string_view("one"), std::string_view(""),
                                       std::string_view("three"), std::string_view("x\0y", 3)}) {
                auto sent = co_await net::write_frame(out, net::as_bytes(m));
                REQUIRE(sent.has_value());
            }
        };
        spawn(writer(std::move(b)));
        net::buffered_reader reader(a, 2);
        std::vector<std::string> out;
        for (;;) {
            auto frame = co_await net::read_frame(reader, 64);
            if (!frame) co_return out;
            out.emplace_back(net::as_text(*frame));
        }
    }());
    CHECK(frames == std::vector<std::string>{"one", "", "three", std::string("x\0y", 3)});
}

TEST_CASE("an oversized frame length is refused before any payload is buffered") {
    auto [error, buffered] = run_test([]() -> task<std::pair<std::error_code, std::size_t>> {
        auto [a, b] = testing::socket_pair();
        // Claims 4 GiB - 1; only the header is ever read.
        (void)co_await b.send_all(std::string_view("\xff\xff\xff\xf", 4));
        net::buffered_reader reader(a);
        auto frame = co_await net::read_frame(reader, 1024);
        co_return std::pair{frame.error(), reader.buffered().size()};
    }());
    CHECK(error == snow::errc::message_too_long);
    CHECK(buffered <= 4);
}

TEST_SUITE_END();
