#!/usr/bin/env bash
# bench/scaling.sh: how HTTP throughput grows with server threads. For N = 1 … nproc-1 the
# server runs on CPUs 0..N-1 and wrk on the rest (taskset); a last row N = nproc shares the
# last CPU with wrk (on 2 cores: 1 thread on CPU 0 with wrk on CPU 1, then 2 threads with wrk
# sharing CPU 1). Servers: snow_demo (kernel hash), snow_demo --pin 1 (loop i on CPU i, SYNs
# steered by CPU) and nginx (worker_processes N, reuseport), each as available. Prints
# threads, req/s, server CPU µs per request, the ratio to its own 1-thread row, and each busy
# thread's share of a CPU. See bench/README.md, "Scaling over cores".
#   bash bench/scaling.sh [--seconds N] [--connections N] [--servers LIST] [--binary PATH]
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=5
connections=64
servers="snow,snow-pin,nginx"
binary=build-release/examples/snow_demo
while [ $# -gt 0 ]; do
    case $1 in
    --seconds) seconds=${2:?}; shift ;;
    --connections) connections=${2:?}; shift ;;
    --servers) servers=${2:?}; shift ;;
    --binary) binary=${2:?}; shift ;;
    -h | --help)
        sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
        echo "  --servers: comma-separated from snow,snow-pin,nginx (default all)"
        echo "  --binary: the snow_demo to run (default $binary; built there if missing)"
        exit 0 ;;
    *) echo "scaling.sh: unknown option '$1'" >&2; exit 2 ;;
    esac
    shift
done
export PATH="$PATH:/usr/sbin"
for tool in wrk taskset; do
    command -v "$tool" >/dev/null || { echo "scaling.sh: $tool is required (apt-get install wrk util-linux)" >&2; exit 1; }
done
if [ ! -x "$binary" ] && [ "$binary" = build-release/examples/snow_demo ]; then
    echo "building $binary" >&2
    [ -f build-release/build.ninja ] || meson setup build-release --buildtype=release >/dev/null
    ninja -C build-release examples/snow_demo >/dev/null
fi
[ -x "$binary" ] || { echo "scaling.sh: $binary is missing" >&2; exit 1; }

cpus=$(nproc)
tck=$(getconf CLK_TCK)
work=$(mktemp -d)
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

