#!/usr/bin/env bash
# bench/run.sh: the one-command benchmark. Installs what is missing, builds snow and its peers
# in release, then measures snow against them in the same run: HTTP /plaintext (keep-alive and
# pipelined), TCP echo, memory per idle connection / parked request / sleeping coroutine, and
# snow-fetch against curl. Every server runs alone on CPU 0, the load on CPU 1; peers are
# alternated A B A B. Prints one table and writes bench/results/<date>/ (results.json, a plot,
# every raw output). See bench/README.md.
#   bash bench/run.sh [--quick] [--seconds N] [--rounds N] [--only LIST] [--servers LIST]
#                     [--also 'NAME=PATH [ARGS]' ...]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

usage() {
    cat <<'EOF'
usage: bash bench/run.sh [options]
  --quick           smoke run (about 2 minutes): 2 s per run, 1 round
  --seconds N       seconds per load run (default 5)
  --rounds N        rounds of A B A B alternation (default 2)
  --only LIST       workloads, comma-separated: http,pipeline,https,echo,memory,client
                    (default all)
  --servers LIST    only these servers/clients, comma-separated (e.g. snow_demo,nginx)
  --also 'NAME=PATH [ARGS]'
                    one more HTTP server, measured beside snow_demo with its flags plus
                    ARGS (split at spaces): another build of snow_demo (an earlier commit,
                    -Dframe_allocator=false), the same one with an opt-in flag
                    ('sqpoll=build-release/examples/snow_demo --sqpoll 1'), or limit_http with
                    one ('limit_ff=build-release/bench/peers/limit_http --fixed-files');
                    repeatable
  --jobs N          ninja -j N for the build (default: ninja's choice)
  --no-install      do not install missing Debian packages
  --no-build        use the binaries already in build-release
  -h, --help        this text
EOF
}

seconds=5
rounds=2
only="http,pipeline,https,echo,memory,client"
servers_filter=""
declare -A extra_bin=()  # --also: name → a snow_demo built elsewhere, or a peer
declare -A extra_args=() # --also: name → the flags it runs with beyond --port
extra_names=()
jobs=""
install=1
build=1
while [ $# -gt 0 ]; do
    case $1 in
    --quick) seconds=2; rounds=1 ;;
    --seconds) seconds=${2:?--seconds needs a value}; shift ;;
    --rounds) rounds=${2:?--rounds needs a value}; shift ;;
    --only) only=${2:?--only needs a value}; shift ;;
    --servers) servers_filter=${2:?--servers needs a value}; shift ;;
    --also)
        also=${2:?--also needs NAME=PATH}; shift
        [[ $also == *=* ]] || { echo "run.sh: --also wants 'NAME=PATH [ARGS]'" >&2; exit 2; }
        read -ra also_words <<<"${also#*=}"
        [ ${#also_words[@]} -gt 0 ] || { echo "run.sh: --also ${also%%=*}= needs a PATH" >&2; exit 2; }
        extra_bin[${also%%=*}]=$(realpath "${also_words[0]}")
        extra_args[${also%%=*}]="${also_words[*]:1}"
        extra_names+=("${also%%=*}") ;;
    --jobs) jobs=${2:?--jobs needs a value}; shift ;;
    --no-install) install=0 ;;
    --no-build) build=0 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
[[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 ]] || { echo "run.sh: --seconds wants a whole number > 0" >&2; exit 2; }
[[ $rounds =~ ^[0-9]+$ && $rounds -gt 0 ]] || { echo "run.sh: --rounds wants a whole number > 0" >&2; exit 2; }

wants() { [[ ",$only," == *",$1,"* ]]; }
wants_server() { [ -z "$servers_filter" ] || [[ ",$servers_filter," == *",$1,"* ]]; }
say() { printf '[%4ds] %s\n' "$SECONDS" "$*" >&2; }

# The counts are fixed by the issue; --quick shortens runs, not the memory figures.
hold_count=10000
sleeper_count=1000000
fetch_count=10000
fetch_concurrency=256
http_servers=(snow_demo "${extra_names[@]}" limit_http nginx asio_http go_http)
echo_servers=(echo_server limit_echo go_echo)
memory_servers=(snow_demo "${extra_names[@]}" nginx asio_http go_http)
https_servers=(snow_demo "${extra_names[@]}" nginx)

B=$root/build-release
python=/usr/bin/python3
[ -x "$python" ] || python=python3

