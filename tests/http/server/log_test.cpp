// tests/http/server/log_test.cpp: the library's log levels, and the log_file that diagnostics and
// the access log go through: a loop's lines are gathered and written by the ring on a later
// turn, reopen() follows a file that logrotate renamed, and a full buffer drops lines rather
// than grow.
#include "snow/io/log.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include "snow/io/log_file.hpp"
#include "support/run_test.hpp"

#include "http/support/temp_dir.hpp"

using namespace snow;
using namespace snow::testing;

TEST_SUITE_BEGIN("http.server");

TEST_CASE("log levels parse by name and filter what is written") {
    CHECK(log::parse_level("error") == log::level::error);
    CHECK(log::parse_level("warn") == log::level::warn);
    CHECK(log::parse_level("warning") == log::level::warn);
    CHECK(log::parse_level("info") == log::level::info);
    CHECK(log::parse_level("debug") == log::level::debug);
    CHECK_FALSE(log::parse_level("loud").has_value());
    CHECK_FALSE(log::parse_level("").has_value());

    temp_dir dir;
    auto sink = io::log_file::open(dir.file("diagnostics.log"));
    REQUIRE(sink.has_value());
    const log::level before = log::current_level();
    log::set_level(log::level::warn);
    log::set_sink(*sink);
    CHECK(log::enabled(log::level::error));
    CHECK(log::enabled(log::level::warn));
    CHECK_FALSE(log::enabled(log::level::info));
    log::debug("not written {}", 0);
    log::info("not written {}", 1);
    log::warn("written {}", 2);
    log::error("written {}", 3);
    log::set_sink(nullptr);
    log::set_level(before);
    // Off a loop, lines are written at once.
    CHECK(read_file(dir.file("diagnostics.log")) ==
          "snow: warn: written 2\nsnow: error: written 3\n");
}

TEST_CASE("a loop's lines are gathered, then written by the ring on a later turn") {
    temp_dir dir;
    const std::string path = dir.file("gathered.log");
    auto file = io::log_file::open(path);
    REQUIRE(file.has_value());
    run_test([](std::shared_ptr<io::log_file> log, std::string at) -> task<void> {
        log->write("one\n");
        log->write("two\n");
        CHECK(read_file(at).empty()); // nothing written while the loop is busy with this task
        co_await log->drain();
        CHECK(read_file(at) == "one\ntwo\n");
        log->write("three\n");
        co_await log->drain();
        CHECK(read_file(at) == "one\ntwo\nthree\n");
    }(*file, path));
    CHECK((*file)->failed_writes() == 0);
}

TEST_CASE("reopen() sends later lines to a new file after the old one was renamed") {
    temp_dir dir;
    const std::string path = dir.file("access.log");
    const std::string rotated = dir.file("access.log.1");
    auto file = io::log_file::open(path);
    REQUIRE(file.has_value());
    run_test(
        [](std::shared_ptr<io::log_file> log, std::string at, std::string moved) -> task<void> {
            log->write("before\n");
            co_await log->drain();
            REQUIRE(std::rename(at.c_str(), moved.c_str()) == 0);
            log->write("still the old file\n"); // as with nginx: until the reopen, lines follow it
            co_await log->drain();
            auto reopened = co_await log->reopen();
            REQUIRE(reopened.has_value());
            log->write("after\n");
            co_await log->drain();
        }(*file, path, rotated));
    CHECK(read_file(rotated) == "before\nstill the old file\n");
    CHECK(read_file(path) == "after\n");
}

TEST_CASE("lines past a thread's buffer limit are dropped and counted, not held") {
    temp_dir dir;
    const std::string path = dir.file("small.log");
    auto file = io::log_file::open(path, {.max_pending_bytes = 8});
    REQUIRE(file.has_value());
    run_test([](std::shared_ptr<io::log_file> log) -> task<void> {
        log->write("12345\n");
        log->write("67890\n"); // 12 bytes would be pending: over the limit of 8
        co_await log->drain();
    }(*file));
    CHECK((*file)->dropped() == 1);
    CHECK(read_file(path) == "12345\n");
}

TEST_CASE("opening a log in a missing directory is an error value") {
    auto file = io::log_file::open("/nonexistent-snow-dir/x.log");
    REQUIRE_FALSE(file.has_value());
    CHECK(file.error() == std::errc::no_such_file_or_directory);
}

TEST_SUITE_END();
