// examples/realtime_page.hpp: the page snow_demo serves at GET /realtime/: a browser's own
// WebSocket and EventSource against the demo's /ws/echo and /events/. Its script writes what it
// saw into the page (and the console), a line each, then "done" or "failed: why"; last it
// broadcasts the page's text to every /events/ stream, where tests/interop/browser_test.cpp,
// which loads the page in a headless browser, reads the outcome.
#pragma once

#include <string_view>

namespace snow::examples {

/// The HTML of GET /realtime/: no outside resources, the script inline.
inline constexpr std::string_view realtime_page = R"html(<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>snow: WebSocket and Server-Sent Events</title>
<h1>WebSocket /ws/echo and EventSource /events/</h1>
<pre id="log"></pre>
<script>
"use strict";
const log = document.getElementById("log");
const say = (line) => { console.log(line); log.textContent += `${line}\n`; };

// The next message on `ws`, or a rejection if the connection ends first.
const next = (ws) => new Promise((resolve, reject) => {
  ws.onmessage = (e) => resolve(e.data);
  ws.onclose = (e) => reject(new Error(`websocket closed (${e.code})`));
});

async function websocket() {
  const ws = new WebSocket(`ws://${location.host}/ws/echo`);
  ws.binaryType = "arraybuffer";
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onclose = () => reject(new Error("websocket did not open"));
  });
  ws.send("hello");
  say(`ws text: ${await next(ws)}`);
  const accented = "h\u00e9llo \u2603 \u{1F30D}"; // two, three and four UTF-8 bytes
  ws.send(accented);
  const unicode = await next(ws);
  say(`ws unicode: ${unicode} ${unicode === accented ? "same" : "different"}`);
  const big = "0123456789abcdef".repeat(4096); // 64 KiB: a 64-bit frame length
  ws.send(big);
  const back = await next(ws);
  say(`ws 64KiB: ${back.length} ${back === big ? "same" : "different"}`);
  ws.send(new Uint8Array([0, 1, 128, 255]));
  say(`ws binary: ${Array.from(new Uint8Array(await next(ws))).join(",")}`);
  const closed = new Promise((resolve) => { ws.onclose = resolve; });
  ws.close(1000, "bye");
  const end = await closed;
  say(`ws close: ${end.code} ${end.wasClean ? "clean" : "unclean"}`);
}

// The stream connects while the WebSocket works.
const source = new EventSource("/events/");
const failed = new Promise((_, reject) => {
  source.onerror = () => reject(new Error("event stream failed"));
});
// The first tick comes once the stream has joined the hub, so a broadcast reaches it.
const tick = new Promise((resolve) => {
  source.addEventListener("tick", (e) => resolve(e), { once: true });
});

async function events() {
  const first = await Promise.race([tick, failed]);
  say(`sse tick: ${first.data} id ${first.lastEventId}`);
  const news = `news ${Date.now()}`;
  const heard = new Promise((resolve) => {
    source.addEventListener("message", (e) => { if (e.data === news) resolve(e.data); });
  });
  const posted = await fetch("/events/", { method: "POST", body: news });
  say(`sse post: ${posted.status}`);
  await Promise.race([heard, failed]);
  say("sse broadcast: received");
}

failed.catch(() => {}); // reported where it is awaited
websocket().then(events).then(() => say("done"), (e) => say(`failed: ${e.message}`))
  .finally(() => {
    source.close();
    return fetch("/events/", { method: "POST", body: `realtime page\n${log.textContent.trimEnd()}` });
  });
</script>
</html>
)html";

} // namespace snow::examples
