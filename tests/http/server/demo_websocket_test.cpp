// tests/http/server/demo_websocket_test.cpp: snow_demo's /ws/echo and /ws/chat end to end, in
// the demo's own suite (http.demo), with Python's websockets as the client: it offers
// permessage-deflate, which both routes accept (the chat room without server context takeover).
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "support/programs.hpp"

#include "examples/child_process.hpp"
#include "http/support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using snow::testing::child_process;

std::uint16_t announced_port(child_process& demo) {
    constexpr std::string_view prefix = "snow: listening on http://127.0.0.1:";
    auto line =
        demo.wait_for_line([prefix](std::string_view l) { return l.starts_with(prefix); }, 10s);
    REQUIRE_MESSAGE(line.has_value(), "snow_demo did not announce its port; it printed:\n",
                    demo.transcript());
    return static_cast<std::uint16_t>(std::stoul(line->substr(prefix.size())));
}

} // namespace

TEST_SUITE_BEGIN("http.demo");

TEST_CASE("the demo's /ws/echo echoes and /ws/chat reaches every member, compressed, from Python") {
    if (std::system("/usr/bin/python3 -c 'import websockets' 2>/dev/null") != 0) {
        MESSAGE("python3-websockets is not installed (Debian: python3-websockets): skipped");
        return;
    }
    snow::testing::temp_dir dir;
    const std::string script = dir.file("client.py");
    const std::string output = dir.file("out");
    // Bounded: the chat message is re-sent until the first member hears it (its handler
    // may still be subscribing when the second member speaks), at most 50 times.
    std::FILE* f = std::fopen(script.c_str(), "w");
    REQUIRE(f != nullptr);
    std::fputs(R"py(import asyncio, sys, websockets
async def main(port):
    base = f"ws://127.0.0.1:{port}"
    async with websockets.connect(base + "/ws/echo") as ws:
        print("echo-ext", ws.response_headers.get("Sec-WebSocket-Extensions"))
        await ws.send("hello")
        print("echo", await ws.recv())
        long = "hello " * 50
        await ws.send(long)
        print("echo-long", await ws.recv() == long)
    async with websockets.connect(base + "/ws/chat") as a, websockets.connect(base + "/ws/chat") as b:
        print("chat-ext", a.response_headers.get("Sec-WebSocket-Extensions"))
        for _ in range(50):
            await b.send("hi all, " * 8)
            try:
                m = await asyncio.wait_for(a.recv(), 0.2)
                print("chat", m[:6], len(m))
                break
            except asyncio.TimeoutError:
                pass
asyncio.run(main(int(sys.argv[1])))
)py",
               f);
    std::fclose(f);
    snow::testing::require_kernel();
    child_process demo(snow::testing::example("snow_demo"),
                       {"--host", "127.0.0.1", "--port", "0", "--threads", "2"});
    const std::uint16_t port = announced_port(demo);
    const std::string command =
        fmt::format("timeout 30 /usr/bin/python3 {} {} > {} 2>&1", script, port, output);
    const int status = std::system(command.c_str());
    const std::string printed = snow::testing::read_file(output);
    INFO(printed);
    CHECK(status == 0);
    // Python offers permessage-deflate: both routes accept it, the chat room without server
    // context takeover (so a broadcast is compressed once per loop).
    CHECK(printed == "echo-ext permessage-deflate\necho hello\necho-long True\n"
                     "chat-ext permessage-deflate; server_no_context_takeover\nchat hi all 64\n");
}

TEST_CASE("the demo refuses a 100 MiB WebSocket message with 1009, plain and compressed") {
    if (std::system("/usr/bin/python3 -c 'import websockets' 2>/dev/null") != 0) {
        MESSAGE("python3-websockets is not installed (Debian: python3-websockets): skipped");
        return;
    }
    snow::testing::temp_dir dir;
    const std::string script = dir.file("client.py");
    const std::string output = dir.file("out");
    // Plain, the header announces 100 MiB and the demo refuses at once, skipping what follows
    // until the client's close. Compressed, the 100 MiB of one byte are about 100 KiB on the
    // wire, and the demo stops inflating at its 1 MiB limit. Then the demo still echoes.
    std::FILE* f = std::fopen(script.c_str(), "w");
    REQUIRE(f != nullptr);
    std::fputs(R"py(import asyncio, sys, websockets
async def refused(url, compression):
    async with websockets.connect(url, compression=compression, max_size=None) as ws:
        try:
            await ws.send(b"x" * (100 << 20))
            await ws.recv()
        except websockets.ConnectionClosed:
            pass
        await ws.wait_closed()
        print("refused", compression or "plain", ws.close_code)
async def main(port):
    url = f"ws://127.0.0.1:{port}/ws/echo"
    await refused(url, None)
    await refused(url, "deflate")
    async with websockets.connect(url) as ws:
        await ws.send("still here")
        print("echo", await ws.recv())
asyncio.run(main(int(sys.argv[1])))
)py",
               f);
    std::fclose(f);
    snow::testing::require_kernel();
    child_process demo(snow::testing::example("snow_demo"),
                       {"--host", "127.0.0.1", "--port", "0", "--threads", "1"});
    const std::uint16_t port = announced_port(demo);
    const std::string command =
        fmt::format("timeout 60 /usr/bin/python3 {} {} > {} 2>&1", script, port, output);
    const int status = std::system(command.c_str());
    const std::string printed = snow::testing::read_file(output);
    INFO(printed);
    CHECK(status == 0);
    CHECK(printed == "refused plain 1009\nrefused deflate 1009\necho still here\n");
}

TEST_SUITE_END();