port_busy() { # port → 0 while any socket (even TIME_WAIT) uses it
    awk -v p=":$(printf '%04X' "$1")" 'FNR > 1 && substr($2, length($2) - 4) == p {f = 1} END {exit !f}' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
port_listening() {
    awk -v p=":$(printf '%04X' "$1")" 'FNR > 1 && substr($2, length($2) - 4) == p && $4 == "0A" {f = 1} END {exit !f}' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
next_port=22000
pids_of() { # the server's processes: itself and its children (nginx's workers)
    echo "$1"
    pgrep -P "$1" || true
}
thread_ticks() { # pid… → "tid ticks" per thread of each (utime + stime, stat fields 14, 15)
    local pid stat tid
    for pid in "$@"; do
        for stat in /proc/"$pid"/task/*/stat; do
            tid=${stat%/stat}; tid=${tid##*/}
            sed 's/.*) //' "$stat" 2>/dev/null | awk -v t="$tid" '{print t, $12 + $13}'
        done
    done | LC_ALL=C sort
}
span() { if [ "$1" = "$2" ]; then echo "$1"; else echo "$1-$2"; fi; } # taskset's CPU list
grouped() { sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$1"; } # 1234567 → 1,234,567

# run_one NAME THREADS → one table row
run_one() {
    local name=$1 n=$2 server_cpus wrk_cpus wrk_threads shared=""
    if [ "$n" -lt "$cpus" ]; then
        server_cpus=$(span 0 $((n - 1))); wrk_cpus=$(span "$n" $((cpus - 1))); wrk_threads=$((cpus - n))
    else # every CPU has a loop: wrk shares the last one
        server_cpus=$(span 0 $((cpus - 1))); wrk_cpus=$((cpus - 1)); wrk_threads=1
        shared="(wrk shares CPU $((cpus - 1)))"
    fi
    while port_busy "$next_port"; do next_port=$((next_port + 1)); done
    local port=$next_port
    next_port=$((next_port + 1))
    local cmd
    case $name in
    snow) cmd=("$binary" --port "$port" --threads "$n") ;;
    snow-pin) cmd=("$binary" --port "$port" --threads "$n" --pin 1) ;;
    nginx)
        mkdir -p "$work/nginx.$port"
        sed -e "s|PORT|$port|" -e "s|RUNDIR|$work/nginx.$port|g" \
            -e "s/worker_processes [0-9]*/worker_processes $n/" bench/peers/nginx.conf >"$work/nginx.$port/nginx.conf"
        cmd=(nginx -c "$work/nginx.$port/nginx.conf") ;;
    esac
    taskset -c "$server_cpus" "${cmd[@]}" </dev/null >"$work/$name.$n.log" 2>&1 &
    server_pid=$!
    local i
    for i in $(seq 100); do
        port_listening "$port" && break
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.05
    done
    if ! port_listening "$port"; then
        printf '%-9s %7s  %-17s failed to start: %s\n' "$name" "$n" "$server_cpus / $wrk_cpus" \
            "$(tail -c 150 "$work/$name.$n.log" | tr '\n' ' ')"
        kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; server_pid=""
        return
    fi
    sleep 0.3 # nginx's workers start after its master listens
    local pids before after out=$work/wrk.$name.$n.txt
    read -r -a pids <<<"$(pids_of "$server_pid" | tr '\n' ' ')"
    before=$(thread_ticks "${pids[@]}")
    taskset -c "$wrk_cpus" wrk -t"$wrk_threads" -c"$((connections > wrk_threads ? connections : wrk_threads))" \
        -d"${seconds}s" "http://127.0.0.1:$port/plaintext" >"$out" 2>&1 || true
    after=$(thread_ticks "${pids[@]}")
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""

    local requests rate errors ticks busy
    requests=$(awk '/requests in/ {print $1}' "$out")
    rate=$(awk '/^Requests\/sec/ {printf "%d", $2}' "$out")
    errors=$(awk '/Non-2xx|Socket errors/ {print}' "$out" | tr '\n' ' ')
    # Per thread: ticks during the run; the total, and each thread's share of one CPU.
    ticks=$(LC_ALL=C join <(echo "$before") <(echo "$after") | awk '{t += $3 - $2} END {print t + 0}')
    busy=$(LC_ALL=C join <(echo "$before") <(echo "$after") |
        awk -v s="$seconds" -v hz="$tck" '{d = ($3 - $2) * 100 / (s * hz); if (d >= 5) printf "%d\n", d}' |
        sort -rn | paste -sd' ')
    if [ -z "$requests" ] || [ "${rate:-0}" = 0 ]; then
        printf '%-9s %7s  %-17s wrk failed: %s\n' "$name" "$n" "$server_cpus / $wrk_cpus" "$(tail -c 150 "$out" | tr '\n' ' ')"
        return
    fi
    [ "$n" = 1 ] && base[$name]=$rate
    local us ratio
    us=$(awk -v t="$ticks" -v hz="$tck" -v r="$requests" 'BEGIN {printf "%.2f", t / hz * 1e6 / r}')
    ratio=$(awk -v a="$rate" -v b="${base[$name]:-0}" 'BEGIN {if (b > 0) printf "%.2fx", a / b; else print "-"}')
    printf '%-9s %7s  %-17s %10s %10s %7s  %-12s %s%s\n' "$name" "$n" "$server_cpus / $wrk_cpus" \
        "$(grouped "$rate")" "$us" "$ratio" "${busy:--}" "$shared" "${errors:+  ($errors)}"
}

declare -A base=()
echo "scaling: $(date -Iseconds)  nproc $cpus  kernel $(uname -r)  $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
echo "wrk -c$connections, $seconds s per run, /plaintext on 127.0.0.1; ratio = req/s ÷ the same server's 1-thread row"
echo "busy % = each server thread's share of one CPU (threads under 5 % left out)"
printf '%-9s %7s  %-17s %10s %10s %7s  %s\n' server threads "CPUs server/wrk" req/s "CPU µs/req" ratio "busy %"
IFS=, read -r -a wanted <<<"$servers"
for name in "${wanted[@]}"; do
    if [ "$name" = nginx ] && ! command -v nginx >/dev/null; then
        echo "nginx     skipped: not installed (apt-get install nginx-light)"
        continue
    fi
    last=$((cpus > 1 ? cpus - 1 : 1))
    for n in $(seq 1 "$last"); do run_one "$name" "$n"; done
    [ "$cpus" -gt 1 ] && run_one "$name" "$cpus"
done