# --- 1. packages and build ------------------------------------------------------------------
if [ "$install" = 1 ]; then
    extra="wrk gnuplot-nox golang-go libboost1.81-dev curl hey openssl"
    command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || extra="nginx-light $extra"
    boost_before=$(dpkg-query -W -f='${Status}' libboost1.81-dev 2>/dev/null || true)
    say "checking packages: $extra"
    if ! SNOW_EXTRA_PACKAGES="$extra" bash scripts/install-deps.sh; then
        say "warning: some packages could not be installed; peers that need them are skipped"
    fi
    boost_after=$(dpkg-query -W -f='${Status}' libboost1.81-dev 2>/dev/null || true)
fi
export PATH="$PATH:/usr/sbin:/usr/local/go/bin"
for tool in wrk taskset; do
    command -v "$tool" >/dev/null || { echo "run.sh: $tool is required" >&2; exit 1; }
done

stamp=$(date +%Y-%m-%dT%H%M%S)
results=$root/bench/results/$stamp
logs=$results/logs
mkdir -p "$logs"
ln -sfn "$stamp" "$root/bench/results/latest"
raw=$logs/raw.tsv
: >"$raw"

declare -A note=()    # server name → why it is skipped
declare -A unbuilt=() # server name → 1 if this run could not build it: an old binary is not used
snow_targets=(examples/snow_demo examples/echo_server examples/snow-fetch
              bench/load/echo_load bench/load/hold_connections bench/load/sleepers
              bench/peers/limit_http bench/peers/limit_echo bench/peers/asio_http)
