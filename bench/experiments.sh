#!/usr/bin/env bash
# bench/experiments.sh: the opt-in experiments of bench/README.md ("Opt-in ring experiments"),
# measured side by side in one run. Builds snow_demo twice more beside build-release: with
# link-time optimisation (build-lto, -Db_lto=true) and profile-guided (build-pgo: built with
# -Db_pgo=generate, trained by a short wrk load, keep-alive and pipelined, then rebuilt with
# -Db_pgo=use). Then one bench/run.sh over http and pipeline with a row per build and per
# run-time option (snow_demo --sqpoll 1, --napi-busy-poll-us 50; limit_http --sqpoll,
# --fixed-files, --fixed-buffers), and bench/profile.sh (callgrind instructions per request,
# keep-alive and pipelined) for each build of snow_demo.
#   bash bench/experiments.sh [run.sh options, e.g. --seconds 3 --rounds 1]
# build-pgo is made with -Wno-missing-profile: GCC warns of every file the training load never
# ran, and the project's -Werror would stop the build on warnings that say nothing about the code.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(dirname "$root")}
say() { printf '[experiments %4ds] %s\n' "$SECONDS" "$*" >&2; }
jobs=(-j "${SNOW_JOBS:-2}")

SNOW_EXTRA_PACKAGES="wrk valgrind" bash scripts/install-deps.sh >/dev/null
command -v wrk >/dev/null || { echo "experiments.sh: wrk is required" >&2; exit 1; }

# --- the builds -------------------------------------------------------------------------------
setup() { # dir meson-options...
    local dir=$1; shift
    if [ -f "$dir/build.ninja" ]; then
        meson configure "$dir" "$@" >/dev/null
    else
        meson setup "$dir" --buildtype=release "$@" >/dev/null
    fi
}
say "build-release: snow_demo and limit_http"
setup build-release
ninja -C build-release "${jobs[@]}" examples/snow_demo bench/peers/limit_http >/dev/null
say "build-lto: snow_demo with -Db_lto=true"
setup build-lto -Db_lto=true
ninja -C build-lto "${jobs[@]}" examples/snow_demo >/dev/null

say "build-pgo: snow_demo with -Db_pgo=generate, then a training load"
setup build-pgo -Db_pgo=generate -Dcpp_args=-Wno-missing-profile
find build-pgo -name '*.gcda' -delete
ninja -C build-pgo "${jobs[@]}" examples/snow_demo >/dev/null
port=21800
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
build-pgo/examples/snow_demo --port "$port" >/dev/null 2>&1 &
trainee=$!
trap 'kill "$trainee" 2>/dev/null || true' EXIT
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
# The workloads the table measures: keep-alive at two concurrencies, and pipelined.
wrk -t1 -c64 -d3s "http://127.0.0.1:$port/plaintext" >/dev/null
wrk -t1 -c512 -d3s "http://127.0.0.1:$port/plaintext" >/dev/null
wrk -t1 -c64 -d3s -s bench/load/pipeline.lua "http://127.0.0.1:$port/plaintext" >/dev/null
kill -TERM "$trainee" # a graceful stop returns from main, which writes the profiles
wait "$trainee" || true
trap - EXIT
say "build-pgo: snow_demo again with -Db_pgo=use"
setup build-pgo -Db_pgo=use -Dcpp_args=-Wno-missing-profile
ninja -C build-pgo "${jobs[@]}" examples/snow_demo >/dev/null

# --- one run, side by side ------------------------------------------------------------------
demo=build-release/examples/snow_demo
limit=build-release/bench/peers/limit_http
say "bench/run.sh: http and pipeline, a row per build and option"
bash bench/run.sh --no-install --only http,pipeline \
    --servers snow_demo,lto,pgo,sqpoll,napi,limit_http,limit_sqpoll,limit_fixed_files,limit_fixed_buffers \
    --also "lto=build-lto/examples/snow_demo" \
    --also "pgo=build-pgo/examples/snow_demo" \
    --also "sqpoll=$demo --sqpoll 1" \
    --also "napi=$demo --napi-busy-poll-us 50" \
    --also "limit_sqpoll=$limit --sqpoll" \
    --also "limit_fixed_files=$limit --fixed-files" \
    --also "limit_fixed_buffers=$limit --fixed-buffers" \
    "$@"

# --- instructions per request, per build --------------------------------------------------------
for build in build-release build-lto build-pgo; do
    for load in "" pipeline; do
        say "profile: $build ${load:-keep-alive}"
        # The first line is the figure; awk reads the rest, so profile.sh never meets a closed pipe.
        SNOW_PROFILE_BINARY=$build/examples/snow_demo bash bench/profile.sh snow_demo 16 $load |
            awk -v build="$build" 'NR == 1 {print build ": " $0}'

    done
done
