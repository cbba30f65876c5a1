#!/usr/bin/env bash
# Exercises snow_demo with real HTTP clients: curl, python3's http.client and, where installed,
# ab and wrk. Starts the demo itself on a free loopback port (--port 0) and always stops it.
# Usage: scripts/real-clients.sh [BUILD_DIR]     (default build; snow_demo must be built there)
# Installing clients is not this script's job: a missing one is skipped with a message.
# Exits non-zero if any check fails.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${1:-build}
demo="$build/examples/snow_demo"
if [ ! -x "$demo" ]; then
    echo "real-clients: $demo is not built (ninja -C $build examples/snow_demo)" >&2
    exit 2
fi

work=$(mktemp -d)
demo_pid=""
stop_demo() {
    if [ -n "$demo_pid" ] && kill -0 "$demo_pid" 2>/dev/null; then
        kill -TERM "$demo_pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$demo_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$demo_pid" 2>/dev/null || true
    fi
}
cleanup() {
    stop_demo
    jobs -p | xargs -r kill 2>/dev/null || true # background curls of this script only
    rm -rf "$work"
}
trap cleanup EXIT

"$demo" --port 0 >"$work/demo.out" 2>"$work/demo.err" &
demo_pid=$!
port=""
for _ in $(seq 100); do
    port=$(sed -n 's|^snow: listening on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$work/demo.out")
    [ -n "$port" ] && break
    kill -0 "$demo_pid" 2>/dev/null || break
    sleep 0.05
done
if [ -z "$port" ]; then
    echo "real-clients: snow_demo did not start:" >&2
    cat "$work/demo.out" "$work/demo.err" >&2
    exit 1
fi
base="http://127.0.0.1:$port"
echo "real-clients: snow_demo (pid $demo_pid) on $base"

failures=0
passes=0
skips=0
pass() { echo "ok    $1"; passes=$((passes + 1)); }
fail() {
    echo "FAIL  $1"
    [ -n "${2:-}" ] && printf '      got: %s\n' "$2" | head -20
    failures=$((failures + 1))
}
skip() { echo "skip  $1"; skips=$((skips + 1)); }
# expect NAME EXPECTED ACTUAL: exact comparison.
expect() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1 (wanted '$2')" "$3"; fi; }
# expect_match NAME REGEX TEXT: grep -E on TEXT.
expect_match() {
    if grep -Eq -- "$2" <<<"$3"; then pass "$1"; else fail "$1 (wanted /$2/)" "$3"; fi
}

c() { curl -sS --max-time 10 "$@"; }

# --- curl -------------------------------------------------------------------------------
expect "curl GET /index/" "OK" "$(c "$base/index/")"
expect "curl GET /home/" "home" "$(c "$base/home/")"
# The original app's routes are regexes matched at the start of the path (re.match).
expect "curl GET /index/more matches /index/" "OK" "$(c "$base/index/more")"
expect "curl GET /plaintext" "Hello, World!" "$(c "$base/plaintext")"
expect "curl 404 status and body" "404 Not Found" \
    "$(c -o "$work/body" -w '%{http_code}' "$base/no/such/page") $(cat "$work/body")"
expect_match "curl HEAD has Content-Length and no body" '^Content-Length: 2' \
    "$(c -I "$base/index/" | tr -d '\r')"
expect "curl POST /echo" "hello, snow" \
    "$(c --data-binary 'hello, snow' -H 'Content-Type: text/plain' "$base/echo")"
head -c 100000 /dev/urandom | base64 -w 0 >"$work/upload"
expect "curl chunked POST /echo of 133 KB" "$(sha256sum <"$work/upload")" \
    "$(c -H 'Transfer-Encoding: chunked' --data-binary @"$work/upload" "$base/echo" | sha256sum)"
verbose=$(c -v -H 'Expect: 100-continue' --data-binary @"$work/upload" -o "$work/echoed" \
    "$base/echo" 2>&1 | tr -d '\r')
expect_match "curl Expect: 100-continue gets 100 Continue" '^< HTTP/1.1 100 Continue' "$verbose"
expect "curl Expect: 100-continue body echoed" "$(sha256sum <"$work/upload")" \
    "$(sha256sum <"$work/echoed")"
# Two URLs in one curl: the second reuses the connection (num_connects 0).
expect "curl keep-alive: two URLs, one connection" "OK 1|home 0|" \
    "$(c -w ' %{num_connects}|' "$base/index/" "$base/home/")"
expect "curl /stop/ with nothing parked" "404 nothing to stop" \
    "$(c -o "$work/body" -w '%{http_code}' "$base/stop/") $(cat "$work/body")"
c "$base/req/" >"$work/parked" &
parked_pid=$!
sleep 0.3
expect "curl /stop/ resolves a parked /req/" "stop" "$(c "$base/stop/")"
wait "$parked_pid" || true
expect "curl parked /req/ answered done" "done" "$(cat "$work/parked")"

# --- python3 http.client ------------------------------------------------------------------
if command -v python3 >/dev/null; then
    if out=$(python3 - "$port" 2>&1 <<'PY'
import http.client
import sys

port = int(sys.argv[1])
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)

def call(method, path, **kwargs):
    conn.request(method, path, **kwargs)
    response = conn.getresponse()
    return response.status, response.read(), response

status, body, _ = call("GET", "/index/")
assert (status, body) == (200, b"OK"), (status, body)
sock = conn.sock
status, body, r = call("POST", "/echo", body=b"from python", headers={"Content-Type": "text/plain"})
assert (status, body) == (200, b"from python"), (status, body)
assert r.getheader("Content-Type") == "text/plain", r.getheaders()
status, body, _ = call("GET", "/home/")
assert (status, body) == (200, b"home"), (status, body)
assert conn.sock is sock, "the connection was not kept alive"
status, body, _ = call("POST", "/echo", body=iter([b"chunk one, ", b"chunk two"]),
                       encode_chunked=True)
assert (status, body) == (200, b"chunk one, chunk two"), (status, body)
status, body, _ = call("GET", "/missing")
assert (status, body) == (404, b"Not Found"), (status, body)
assert conn.sock is sock, "the connection was not kept alive after a 404"
print("python ok: 5 requests on one connection")
PY
    ); then
        pass "python3 http.client GET, POST, chunked POST, keep-alive ($out)"
    else
        fail "python3 http.client" "$out"
    fi