if [ "$build" = 1 ]; then
    say "building snow and the peers in build-release (log: $logs/build.log)"
    if [ ! -f "$B/build.ninja" ]; then
        meson setup "$B" --buildtype=release >"$logs/build.log" 2>&1 ||
            { tail -20 "$logs/build.log" >&2; echo "run.sh: meson setup failed" >&2; exit 1; }
    elif [ "$install" = 1 ] && [ "$boost_before" != "$boost_after" ]; then
        meson setup --reconfigure "$B" >>"$logs/build.log" 2>&1 || true # pick up Boost
    fi
    ninja_args=(-C "$B")
    [ -n "$jobs" ] && ninja_args+=(-j "$jobs")
    # Regenerate first, so the target list below is the current one.
    ninja "${ninja_args[@]}" build.ninja >>"$logs/build.log" 2>&1 || true
    available=$(ninja -C "$B" -t targets all 2>/dev/null | cut -d: -f1)
    present=()
    for t in "${snow_targets[@]}"; do
        if grep -qx "$t" <<<"$available"; then
            present+=("$t")
        else
            note[${t##*/}]="not a build target (asio_http needs libboost1.81-dev)"
            unbuilt[${t##*/}]=1
        fi
    done
    # One build first; if it fails, target by target, so one broken peer skips only itself.
    if ! ninja "${ninja_args[@]}" "${present[@]}" >>"$logs/build.log" 2>&1; then
        say "warning: the build failed; building target by target"
        for t in "${present[@]}"; do
            ninja "${ninja_args[@]}" "$t" >>"$logs/build.log" 2>&1 ||
                { note[${t##*/}]="build failed (logs/build.log)"; unbuilt[${t##*/}]=1; }
        done
    fi
    # The Go peers: GOMAXPROCS=1 at run time; no module downloads.
    for p in http echo; do
        if ! command -v go >/dev/null; then
            note[go_$p]="go not installed (golang-go)"
        elif [ ! -f bench/peers/go/go.mod ] || [ ! -d "bench/peers/go/$p" ]; then
            note[go_$p]="sources missing (bench/peers/go/$p)"
        elif ! (cd bench/peers/go && GOPROXY=off GOFLAGS=-mod=mod go build -o "$B/bench/peers/go_$p" "./$p") \
            >>"$logs/build.log" 2>&1; then
            note[go_$p]="go build failed (logs/build.log)"
        fi
        [ -z "${note[go_$p]:-}" ] || unbuilt[go_$p]=1
    done
fi

binary() { # server name → its executable (may not exist)
    if [ -n "${extra_bin[$1]:-}" ]; then echo "${extra_bin[$1]}"; return; fi
    case $1 in
    snow_demo | echo_server | snow-fetch) echo "$B/examples/$1" ;;
    echo_load | hold_connections | sleepers) echo "$B/bench/load/$1" ;;
    nginx) command -v nginx || echo /usr/sbin/nginx ;;
    curl) command -v curl || echo /usr/bin/curl ;;
    hey) command -v hey || echo /usr/bin/hey ;;
    *) echo "$B/bench/peers/$1" ;;
    esac
}
available() { # name → 0 if runnable, else records why not
    local path; path=$(binary "$1")
    [ -z "${unbuilt[$1]:-}" ] && [ -x "$path" ] && return 0
    [ -n "${note[$1]:-}" ] || note[$1]="binary missing (${path#"$root"/})"
    return 1
}

# --- 2. process control ------------------------------------------------------------------------
declare -A live=() # PIDs this script started and has not reaped
cleanup() {
    local pid
    for pid in "${!live[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${!live[@]}"; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do gone "$pid" && break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

gone() { # pid → 0 once it has exited (a zombie counts as gone)
    local state
    state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 0
    [ -z "$state" ] || [ "$state" = Z ]
}
stop_pid() { # pid: SIGTERM, up to 5 s, then SIGKILL; reap it
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do gone "$pid" && break; sleep 0.1; done
    gone "$pid" || { say "warning: $pid ignored SIGTERM; killing it"; kill -KILL "$pid" 2>/dev/null || true; }
    wait "$pid" 2>/dev/null || true
    unset "live[$pid]"
}
cpu_ticks() { # utime + stime of the whole process, in clock ticks (stat fields 14 and 15)
    sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12 + $13}'
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
port_state() { # port → the states of every socket on it, listening or not
    awk -v p=":$(printf '%04X' "$1")" 'FNR > 1 && substr($2, length($2) - 4) == p {print $4}' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
next_port=21000
fresh_port() { # a port no socket uses, so a TIME_WAIT of the last server never interferes
    while [ -n "$(port_state "$next_port")" ]; do next_port=$((next_port + 1)); done
    port=$next_port
    next_port=$((next_port + 1))
}

# start_server NAME [extra args...]: starts it on a fresh port, pinned to CPU 0, with the
# descriptor limit raised; sets port, server_pid (to stop) and measure_pid (whose CPU and RSS
# count: the nginx worker, else the server). Returns 1 (and records why) if it fails to listen
# within 5 s.
start_server() {
    local name=$1; shift
    local path; path=$(binary "$name")
    fresh_port
    local log=$logs/$name.$port.log cmd
    case $name in
    go_*) cmd=("$path" -port "$port") ;;
    nginx)
        local dir=$logs/nginx.$port conf=bench/peers/nginx.conf
        [ -z "$tls_dir" ] || conf=bench/peers/nginx-tls.conf
        mkdir -p "$dir"
        # worker_connections is raised so the 10,000-connection memory figure fits.
        sed -e "s|PORT|$port|" -e "s|RUNDIR|$dir|g" -e "s|TLSDIR|$tls_dir|g" \
            -e 's/worker_connections [0-9]*/worker_connections 20000/' \
            "$conf" >"$dir/nginx.conf"
        cmd=("$path" -c "$dir/nginx.conf") ;;
    *)
        cmd=("$path" --port "$port")
        [ -z "$tls_dir" ] || cmd+=(--tls-cert "$tls_dir/cert.pem" --tls-key "$tls_dir/key.pem") ;;
    esac
    if [ -n "${extra_args[$name]:-}" ]; then
        local words
        read -ra words <<<"${extra_args[$name]}"
        cmd+=("${words[@]}")
    fi
    (
        ulimit -n "$(ulimit -Hn)"
        [[ $name == go_* ]] && export GOMAXPROCS=1
        exec taskset -c 0 "${cmd[@]}" "$@"
    ) </dev/null >"$log" 2>&1 &
    server_pid=$!
    live[$server_pid]=1
    measure_pid=$server_pid
    local i
    for i in $(seq 100); do
        if gone "$server_pid"; then break; fi
        if port_state "$port" | grep -qx 0A; then
            if [ "$name" = nginx ]; then
                measure_pid=$(pgrep -P "$server_pid" | head -1 || true)
                [ -n "$measure_pid" ] || { sleep 0.05; continue; }
            fi
            sleep 0.2 # let it finish starting: accept armed, first allocations done
            return 0
        fi
        sleep 0.05
    done
    if gone "$server_pid"; then
        note[$name]="failed to start: exited (logs/${log##*/}: $(tail -c 200 "$log" | tr '\n\t' '  '))"
    else
        note[$name]="failed to start: not listening on :$port after 5 s (logs/${log##*/})"
    fi
    say "$name: ${note[$name]}"
    stop_pid "$server_pid"
    return 1
}

