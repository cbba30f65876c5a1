#!/usr/bin/env bash
# Side-by-side /plaintext keep-alive load: snow_demo and nginx, each pinned to CPU 0 with
# wrk pinned to CPU 1, alternated A B A B so drift hits both alike. Prints req/s, the
# server's CPU time per request, and the ratios snow / nginx.
#   bash bench/plaintext.sh [connections=64] [seconds=5] [rounds=2]
set -euo pipefail
cd "$(dirname "$0")/.."
connections=${1:-64}
seconds=${2:-5}
rounds=${3:-2}
SNOW_EXTRA_PACKAGES="nginx-light wrk" bash scripts/install-deps.sh
[ -d build-release ] || meson setup build-release --buildtype=release >/dev/null
ninja -C build-release examples/snow_demo >/dev/null

run_dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$run_dir"' EXIT
port_snow=18012
port_nginx=18080
sed -e "s|PORT|$port_nginx|" -e "s|RUNDIR|$run_dir|g" bench/peers/nginx.conf > "$run_dir/nginx.conf"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

measure() { # name pid port
    local name=$1 pid=$2 port=$3
    local before after out rps requests
    before=$(cpu_ticks "$pid")
    out=$(taskset -c 1 wrk -t1 -c"$connections" -d"${seconds}s" --latency "http://127.0.0.1:$port/plaintext")
    after=$(cpu_ticks "$pid")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    requests=$(awk '/requests in/ {print $1}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    local ticks=$((after - before))
    local hz; hz=$(getconf CLK_TCK)
    local us_per_request; us_per_request=$(awk -v t="$ticks" -v hz="$hz" -v n="$requests" 'BEGIN {printf "%.2f", t / hz * 1e6 / n}')
    printf '%-6s %12s req/s  p99 %-8s  server CPU %6s us/request\n' "$name" "$rps" "$p99" "$us_per_request"
    echo "$name $rps $us_per_request" >> "$run_dir/results"
}

for round in $(seq 1 "$rounds"); do
    taskset -c 0 build-release/examples/snow_demo --port "$port_snow" > /dev/null &
    snow_pid=$!
    sleep 0.5
    measure snow "$snow_pid" "$port_snow"
    kill "$snow_pid"; wait "$snow_pid" 2>/dev/null || true

    taskset -c 0 nginx -c "$run_dir/nginx.conf" &
    nginx_pid=$!
    sleep 0.5
    worker=$(pgrep -P "$nginx_pid" | head -1)
    measure nginx "${worker:-$nginx_pid}" "$port_nginx"
    kill "$nginx_pid"; wait "$nginx_pid" 2>/dev/null || true
done

awk '{rps[$1] += $2; cpu[$1] += $3; n[$1]++}
     END {printf "snow/nginx: req/s %.2fx, server CPU per request %.2fx\n",
          (rps["snow"]/n["snow"]) / (rps["nginx"]/n["nginx"]), (cpu["snow"]/n["snow"]) / (cpu["nginx"]/n["nginx"])}' "$run_dir/results"
