#!/usr/bin/env bash
# bench/profile.sh: user-space instructions per request, counted by callgrind, which is
# repeatable on a noisy shared machine where times are not. The server runs under callgrind
# twice, loaded by wrk for a short and a longer run; the difference of the two totals over
# the difference of the requests is the marginal cost of one request (start-up cancels out).
# Then the functions that take them, from the longer run. With `pipeline`, wrk sends 16
# requests back to back on each connection (bench/load/pipeline.lua).
#   bash bench/profile.sh [snow_demo|limit_http|asio_http] [connections=16] [pipeline]
# SNOW_PROFILE_BINARY=PATH profiles that executable instead of build-release's, under the
# server's name: another build of the same program (bench/experiments.sh: LTO, PGO).
set -euo pipefail
cd "$(dirname "$0")/.."
server=${1:-snow_demo}
connections=${2:-16}
load=()
case ${3:-} in
    '') ;;
    pipeline) load=(-s bench/load/pipeline.lua) ;;
    *) echo "profile.sh: unknown load '$3' (pipeline, or nothing for keep-alive)" >&2; exit 2 ;;
esac
case $server in
    snow_demo) binary=build-release/examples/snow_demo ;;
    limit_http | asio_http) binary=build-release/bench/peers/$server ;;
    *) echo "profile.sh: unknown server '$server'" >&2; exit 2 ;;
esac
binary=${SNOW_PROFILE_BINARY:-$binary}
SNOW_EXTRA_PACKAGES="valgrind wrk" bash scripts/install-deps.sh >/dev/null
[ -x "$binary" ] || { echo "profile.sh: build $binary first (bash bench/run.sh builds it)" >&2; exit 1; }

work=$(mktemp -d)
server_pid=
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"' EXIT

port=21900
measure() { # seconds -> "requests instructions"
    local seconds=$1 out=$work/callgrind.$1
    port=$((port + 1))
    valgrind --tool=callgrind --callgrind-out-file="$out" "$binary" --port "$port" \
        >/dev/null 2>"$work/valgrind.$1" &
    server_pid=$!
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.2
    done
    local requests
    requests=$(wrk -t1 -c"$connections" -d"${seconds}s" "${load[@]}" "http://127.0.0.1:$port/plaintext" |
        awk '/requests in/ {print $1}')
    kill "$server_pid"
    wait "$server_pid" 2>/dev/null || true
    server_pid=
    echo "$requests $(awk '/^(summary|totals):/ {print $2; exit}' "$out")"
}

read -r short_requests short_total < <(measure 2)
read -r long_requests long_total < <(measure 6)
per_request=$(((long_total - short_total) / (long_requests - short_requests)))
echo "$server: $per_request user-space instructions per request" \
    "(callgrind; wrk -c$connections${3:+ $3}, $short_requests and $long_requests requests)"
echo "where they go (longer run, share of all instructions):"
# sed, not head: a pipe closed early would fail this script under pipefail.
callgrind_annotate "$work/callgrind.6" 2>/dev/null | sed -n '/file:function/,$p' |
    grep -E '^ *[0-9,]+ +\(' | sed -n 1,20p |
    sed -E 's/\(anonymous namespace\)/{anon}/g; s/^ *([0-9,]+) +\( *([0-9.]+%)\) +(\?\?\?:)?/\2  /; s/ \[[^]]*\]$//; s/\(.*//' | cut -c1-100
