// tests/sync/future_test.cpp: promise/future hand-off, event, ready_after.
#include "snow/sync/future.hpp"

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "snow/core/when_any.hpp"
#include "snow/sync/event.hpp"
#include "snow/time/ready_after.hpp"
#include "support/run_test.hpp"

using namespace snow;
using namespace std::chrono_literals;
using testing::run_test;

TEST_SUITE_BEGIN("core.future");

namespace {
task<void> resolve_later(promise<std::string> p, std::string value) {
    co_await yield();
    p.set_value(std::move(value));
}
task<std::string> wait_for(future<std::string> f) {
    auto r = co_await f;
    co_return r ? *r : r.error().message();
}
} // namespace

TEST_CASE("a task awaits a future that another task resolves") {
    auto value = run_test([]() -> task<std::string> {
        promise<std::string> p;
        auto f = p.get_future();
        spawn(resolve_later(std::move(p), "done"));
        co_return co_await wait_for(std::move(f));
    }());
    CHECK(value == "done");
}

TEST_CASE("a value set before anyone waits is kept, and awaiting it does not suspend") {
    auto ok = run_test([]() -> task<bool> {
        promise<int> p;
        auto f = p.get_future();
        p.set_value(7);
        CHECK(f.ready());
        CHECK(f.await_ready()); // no suspension: the value is there
        auto r = co_await f;
        co_return r&&* r == 7;
    }());
    CHECK(ok);
}

TEST_CASE("set_value resumes the waiter through the loop, not inside set_value") {
    auto ok = run_test([]() -> task<bool> {
        promise<int> p;
        auto f = p.get_future();
        bool waiter_ran = false;
        auto waiter = [](future<int> fut, bool& ran) -> task<void> {
            (void)co_await fut;
            ran = true;
        };
        event done;
        auto runner = [](task<void> t, event& e) -> task<void> {
            co_await std::move(t);
            e.set();
        };
        spawn(runner(waiter(std::move(f), waiter_ran), done));
        co_await yield(); // let the waiter suspend
        p.set_value(1);
        const bool ran_inline = waiter_ran;
        co_await done.wait();
        co_return !ran_inline && waiter_ran;
    }());
    CHECK(ok);
}

TEST_CASE("a promise destroyed unresolved wakes its waiter with broken_promise") {
    auto error = run_test([]() -> task<std::error_code> {
        std::optional<promise<int>> p(std::in_place);
        auto f = p->get_future();
        auto dropper = [](std::optional<promise<int>>& prom) -> task<void> {
            co_await yield();
            prom.reset();
        };
        spawn(dropper(p));
        auto r = co_await f;
        co_return r.error();
    }());
    CHECK(error == snow::errc::broken_promise);
    CHECK(error.message().find("promise") != std::string::npos);
}

TEST_CASE("an exception set on the promise is rethrown by the awaiter") {
    auto what = run_test([]() -> task<std::string> {
        promise<int> p;
        auto f = p.get_future();
        p.set_exception(std::make_exception_ptr(std::runtime_error("failed upstream")));
        try {
            (void)co_await f;
        } catch (const std::runtime_error& e) {
            co_return e.what();
        }
        co_return "no exception";
    }());
    CHECK(what == "failed upstream");
}

TEST_CASE("an error code set on the promise arrives as a value") {
    auto error = run_test([]() -> task<std::error_code> {
        promise<void> p;
        auto f = p.get_future();
        p.set_error(std::make_error_code(std::errc::connection_reset));
        co_return (co_await f).error();
    }());
    CHECK(error == std::errc::connection_reset);
}

TEST_CASE("a promise knows when its future is gone") {
    promise<int> p;
    {
        auto f = p.get_future();
        CHECK_FALSE(p.abandoned());
    }
    CHECK(p.abandoned());
}

TEST_CASE("ready_after becomes ready after its duration") {
    auto elapsed = run_test([]() -> task<clock::duration> {
        auto start = clock::now();
        auto r = co_await ready_after(30ms);
        CHECK(r.has_value());
        co_return clock::now() - start;
    }());
    CHECK(elapsed >= 30ms);
}

TEST_CASE("a cancelled wait on a future ends with operation_canceled") {
    auto outcome = run_test([]() -> task<any_result<std::error_code>> {
        promise<int> never;
        auto waits = [](future<int> f) -> task<std::error_code> { co_return (co_await f).error(); };
        auto quick = []() -> task<std::error_code> {
            co_await sleep(1ms);
            co_return std::error_code{};
        };
        co_return co_await when_any(waits(never.get_future()), quick());
    }());
    CHECK(outcome.index == 1);
}

TEST_CASE("an event wakes every waiter, in the order they began waiting") {
    auto order = run_test([]() -> task<std::vector<int>> {
        event e;
        std::vector<int> woke;
        event all_done;
        int remaining = 3;
        auto waiter = [](event& ev, std::vector<int>& out, int id, int& left,
                         event& done) -> task<void> {
            const bool was_set = co_await ev.wait();
            CHECK(was_set);
            out.push_back(id);
            if (--left == 0) done.set();
        };
        for (int i = 0; i < 3; ++i) spawn(waiter(e, woke, i, remaining, all_done));
        co_await yield();
        CHECK(woke.empty());
        e.set();
        co_await all_done.wait();
        const bool still_set = co_await e.wait(); // set: no suspension
        CHECK(still_set);
        co_return woke;
    }());
    CHECK(order == std::vector<int>{0, 1, 2});
}

TEST_SUITE_END();
