#!/usr/bin/env bash
# bench/tls_figures.sh: three TLS figures of snow_demo against the issue's targets, apart from
# run.sh (a few minutes, not run.sh's long table): heap per idle TLS connection, bulk TLS
# bytes per second of server CPU, and snow-fetch over https against curl --parallel.
#   bash bench/tls_figures.sh [BUILD_DIR]     (default build; needs snow_demo and snow-fetch)
# The server runs on CPU 0, the clients on CPU 1, as in run.sh. Env: IDLE (connections, 2000),
# BULK_MIB (body size, 64), BULK_REPEAT (8), FETCHES (2000), PARALLEL (64); PARTS picks some of
# idle,bulk,fetch (all by default).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
idle=${IDLE:-2000}
bulk_mib=${BULK_MIB:-64}
bulk_repeat=${BULK_REPEAT:-8}
fetches=${FETCHES:-2000}
parallel=${PARALLEL:-64}
parts=${PARTS:-idle,bulk,fetch}
wants() { [[ ",$parts," == *",$1,"* ]]; }
work=$(mktemp -d)
server_pid=""
cleanup() {
    [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
    [ -z "$server_pid" ] || wait "$server_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)"

# A certificate for 127.0.0.1, made for this run.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=bench \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null

# Starts snow_demo over TLS on CPU 0 with one loop; sets server_pid and port.
start_demo() {
    taskset -c 0 "$build/examples/snow_demo" --host 127.0.0.1 --port 0 --threads 1 \
        --tls-cert "$work/cert.pem" --tls-key "$work/key.pem" --max-body 4294967296 \
        --idle-timeout-ms 600000 --log-level warn "$@" >"$work/demo.out" 2>"$work/demo.err" &
    server_pid=$!
    for _ in $(seq 200); do
        port=$(sed -n 's|^snow: listening on https://127.0.0.1:\([0-9]*\).*|\1|p' "$work/demo.out")
        [ -n "$port" ] && return 0
        sleep 0.05
    done
    echo "snow_demo did not start: $(cat "$work/demo.err")" >&2
    exit 1
}
stop_demo() {
    kill "$server_pid"
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# (a) Idle TLS connections: each handshakes and completes one request, then stays open and
# idle; the server's RSS grows by the heap each one holds (sockets' kernel buffers are not
# in RSS). Target: ≤ 16 KiB each.
if wants idle; then
start_demo
before=$(rss_kib "$server_pid")
taskset -c 1 python3 - "$port" "$idle" "$work/cert.pem" "$server_pid" >"$work/idle.txt" <<'EOF'
import socket, ssl, sys
port, count, ca, pid = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=ca)
held = []
for _ in range(count):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="127.0.0.1")
    s.sendall(b"GET /plaintext HTTP/1.1\r\nHost: bench\r\n\r\n")
    got = b""
    while not got.endswith(b"Hello, World!"):
        got += s.recv(4096)
    held.append(s)
# Every connection is idle now: the server's RSS while they are all held.
with open(f"/proc/{pid}/status") as f:
    print(next(line.split()[1] for line in f if line.startswith("VmRSS:")))
EOF
after=$(cat "$work/idle.txt")
stop_demo
idle_kib=$(awk -v a="$after" -v b="$before" -v n="$idle" 'BEGIN {printf "%.1f", (a - b) / n}')
echo "idle TLS connection: $idle connections, server RSS $before → $after KiB: $idle_kib KiB each (target ≤ 16)"
fi

# (b) Bulk TLS send: GET /bytes/N, a body made in one go and sent over TLS; bytes sent per
# second of server CPU (which includes making the body, a memset). Target: ≥ 1 GB/s per core.
if wants bulk; then
bulk_bytes=$((bulk_mib << 20))
start_demo
ticks_before=$(cpu_ticks "$server_pid")
received=0
for _ in $(seq "$bulk_repeat"); do
    got=$(taskset -c 1 curl -s --cacert "$work/cert.pem" -o /dev/null -w '%{size_download}' \
        "https://127.0.0.1:$port/bytes/$bulk_bytes")
    received=$((received + got))
done
ticks_after=$(cpu_ticks "$server_pid")
stop_demo
awk -v b="$received" -v want="$((bulk_bytes * bulk_repeat))" -v t="$((ticks_after - ticks_before))" -v hz="$hz" \
    -v r="$bulk_repeat" -v m="$bulk_mib" 'BEGIN {
    printf "bulk TLS send: %d× %d MiB (%d of %d bytes arrived) in %d ticks of server CPU: %.2f GB/s per core (target ≥ 1)\n",
        r, m, b, want, t, b / (t / hz) / 1e9 }'
fi

# (c) The same 2,000 https URLs, 64 at a time: snow-fetch, then curl --parallel. Target:
# snow-fetch ≥ 2× as fast. Each client's own CPU time is shown too: on a busy machine the
# wall-clock times measure the scheduler as much as the clients.
wants fetch || exit 0
start_demo
url="https://127.0.0.1:$port/plaintext"
for ((i = 0; i < fetches; i++)); do printf 'url = "%s"\noutput = "/dev/null"\n' "$url"; done >"$work/curl.config"
start=$(date +%s.%N)
/usr/bin/time -o "$work/fetch.time" -f '%U %S' taskset -c 1 "$build/examples/snow-fetch" --cacert "$work/cert.pem" -n "$fetches" \
    --concurrency "$parallel" "$url" >"$work/fetch.out" 2>"$work/fetch.err"
mid=$(date +%s.%N)
/usr/bin/time -o "$work/curl.time" -f '%U %S' taskset -c 1 curl --parallel --parallel-max "$parallel" -s --no-progress-meter --cacert "$work/cert.pem" \
    -w '%{http_code}\n' -K "$work/curl.config" >"$work/curl.out" 2>"$work/curl.err"
end=$(date +%s.%N)
stop_demo
snow_ok=$(grep -c '"status": 200' "$work/fetch.out" || true)
curl_ok=$(grep -cx 200 "$work/curl.out" || true)
read -r fu fs <"$work/fetch.time"
read -r cu cs <"$work/curl.time"
awk -v a="$start" -v b="$mid" -v c="$end" -v n="$fetches" -v s="$snow_ok" -v k="$curl_ok" \
    -v p="$parallel" -v fc="$(awk -v u="$fu" -v s="$fs" 'BEGIN {print u + s}')" \
    -v cc="$(awk -v u="$cu" -v s="$cs" 'BEGIN {print u + s}')" 'BEGIN {
    printf "fetch over https: %d URLs, %d at a time: snow-fetch %.3f s (%d ok, %.2f s CPU), curl --parallel %.3f s (%d ok, %.2f s CPU): %.2f× by wall time, %.2f× by client CPU (target ≥ 2)\n",
        n, p, b - a, s, fc, c - b, k, cc, (c - b) / (b - a), cc / fc }'