record() { # tab-separated key=value fields, one measurement per line, read by harness/report.py
    local IFS=$'\t'
    echo "$*" >>"$raw"
}
record_skip() { # workload-id server: not measured, for the reason in note[server]
    local status=skipped
    [[ ${note[$2]:-} == "failed to start"* ]] && status=failed
    record "id=$1" "server=$2" "status=$status" "note=${note[$2]:-skipped}"
}

# --- 3. workloads ------------------------------------------------------------------------------
wrk_run() { # id server round wrk-args...
    local id=$1 server=$2 round=$3; shift 3
    local out=$logs/$id.$server.r$round.txt before after status=ok why=""
    before=$(cpu_ticks "$measure_pid")
    taskset -c 1 wrk -t1 -d"${seconds}s" --latency "$@" "$scheme://127.0.0.1:$port/plaintext" >"$out" 2>&1 ||
        { status=failed; why="wrk failed (logs/${out##*/})"; }
    after=$(cpu_ticks "$measure_pid")
    if gone "$server_pid" || [ -z "$after" ]; then status=failed; why="server exited during the run"; fi
    record "id=$id" "server=$server" "round=$round" "status=$status" "ticks=$((${after:-0} - ${before:-0}))" \
        "wrk=${out#"$results"/}" "note=$why"
}

# The https workloads serve over TLS with a certificate made for this run; set while they run.
scheme=http
tls_dir=""

https_workloads() {
    wants https || return 0
    command -v openssl >/dev/null || { say "https: openssl is missing; skipped"; return 0; }
    local dir=$logs/tls round server id
    mkdir -p "$dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
        -keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1 ||
        { say "https: could not make a certificate; skipped"; return 0; }
    scheme=https tls_dir=$dir
    for round in $(seq "$rounds"); do
        for server in "${https_servers[@]}"; do
            wants_server "$server" || continue
            if ! available "$server" || ! start_server "$server"; then
                for id in https-c64 https-c512 https-handshake; do record_skip "$id" "$server"; done
                continue
            fi
            say "round $round/$rounds: $server on :$port over TLS (keep-alive c64, c512; a handshake per request)"
            wrk_run https-c64 "$server" "$round" -c64
            wrk_run https-c512 "$server" "$round" -c512
            # Connection: close makes every request a new connection: a full handshake each.
            wrk_run https-handshake "$server" "$round" -c16 -H "Connection: close"
            stop_pid "$server_pid"
        done
    done
    scheme=http tls_dir=""
}

http_workloads() {
    local ids=() server round
    wants http && ids+=(http-c64 http-c512)
    wants pipeline && ids+=(pipeline-c64)
    [ ${#ids[@]} -gt 0 ] || return 0
    for round in $(seq "$rounds"); do
        for server in "${http_servers[@]}"; do
            wants_server "$server" || continue
            local id
            if ! available "$server" || ! start_server "$server"; then
                for id in "${ids[@]}"; do record_skip "$id" "$server"; done
                continue
            fi
            say "round $round/$rounds: $server on :$port (${ids[*]})"
            for id in "${ids[@]}"; do
                case $id in
                http-c64) wrk_run "$id" "$server" "$round" -c64 ;;
                http-c512) wrk_run "$id" "$server" "$round" -c512 ;;
                pipeline-c64) wrk_run "$id" "$server" "$round" -c64 -s "$root/bench/load/pipeline.lua" ;;
                esac
            done
            stop_pid "$server_pid"
        done
    done
}