else
    skip "python3 is not installed"
fi

# --- ab -------------------------------------------------------------------------------------
if command -v ab >/dev/null; then
    out=$(ab -q -k -n 2000 -c 20 "$base/plaintext" 2>&1 || true)
    expect_match "ab -k: 2000 complete" '^Complete requests: +2000$' "$out"
    expect_match "ab -k: no failures" '^Failed requests: +0$' "$out"
    expect_match "ab -k: all kept alive" '^Keep-Alive requests: +2000$' "$out"
    if grep -q '^Non-2xx responses' <<<"$out"; then fail "ab -k: non-2xx responses" "$out"; fi
else
    skip "ab is not installed (apt-get install apache2-utils)"
fi

# --- wrk ------------------------------------------------------------------------------------
if command -v wrk >/dev/null; then
    out=$(wrk -t1 -c64 -d3s "$base/plaintext" 2>&1 || true)
    expect_match "wrk -c64 3s: ran" 'Requests/sec: +[0-9]' "$out"
    if grep -Eq 'Socket errors|Non-2xx' <<<"$out"; then
        fail "wrk: errors" "$out"
    else
        pass "wrk: no socket errors, no non-2xx"
    fi
    echo "      $(grep -E 'requests in|Requests/sec' <<<"$out" | tr -s ' ' | paste -sd ';' -)"
else
    skip "wrk is not installed (apt-get install wrk)"
fi

# --- stop -----------------------------------------------------------------------------------
expect "demo still answers after the load" "OK" "$(c "$base/index/")"
kill -TERM "$demo_pid"
status=0
wait "$demo_pid" || status=$?
demo_pid=""
expect "SIGTERM: demo exits 0" "0" "$status"
expect_match "SIGTERM: demo says it is stopping" 'SIGTERM received, stopping' \
    "$(cat "$work/demo.err")"

echo "$passes passed, $failures failed, $skips skipped"
[ "$failures" -eq 0 ]
