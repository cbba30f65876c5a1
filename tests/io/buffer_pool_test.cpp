// tests/io/buffer_pool_test.cpp: receives into provided buffers: the bytes arrive in a pool
// buffer, the buffer goes back when released, an empty pool is an error value, and a
// completion nobody will see still returns its buffer.
#include "snow/io/buffer_pool.hpp"

#include <doctest/doctest.h>

#include <optional>
#include <string>

#include "snow/io/ops.hpp"
#include "snow/io/run.hpp"
#include "snow/net/tcp_stream.hpp"
#include "snow/sync/event.hpp"
#include "support/run_test.hpp"
#include "support/socket_pair.hpp"

using namespace snow;
using testing::run_test;

TEST_SUITE_BEGIN("io.buffer_pool");

namespace {
/// A pool of its own, so a test can empty it; group 7 keeps clear of the loop's.
std::unique_ptr<io::buffer_pool> small_pool(unsigned count) {
    auto pool = io::buffer_pool::create(io::event_loop::current().io(), count, 64, 7);
    REQUIRE(pool);
    return std::move(*pool);
}

std::string text_of(const io::pooled_bytes& b) {
    return std::string(net::as_text(b.bytes()));
}
} // namespace

TEST_CASE("a pooled receive gets the bytes in a buffer of the pool") {
    auto got = run_test([]() -> task<std::string> {
        auto pool = small_pool(2);
        auto [a, b] = testing::socket_pair();
        auto sent = co_await b.send_all("hello");
        REQUIRE(sent);
        auto received = co_await a.recv_pooled(*pool);
        REQUIRE(received);
        co_return text_of(*received);
    }());
    CHECK(got == "hello");
}

TEST_CASE("the loop's own pool serves pooled receives") {
    auto got = run_test([]() -> task<std::string> {
        io::buffer_pool* pool = io::event_loop::current().receive_buffers();
        REQUIRE(pool != nullptr);
        auto [a, b] = testing::socket_pair();
        auto sent = co_await b.send_all("from the loop");
        REQUIRE(sent);
        auto received = co_await a.recv_pooled(*pool);
        REQUIRE(received);
        co_return text_of(*received);
    }());
    CHECK(got == "from the loop");
}

TEST_CASE("end of stream is an empty result that takes no buffer") {
    auto [eof_empty, next] = run_test([]() -> task<std::pair<bool, std::string>> {
        auto pool = small_pool(1);
        auto [a, b] = testing::socket_pair();
        auto [c, d] = testing::socket_pair();
        (void)co_await b.shutdown(SHUT_WR);
        auto eof = co_await a.recv_pooled(*pool);
        REQUIRE(eof);
        const bool empty = eof->empty() && eof->bytes().empty();
        auto sent = co_await d.send_all("still one buffer");
        REQUIRE(sent);
        auto more = co_await c.recv_pooled(*pool);
        REQUIRE(more);
        co_return std::pair{empty, text_of(*more)};
    }());
    CHECK(eof_empty);
    CHECK(next == "still one buffer");
}

TEST_CASE("an empty pool fails with no_buffer_space until a buffer comes back") {
    auto [first, refused, after] =
        run_test([]() -> task<std::tuple<std::string, bool, std::string>> {
            auto pool = small_pool(1);
            auto [a, b] = testing::socket_pair();
            auto sent_one = co_await b.send_all("one");
            REQUIRE(sent_one);
            auto held = co_await a.recv_pooled(*pool);
            REQUIRE(held);
            auto sent_two = co_await b.send_all("two");
            REQUIRE(sent_two);
            auto none = co_await a.recv_pooled(*pool);
            const bool was_refused = !none && none.error() == std::errc::no_buffer_space;
            std::string first_text = text_of(*held);
            held->release();
            auto again = co_await a.recv_pooled(*pool);
            REQUIRE(again);
            co_return std::tuple{first_text, was_refused, text_of(*again)};
        }());
    CHECK(first == "one");
    CHECK(refused);
    CHECK(after == "two");
}

TEST_CASE("moving pooled bytes moves the buffer; dropping the last owner returns it once") {
    auto [moved, reused] = run_test([]() -> task<std::pair<std::string, std::string>> {
        auto pool = small_pool(1);
        auto [a, b] = testing::socket_pair();
        auto sent_abc = co_await b.send_all("abc");
        REQUIRE(sent_abc);
        auto received = co_await a.recv_pooled(*pool);
        REQUIRE(received);
        io::pooled_bytes owner = std::move(*received);
        io::pooled_bytes second;
        second = std::move(owner);
        std::string text = text_of(second);
        REQUIRE(owner.empty());
        second = io::pooled_bytes{}; // returns the buffer
        auto sent_def = co_await b.send_all("def");
        REQUIRE(sent_def);
        auto next = co_await a.recv_pooled(*pool);
        REQUIRE(next);
        co_return std::pair{text, text_of(*next)};
    }());
    CHECK(moved == "abc");
    CHECK(reused == "def");
}

TEST_CASE("a pooled completion whose task is destroyed before it runs returns its buffer") {
    auto after = run_test([]() -> task<std::string> {
        auto pool = small_pool(1);
        auto [a, b] = testing::socket_pair();
        auto [c, d] = testing::socket_pair();
        auto [e, f] = testing::socket_pair();
        std::optional<task<void>> victim;
        auto reader = [](net::tcp_stream& s, io::buffer_pool& p) -> task<void> {
            auto got = co_await s.recv_pooled(p);
            FAIL_CHECK("the destroyed reader must never resume");
        };
        // The destroyer's recv completes first in the same batch, so it runs while the
        // victim's completion (holding the pool's only buffer) is queued behind it.
        auto destroyer = [](net::tcp_stream& s, std::optional<task<void>>& target) -> task<void> {
            std::array<std::byte, 8> buf{};
            (void)co_await s.recv(buf);
            target.reset();
        };
        event done;
        auto signal = [](task<void> t, event& ev) -> task<void> {
            co_await std::move(t);
            ev.set();
        };
        spawn(signal(destroyer(c, victim), done));
        co_await yield();
        victim.emplace(reader(a, *pool));
        victim->handle().resume();
        (void)co_await io::nop_op(); // the victim's recv is in flight too
        REQUIRE(::send(d.native_handle(), "1", 1, 0) == 1);
        REQUIRE(::send(b.native_handle(), "2", 1, 0) == 1);
        co_await done.wait();
        REQUIRE_FALSE(victim.has_value());
        auto sent = co_await f.send_all("buffer is back");
        REQUIRE(sent);
        auto next = co_await e.recv_pooled(*pool);
        REQUIRE(next);
        co_return text_of(*next);
    }());
    CHECK(after == "buffer is back");
}

TEST_SUITE_END();