echo_workloads() {
    wants echo || return 0
    local round server size connections load
    load=$(binary echo_load)
    [ -x "$load" ] || { note[echo_load]="binary missing (${load#"$root"/})"; }
    for round in $(seq "$rounds"); do
        for server in "${echo_servers[@]}"; do
            wants_server "$server" || continue
            if [ ! -x "$load" ] || ! available "$server" || ! start_server "$server"; then
                [ -x "$load" ] || note[$server]=${note[echo_load]}
                for size in 64 4096; do for connections in 64 512; do
                    record_skip "echo-$size-c$connections" "$server"
                done; done
                continue
            fi
            say "round $round/$rounds: $server on :$port (echo 64 B / 4096 B x 64 / 512 connections)"
            for size in 64 4096; do
                for connections in 64 512; do
                    local id=echo-$size-c$connections out before after status=ok why=""
                    out=$logs/$id.$server.r$round.txt
                    before=$(cpu_ticks "$measure_pid")
                    # No warm-up: the CPU window must be the one the round trips are counted in.
                    taskset -c 1 "$load" --port "$port" --connections "$connections" --size "$size" \
                        --seconds "$seconds" --warmup-seconds 0 >"$out" 2>&1 ||
                        { status=failed; why="echo_load failed (logs/${out##*/})"; }
                    after=$(cpu_ticks "$measure_pid")
                    if gone "$server_pid" || [ -z "$after" ]; then status=failed; why="server exited during the run"; fi
                    record "id=$id" "server=$server" "round=$round" "status=$status" \
                        "ticks=$((${after:-0} - ${before:-0}))" "echo=${out#"$results"/}" "note=$why"
                done
            done
            stop_pid "$server_pid"
        done
    done
}

# hold ID SERVER REQUEST WAIT_RESPONSE: RSS of the running server before and after
# hold_connections keeps $hold_count connections open on it.
hold() {
    local id=$1 server=$2 request=$3 wait_response=$4
    local tool out before after status=ok hold_pid i why=""
    tool=$(binary hold_connections)
    out=$logs/$id.$server.hold.txt
    before=$(rss_kib "$measure_pid")
    # Its stdin must stay open (EOF means "let go"): a FIFO this shell keeps a writer on.
    local fifo=$logs/hold.fifo
    rm -f "$fifo"; mkfifo "$fifo"
    exec {fifo_fd}<>"$fifo"
    (
        exec {fifo_fd}>&-
        ulimit -n "$(ulimit -Hn)"
        exec taskset -c 1 "$tool" --port "$port" --count "$hold_count" --request "$request" \
            --wait-response "$wait_response"
    ) <"$fifo" >"$out" 2>"$out.err" &
    hold_pid=$!
    live[$hold_pid]=1
    for i in $(seq 1200); do # up to 60 s
        grep -q '^held' "$out" 2>/dev/null && break
        gone "$hold_pid" && break
        sleep 0.05
    done
    if grep -q '^held' "$out"; then
        sleep 0.5 # let the server's RSS settle
        after=$(rss_kib "$measure_pid")
    else
        status=failed
        why="hold_connections: $(tail -c 200 "$out.err" | tr '\n\t' '  ')"
    fi
    [ -n "${after:-}" ] || { status=failed; why="${why:-server exited}"; }
    stop_pid "$hold_pid"
    exec {fifo_fd}>&-
    rm -f "$fifo"
    record "id=$id" "server=$server" "status=$status" "count=$hold_count" \
        "rss_before_kib=${before:-0}" "rss_after_kib=${after:-0}" "note=$why"
}

memory_workloads() {
    wants memory || return 0
    local server
    if ! available hold_connections; then
        for server in "${memory_servers[@]}"; do note[$server]=${note[hold_connections]}; record_skip mem-idle "$server"; done
        note[snow_demo]=${note[hold_connections]}; record_skip mem-parked snow_demo
    else
        for server in "${memory_servers[@]}"; do
            wants_server "$server" || continue
            if ! available "$server" || ! start_server "$server"; then record_skip mem-idle "$server"; continue; fi
            say "memory: $hold_count idle keep-alive connections on $server"
            hold mem-idle "$server" 'GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n' 1
            stop_pid "$server_pid"
        done
        if wants_server snow_demo; then
            # A short shutdown deadline: parked requests would otherwise hold the graceful stop.
            if available snow_demo && start_server snow_demo --shutdown-timeout-ms 500; then
                say "memory: $hold_count parked GET /req/ on snow_demo"
                hold mem-parked snow_demo 'GET /req/ HTTP/1.1\r\nHost: x\r\n\r\n' 0
                stop_pid "$server_pid"
            else
                record_skip mem-parked snow_demo
            fi
        fi
    fi
    if wants_server sleepers; then
        if available sleepers; then
            say "memory: $sleeper_count sleeping coroutines"
            local out=$logs/mem-sleepers.txt status=ok
            taskset -c 0 "$(binary sleepers)" --count "$sleeper_count" >"$out" 2>&1 || status=failed
            record "id=mem-sleepers" "server=sleepers" "status=$status" "sleepers=${out#"$results"/}"
        else
            record_skip mem-sleepers sleepers
        fi
    fi
}

