// tests/http/server/demo_upload_test.cpp: snow_demo's streamed POST /upload/ end to end, in the
// demo's own suite (http.demo): curl's uploads (-T, --data-binary, chunked) hashed right,
// --max-body answered 413, and, in a release build, a 256 MiB upload that leaves the demo's
// peak RSS within 2 MiB of what it was idle.
#include <doctest/doctest.h>

#include <openssl/evp.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "support/programs.hpp"

#include "examples/child_process.hpp"
#include "http/support/blocking_client.hpp"
#include "http/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using snow::testing::blocking_client;
using snow::testing::child_process;

std::uint16_t announced_port(child_process& demo) {
    constexpr std::string_view prefix = "snow: listening on http://127.0.0.1:";
    auto line =
        demo.wait_for_line([prefix](std::string_view l) { return l.starts_with(prefix); }, 10s);
    REQUIRE_MESSAGE(line.has_value(), "snow_demo did not announce its port; it printed:\n",
                    demo.transcript());
    return static_cast<std::uint16_t>(std::stoul(line->substr(prefix.size())));
}

/// The demo's answer for `body`: "<length> <sha256 hex>\n".
std::string expected_answer(std::string_view body) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int size = 0;
    REQUIRE(EVP_Digest(body.data(), body.size(), digest.data(), &size, EVP_sha256(), nullptr) == 1);
    std::string hex;
    for (unsigned int i = 0; i < size; ++i) hex += fmt::format("{:02x}", digest[i]);
    return fmt::format("{} {}\n", body.size(), hex);
}

std::string pattern(std::size_t size) {
    std::string body(size, '\0');
    std::uint32_t x = 7;
    for (auto& c : body) {
        x = x * 1103515245 + 12345;
        c = static_cast<char>(x >> 16);
    }
    return body;
}

bool have_curl() {
    return std::system("command -v curl >/dev/null 2>&1") == 0;
}

/// curl's output (the response body, then "|<status>"), run with `arguments`.
std::string curl(std::string_view arguments) {
    const std::string command =
        fmt::format("curl -sS --max-time 60 -w '|%{{http_code}}' {}", arguments);
    std::string output;
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::array<char, 4096> buffer{};
    while (std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe))
        output.append(buffer.data(), n);
    ::pclose(pipe);
    return output;
}

/// A line of /proc/PID/status in KiB ("VmHWM", "VmRSS").
std::size_t status_kib(pid_t pid, std::string_view field) {
    std::ifstream status(fmt::format("/proc/{}/status", pid));
    std::string line;
    while (std::getline(status, line))
        if (line.starts_with(field) && line.size() > field.size() && line[field.size()] == ':')
            return std::stoul(line.substr(field.size() + 1));
    FAIL("no ", field, " in /proc/", pid, "/status");
    return 0;
}

} // namespace

TEST_SUITE_BEGIN("http.demo");

TEST_CASE("the demo's /upload/ hashes what curl uploads, streamed, and refuses over --max-body") {
    if (!have_curl()) {
        MESSAGE("skipped: curl is not installed");
        return;
    }
    snow::testing::require_kernel();
    child_process demo(snow::testing::example("snow_demo"),
                       {"--host", "127.0.0.1", "--port", "0", "--max-body", "4000000"});
    const std::uint16_t port = announced_port(demo);
    snow::testing::temp_dir dir;
    const std::string body = pattern(3 << 20);
    const std::string file = dir.file("upload.bin");
    std::ofstream(file, std::ios::binary)
        .write(body.data(), static_cast<std::streamsize>(body.size()));
    const std::string url = fmt::format("http://127.0.0.1:{}/upload/", port);
    const std::string expected = expected_answer(body) + "|200";

    // PUT with Expect: 100-continue (curl sends it for a large file), POST with
    // Content-Length, and POST chunked.
    CHECK(curl(fmt::format("-T '{}' {}", file, url)) == expected);
    CHECK(curl(fmt::format("--data-binary '@{}' {}", file, url)) == expected);
    CHECK(curl(fmt::format("-H 'Transfer-Encoding: chunked' --data-binary '@{}' {}", file, url)) ==
          expected);

    // Over --max-body: by Content-Length before the body is read, and chunked as it grows.
    const std::string big = pattern(5 << 20);
    const std::string big_file = dir.file("big.bin");
    std::ofstream(big_file, std::ios::binary)
        .write(big.data(), static_cast<std::streamsize>(big.size()));
    CHECK(curl(fmt::format("--data-binary '@{}' {}", big_file, url)).ends_with("|413"));
    CHECK(curl(fmt::format("-H 'Transfer-Encoding: chunked' --data-binary '@{}' {}", big_file, url))
              .ends_with("|413"));

    // The demo serves on.
    blocking_client after(port);
    REQUIRE(after.send_all("GET /index/ HTTP/1.1\r\nHost: demo\r\n\r\n"));
    auto r = after.read_response(5s);
    REQUIRE(r.has_value());
    CHECK(r->body == "OK");
}

TEST_CASE("uploading 256 MiB to the demo's /upload/ keeps its RSS within 2 MiB of idle") {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    // A sanitizer's quarantine and shadow memory grow with every allocation: RSS there
    // measures the sanitizer. The release build runs this test.
    MESSAGE("skipped: RSS is not the demo's own under a sanitizer");
    return;
#endif
    snow::testing::require_kernel();
    child_process demo(snow::testing::example("snow_demo"),
                       {"--host", "127.0.0.1", "--port", "0", "--max-body", "300000000"});
    const std::uint16_t port = announced_port(demo);
    const std::string piece = pattern(1 << 20);
    constexpr std::size_t pieces = 256;

    // Idle: after one small upload, so that what any request allocates once is counted.
    blocking_client warm(port);
    REQUIRE(
        warm.send_all("POST /upload/ HTTP/1.1\r\nHost: demo\r\nContent-Length: 5\r\n\r\nhello"));
    REQUIRE(warm.read_response(5s).has_value());
    const std::size_t idle_kib = status_kib(demo.pid(), "VmHWM");

    blocking_client client(port);
    REQUIRE(client.send_all(
        fmt::format("POST /upload/ HTTP/1.1\r\nHost: demo\r\nContent-Length: {}\r\n\r\n",
                    piece.size() * pieces)));
    EVP_MD_CTX* hash = EVP_MD_CTX_new();
    REQUIRE(EVP_DigestInit_ex(hash, EVP_sha256(), nullptr) == 1);
    for (std::size_t i = 0; i < pieces; ++i) {
        REQUIRE(client.send_all(piece));
        EVP_DigestUpdate(hash, piece.data(), piece.size());
    }
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int size = 0;
    EVP_DigestFinal_ex(hash, digest.data(), &size);
    EVP_MD_CTX_free(hash);
    std::string hex;
    for (unsigned int i = 0; i < size; ++i) hex += fmt::format("{:02x}", digest[i]);
    auto r = client.read_response(60s);
    REQUIRE(r.has_value());
    CHECK(r->body == fmt::format("{} {}\n", piece.size() * pieces, hex));

    const std::size_t peak_kib = status_kib(demo.pid(), "VmHWM");
    MESSAGE("snow_demo peak RSS: idle ", idle_kib, " KiB, after 256 MiB uploaded ", peak_kib,
            " KiB");
    CHECK(peak_kib <= idle_kib + 2048);
}

TEST_SUITE_END();
