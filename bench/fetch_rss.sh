#!/usr/bin/env bash
# bench/fetch_rss.sh: snow-fetch's memory does not grow with the request count. Runs
# `snow-fetch -n N --concurrency 256 --summary json URL` against snow_demo's /plaintext for each
# N (default 10^4, 10^5, 10^6) and records its peak RSS (/usr/bin/time's maximum resident set),
# then the ratio of the largest to the smallest. In the same run, at N = 10^5 (--compare N), it
# sets snow-fetch's summary percentiles beside hey's on the same server. snow_demo runs on CPU 0,
# the client on CPU 1. See bench/README.md, "snow-fetch: memory and percentiles".
#   bash bench/fetch_rss.sh [--counts "10000 100000 1000000"] [--compare N] [--build DIR]
set -euo pipefail
cd "$(dirname "$0")/.."

counts="10000 100000 1000000"
compare=100000
concurrency=256
build=build-release
while [ $# -gt 0 ]; do
    case $1 in
    --counts) counts=${2:?}; shift ;;
    --compare) compare=${2:?}; shift ;;
    --build) build=${2:?}; shift ;;
    -h | --help)
        sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
        echo "  --counts: the request counts, space-separated; --compare 0 skips hey"
        echo "  --build: the build directory holding examples/snow-fetch and snow_demo"
        exit 0 ;;
    *) echo "fetch_rss.sh: unknown option '$1'" >&2; exit 2 ;;
    esac
    shift
done
fetch=$build/examples/snow-fetch
demo=$build/examples/snow_demo
for f in "$fetch" "$demo"; do
    [ -x "$f" ] || { echo "fetch_rss.sh: $f is missing (ninja -C $build ${f#"$build"/})" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "fetch_rss.sh: /usr/bin/time is required (apt-get install time)" >&2; exit 1; }
hey=$(command -v hey || true)
if [ "$compare" != 0 ] && [ -z "$hey" ]; then
    echo "fetch_rss.sh: hey is missing (apt-get install hey); skipping the comparison" >&2
    compare=0
fi

work=$(mktemp -d)
demo_pid=""
cleanup() {
    if [ -n "$demo_pid" ]; then
        kill -TERM "$demo_pid" 2>/dev/null || true
        wait "$demo_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)"

taskset -c 0 "$demo" --host 127.0.0.1 --port 0 </dev/null >"$work/demo.out" 2>"$work/demo.err" &
demo_pid=$!
port=""
for _ in $(seq 100); do
    port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$work/demo.out" | head -1)
    [ -n "$port" ] && break
    sleep 0.05
done
[ -n "$port" ] || { echo "fetch_rss.sh: snow_demo did not start" >&2; cat "$work/demo.err" >&2; exit 1; }
url=http://127.0.0.1:$port/plaintext
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ)  nproc $(nproc)  kernel $(uname -r)  $url"

# A warm-up, so the first measured run does not pay for the server's first allocations.
taskset -c 1 "$fetch" -n 2000 --concurrency "$concurrency" --summary none "$url" >/dev/null

# field NAME: a number from the one-line JSON summary in $work/summary.
field() { grep -o "\"$1\": [0-9.]*" "$work/summary" | head -1 | awk '{print $2}'; }
# percentile SECTION KEY: "p99" of "total_ms" in the summary.
percentile() { sed -n "s/.*\"$1\": {\([^}]*\)}.*/\1/p" "$work/summary" | grep -o "\"$2\": [0-9.]*" | awk '{print $2}'; }

printf '%-9s %9s %9s %10s %12s %9s\n' requests ok seconds req/s peak_RSS_KiB KiB/1k_req
smallest="" largest=""
for n in $counts; do
    # The records go to a pipe that keeps only the summary, as a script reading them would.
    taskset -c 1 /usr/bin/time -f '%M' -o "$work/rss" \
        "$fetch" -n "$n" --concurrency "$concurrency" --summary json "$url" | tail -n 1 >"$work/summary"
    rss=$(tail -n 1 "$work/rss")
    [ -n "$smallest" ] || smallest=$rss
    largest=$rss
    printf '%-9s %9s %9.2f %10.0f %12s %9.2f\n' "$n" "$(field ok)" "$(field seconds)" "$(field rate)" \
        "$rss" "$(awk -v r="$rss" -v n="$n" 'BEGIN {print r * 1000 / n}')"
done
awk -v a="$smallest" -v b="$largest" 'BEGIN {printf "peak RSS, largest count over smallest: %.3f\n", b / a}'

[ "$compare" != 0 ] || exit 0
echo
echo "# $compare requests, concurrency $concurrency, same server: latency in ms"
taskset -c 1 "$fetch" -n "$compare" --concurrency "$concurrency" --summary json "$url" | tail -n 1 >"$work/summary"
taskset -c 1 "$hey" -n "$compare" -c "$concurrency" "$url" >"$work/hey"
# hey prints "  50%% in 0.0012 secs" lines, "Slowest:" and "Requests/sec:", in seconds.
hey_at() { awk -v p="$1" '($1 == p "%" || $1 == p "%%") && $2 == "in" {printf "%.2f", $3 * 1000}' "$work/hey"; }
hey_slowest=$(awk '$1 == "Slowest:" {printf "%.2f", $2 * 1000}' "$work/hey")
hey_rate=$(awk '$1 == "Requests/sec:" {printf "%.0f", $2}' "$work/hey")
hey_ok=$(awk '/\[200\]/ {print $2; exit}' "$work/hey")
printf '%-11s %9s %8s %8s %8s %8s %8s %9s\n' client ok req/s p50 p90 p99 p99.9 max
printf '%-11s %9s %8.0f %8s %8s %8s %8s %9s\n' snow-fetch "$(field ok)" "$(field rate)" \
    "$(percentile total_ms p50)" "$(percentile total_ms p90)" "$(percentile total_ms p99)" \
    "$(percentile total_ms p99.9)" "$(percentile total_ms max)"
printf '%-11s %9s %8s %8s %8s %8s %8s %9s\n' hey "${hey_ok:-0}" "$hey_rate" "$(hey_at 50)" \
    "$(hey_at 90)" "$(hey_at 99)" "-" "$hey_slowest"