client_workloads() {
    wants client || return 0
    local clients=() c
    for c in snow-fetch curl hey; do
        wants_server "$c" || continue
        if available "$c"; then clients+=("$c"); else record_skip client "$c"; fi
    done
    [ ${#clients[@]} -gt 0 ] || return 0
    if ! available snow_demo || ! start_server snow_demo; then
        for c in "${clients[@]}"; do note[$c]="snow_demo: ${note[snow_demo]}"; record_skip client "$c"; done
        return 0
    fi
    local url=http://127.0.0.1:$port/plaintext i
    local curl_config=$logs/curl.config
    for ((i = 0; i < fetch_count; i++)); do printf 'url = "%s"\noutput = "/dev/null"\n' "$url"; done >"$curl_config"
    local round start end before after out status ok
    for round in $(seq "$rounds"); do
        for c in "${clients[@]}"; do
            say "round $round/$rounds: $c, $fetch_count fetches, $fetch_concurrency at a time"
            out=$logs/client.$c.r$round.txt
            status=ok
            before=$(cpu_ticks "$measure_pid")
            start=$(date +%s.%N)
            if [ "$c" = snow-fetch ]; then
                # One JSON record per fetch and the summary (with its percentiles) on.
                taskset -c 1 "$(binary snow-fetch)" -n "$fetch_count" --concurrency "$fetch_concurrency" \
                    --summary json "$url" >"$out" 2>"$out.err" || status=failed
                end=$(date +%s.%N)
                ok=$(grep -c '"status": 200' "$out" || true)
            elif [ "$c" = hey ]; then
                taskset -c 1 "$(binary hey)" -n "$fetch_count" -c "$fetch_concurrency" "$url" \
                    >"$out" 2>"$out.err" || status=failed
                end=$(date +%s.%N)
                ok=$(awk '/\[200\]/ {print $2}' "$out" | head -1)
                ok=${ok:-0}
            else
                # curl 7.88 shows its parallel progress meter despite -s.
                taskset -c 1 "$(binary curl)" --parallel --parallel-max "$fetch_concurrency" -s \
                    --no-progress-meter -w '%{http_code}\n' -K "$curl_config" >"$out" 2>"$out.err" ||
                    status=failed
                end=$(date +%s.%N)
                ok=$(grep -cx 200 "$out" || true)
            fi
            after=$(cpu_ticks "$measure_pid")
            record "id=client" "server=$c" "round=$round" "status=$status" "count=$fetch_count" "ok=$ok" \
                "wall=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.6f", b - a}')" \
                "ticks=$((${after:-0} - ${before:-0}))"
        done
    done
    stop_pid "$server_pid"
}

# --- 4. run ------------------------------------------------------------------------------------
build_seconds=$SECONDS
ulimit -n "$(ulimit -Hn)"
cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
machine="$(date -R)  nproc $(nproc)  kernel $(uname -r)  CPU: ${cpu_model:-unknown}"
say "machine: $machine"
say "results: ${results#"$root"/}  ($seconds s per run, $rounds rounds)"
{
    echo "date=$(date -Iseconds)"
    echo "nproc=$(nproc)"
    echo "kernel=$(uname -r)"
    echo "cpu=${cpu_model:-unknown}"
    echo "clk_tck=$(getconf CLK_TCK)"
    echo "seconds=$seconds"
    echo "rounds=$rounds"
    echo "commit=$(git describe --always --dirty 2>/dev/null || echo unknown)"
    echo "wrk=$(wrk -v 2>&1 | head -1 || true)"
    echo "nofile=$(ulimit -n)"
} >"$logs/meta.txt"

http_workloads
https_workloads
echo_workloads
memory_workloads
client_workloads

{ echo "elapsed=$SECONDS"; echo "build_seconds=$build_seconds"; } >>"$logs/meta.txt"
for k in "${!note[@]}"; do printf 'note.%s=%s\n' "$k" "${note[$k]}"; done >>"$logs/meta.txt"
"$python" bench/harness/report.py "$results"
say "done in ${SECONDS} s: ${results#"$root"/}/results.json"
