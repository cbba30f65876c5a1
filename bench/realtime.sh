#!/usr/bin/env bash
# bench/realtime.sh: WebSocket and Server-Sent Events figures, snow beside its peers in one
# run: memory per idle connection (10,000 WebSockets on /ws/echo, 10,000 event streams on
# /events/; snow_demo, Python's websockets 10.4 and Go's golang.org/x/net/websocket and
# net/http), server CPU per 64-byte WebSocket echo
# against snow's raw TCP echo (64 connections), and the time a 1 KiB broadcast takes to reach
# 10,000 subscribers (/ws/chat and the /events/ hub). Servers run on CPU 0, load on CPU 1.
# Not run by CI. See bench/README.md. --build-dir reads the binaries of another release build
# (with --no-build it is only read); --memory-only stops after the memory figures.
#   bash bench/realtime.sh [--seconds N] [--rounds N] [--count N] [--runs N] [--no-build]
#                          [--build-dir DIR] [--memory-only]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
B=$root/build-release
python=/usr/bin/python3
seconds=5
count=10000
runs=5
rounds=2
build=1
memory_only=0
while [ $# -gt 0 ]; do
    case $1 in
    --seconds) seconds=${2:?}; shift ;;
    --count) count=${2:?}; shift ;;
    --runs) runs=${2:?}; shift ;;
    --rounds) rounds=${2:?}; shift ;;
    --no-build) build=0 ;;
    --build-dir) B=$(realpath "${2:?}"); shift ;;
    --memory-only) memory_only=1 ;;
    -h | --help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "realtime.sh: unknown option '$1'" >&2; exit 2 ;;
    esac
    shift
done
say() { printf '[%4ds] %s\n' "$SECONDS" "$*" >&2; }
results=$root/bench/results/realtime-$(date +%Y-%m-%dT%H%M%S)
mkdir -p "$results"

if [ "$build" = 1 ]; then
    say "building in $B (log: $results/build.log)"
    [ -f "$B/build.ninja" ] || meson setup "$B" --buildtype=release >"$results/build.log" 2>&1
    ninja -C "$B" examples/snow_demo examples/echo_server bench/load/realtime_load \
        bench/load/hold_connections bench/load/echo_load >>"$results/build.log" 2>&1 ||
        { tail -20 "$results/build.log" >&2; exit 1; }
fi

declare -A live=()
cleanup() { local pid; for pid in "${!live[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
ticks_per_second=$(getconf CLK_TCK)

# start NAME CMD...: runs CMD on CPU 0 with the descriptor limit raised, waits until it
# prints the port line; sets pid and port (the first number of 4 or 5 digits in that line).
starts=0
start() {
    local name=$1; shift
    starts=$((starts + 1))
    log=$results/$name.$starts.log # a log of its own: port_of reads this start's port
    ( ulimit -n "$(ulimit -Hn)"; exec taskset -c 0 "$@" ) </dev/null >"$log" 2>&1 &
    pid=$!
    live[$pid]=1
    for _ in $(seq 100); do
        grep -q 'listening' "$log" 2>/dev/null && break
        sleep 0.05
    done
    grep -q 'listening' "$log" || { echo "realtime.sh: $name did not start ($log)" >&2; exit 1; }
    sleep 0.3
}
stop() { kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; unset "live[$pid]"; }
port_of() { grep -o 'listening[^0-9]*[0-9.]*:\?[0-9]\+' "$log" | grep -o '[0-9]\+$' | head -1; }

# idle_rss ID PORT REQUEST: KiB per connection of the server $pid while $count connections
# that sent REQUEST are held (RSS read once it has stopped growing).
idle_rss() {
    local id=$1 at=$2 request=$3 before after last fifo=$results/hold.fifo hold_pid
    before=$(rss_kib "$pid")
    rm -f "$fifo"; mkfifo "$fifo"
    exec {fifo_fd}<>"$fifo"
    ( exec {fifo_fd}>&-; ulimit -n "$(ulimit -Hn)"
      exec taskset -c 1 "$B/bench/load/hold_connections" --port "$at" --count "$count" \
          --request "$request" --wait-response 0 ) <"$fifo" >"$results/$id.hold" 2>&1 &
    hold_pid=$!
    for _ in $(seq 1200); do
        grep -q '^held' "$results/$id.hold" && break
        kill -0 "$hold_pid" 2>/dev/null || break
        sleep 0.05
    done
    grep -q '^held' "$results/$id.hold" || { echo "realtime.sh: $id: not held" >&2; cat "$results/$id.hold" >&2; exit 1; }
    last=0 after=$(rss_kib "$pid")
    for _ in $(seq 50); do # until two readings 0.3 s apart agree within 64 KiB
        sleep 0.3; last=$after; after=$(rss_kib "$pid")
        [ $((after - last)) -lt 64 ] && [ $((last - after)) -lt 64 ] && break
    done
    kill -TERM "$hold_pid" 2>/dev/null || true; wait "$hold_pid" 2>/dev/null || true
    exec {fifo_fd}>&-; rm -f "$fifo"
    awk -v a="$after" -v b="$before" -v n="$count" 'BEGIN {printf "%.2f", (a - b) * 1024 / n / 1024}'
}

ws_request='GET /ws/echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'
sse_request='GET /events/ HTTP/1.1\r\nHost: x\r\n\r\n'

# --- a. memory per idle connection
say "a. $count idle WebSockets and $count idle event streams: snow_demo"
# A fresh server for each figure: memory freed by the first would be reused by the second.
start snow_demo "$B/examples/snow_demo" --port 0
snow_ws_kib=$(idle_rss snow-ws "$(port_of)" "$ws_request")
stop
start snow_demo "$B/examples/snow_demo" --port 0
snow_sse_kib=$(idle_rss snow-sse "$(port_of)" "$sse_request")
stop
say "a. the same on Python websockets $($python -c 'import websockets; print(websockets.__version__)') and asyncio"
start python "$python" bench/peers/realtime_py.py --port 23100 --sse-port 23101
py_ws_kib=$(idle_rss py-ws 23100 "$ws_request")
stop
start python "$python" bench/peers/realtime_py.py --port 23102 --sse-port 23103
py_sse_kib=$(idle_rss py-sse 23103 "$sse_request")
stop

# The Go peer, built in GOPATH mode against Debian's golang-golang-x-net-dev (offline), into
# this run's results directory; skipped, its figures "-", when Go or the package is missing.
go_ws_kib=- go_sse_kib=-
go_built=0
if ! command -v go >/dev/null; then
    say "a. Go peer skipped: no go on PATH"
elif [ ! -d /usr/share/gocode/src/golang.org/x/net/websocket ]; then
    say "a. Go peer skipped: golang.org/x/net/websocket missing (apt-get install golang-golang-x-net-dev)"
else
    GO111MODULE=off GOPATH=/usr/share/gocode GOPROXY=off GOCACHE="$results/go-cache" \
        go build -o "$results/realtime_go" ./bench/peers/realtime_go >"$results/go-build.log" 2>&1 &&
        go_built=1
    rm -rf "$results/go-cache"
    [ "$go_built" = 1 ] || say "a. Go peer skipped: it did not build ($results/go-build.log)"
fi
if [ "$go_built" = 1 ]; then
    say "a. the same on $(go version | cut -d' ' -f3) golang.org/x/net/websocket and net/http"
    go_port() { grep -o '127\.0\.0\.1:[0-9]\+' "$log" | sed -n "${1}p" | cut -d: -f2; } # 1: WebSocket, 2: events
    start go "$results/realtime_go" -port 0 -sse-port 0
    go_ws_kib=$(idle_rss go-ws "$(go_port 1)" "$ws_request")
    stop
    start go "$results/realtime_go" -port 0 -sse-port 0
    go_sse_kib=$(idle_rss go-sse "$(go_port 2)" "$sse_request")
    stop
fi

ratio() { [ "$2" = - ] && { echo -; return; }; awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
memory_table() {
    echo "| figure | snow | Python websockets / asyncio | snow / Python | Go x/net/websocket / net/http | snow / Go |"
    echo "|---|---|---|---|---|---|"
    echo "| KiB per idle WebSocket ($count, /ws/echo) | $snow_ws_kib | $py_ws_kib | $(ratio "$snow_ws_kib" "$py_ws_kib") | $go_ws_kib | $(ratio "$snow_ws_kib" "$go_ws_kib") |"
    echo "| KiB per idle event stream ($count, /events/) | $snow_sse_kib | $py_sse_kib | $(ratio "$snow_sse_kib" "$py_sse_kib") | $go_sse_kib | $(ratio "$snow_sse_kib" "$go_sse_kib") |"
}
heading() { echo "bench/realtime.sh, $(date -u +%Y-%m-%d), $(uname -r), $(nproc) CPUs"; echo; }
if [ "$memory_only" = 1 ]; then
    { heading; memory_table; } | tee "$results/table.md"
    exit 0
fi

# --- b. CPU per 64-byte echo, WebSocket against raw TCP, 64 connections; A B A B, summed
echo_run() { # ID CMD...: prints "<server ticks> <round trips>" of the load CMD... on $pid
    local id=$1 before after; shift
    before=$(cpu_ticks "$pid")
    taskset -c 1 "$@" >"$results/$id.txt" 2>&1
    after=$(cpu_ticks "$pid")
    echo "$((after - before)) $(grep -o 'round_trips=[0-9]*' "$results/$id.txt" | cut -d= -f2)"
}
say "b. 64-byte echo over 64 connections, $rounds x $seconds s each: WebSocket on snow_demo, TCP on echo_server"
ws_ticks=0 ws_trips=0 tcp_ticks=0 tcp_trips=0
for round in $(seq "$rounds"); do
    start snow_demo "$B/examples/snow_demo" --port 0
    read -r t n < <(echo_run ws-echo.$round "$B/bench/load/realtime_load" echo --port "$(port_of)" \
        --path /ws/echo --connections 64 --size 64 --seconds "$seconds")
    ws_ticks=$((ws_ticks + t)) ws_trips=$((ws_trips + n))
    stop
    start echo_server "$B/examples/echo_server" --port 0
    read -r t n < <(echo_run tcp-echo.$round "$B/bench/load/echo_load" --port "$(port_of)" \
        --connections 64 --size 64 --seconds "$seconds" --warmup-seconds 0)
    tcp_ticks=$((tcp_ticks + t)) tcp_trips=$((tcp_trips + n))
    stop
done
per_message() { awk -v t="$1" -v hz="$ticks_per_second" -v n="$2" 'BEGIN {printf "%.2f", t * 1e6 / hz / n}'; }
ws_us=$(per_message "$ws_ticks" "$ws_trips")
tcp_us=$(per_message "$tcp_ticks" "$tcp_trips")

# --- c. one 1 KiB message to $count subscribers
say "c. a 1 KiB broadcast to $count subscribers, $runs runs each: /ws/chat and /events/"
start snow_demo "$B/examples/snow_demo" --port 0
p=$(port_of)
taskset -c 1 "$B/bench/load/realtime_load" broadcast --port "$p" --path /ws/chat --count "$count" \
    --size 1024 --runs "$runs" >"$results/broadcast-ws.txt" 2>&1
taskset -c 1 "$B/bench/load/realtime_load" broadcast --port "$p" --path /events/ --sse 1 \
    --count "$count" --size 1024 --runs "$runs" >"$results/broadcast-sse.txt" 2>&1
stop
ws_ms=$(grep -o 'median_ms=[0-9.]*' "$results/broadcast-ws.txt" | cut -d= -f2)
sse_ms=$(grep -o 'median_ms=[0-9.]*' "$results/broadcast-sse.txt" | cut -d= -f2)

{
    heading
    memory_table
    echo
    echo "| 64-byte echo, 64 connections | server CPU µs per message | messages | ratio to TCP |"
    echo "|---|---|---|---|"
    echo "| WebSocket (snow_demo /ws/echo) | $ws_us | $ws_trips | $(ratio "$ws_us" "$tcp_us") |"
    echo "| raw TCP (echo_server) | $tcp_us | $tcp_trips | 1.00 |"
    echo
    echo "| 1 KiB broadcast to $count subscribers | median ms until the last has it ($runs runs) |"
    echo "|---|---|"
    echo "| WebSocket (/ws/chat, websocket_hub) | $ws_ms |"
    echo "| Server-Sent Events (/events/, event_hub) | $sse_ms |"
} | tee "$results/table.md"
