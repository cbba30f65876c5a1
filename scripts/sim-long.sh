#!/usr/bin/env bash
# Runs the simulator's scenarios over a long range of seeds, cut into slices that run in
# parallel, one per core: the long run the default 20,000 seeds of the sim suite sample.
#   scripts/sim-long.sh [SEEDS] [SLICE] [BUILD_DIR]
# SEEDS per scenario (default 1000000) from seed 0, in slices of SLICE seeds (default 20000),
# with BUILD_DIR/tests/sim_test (default build; an ASan build catches more). A failing slice
# keeps its log and prints the line to replay it; the run stops at the first such slice.
set -uo pipefail
cd "$(dirname "$0")/.."

seeds=${1:-1000000}
slice=${2:-20000}
build=${3:-build}
binary="$build/tests/sim_test"
if [ ! -x "$binary" ]; then
    echo "sim-long: $binary is not built (ninja -C $build tests/sim_test)" >&2
    exit 2
fi
logs=$(mktemp -d)
export binary logs slice

run_slice() {
    local first=$1 log="$logs/slice-$1.log"
    # The planted-bug matrix and the fixed-seed cases do not depend on the range: skip them.
    if SNOW_SIM_FIRST_SEED=$first SNOW_SIM_SEEDS=$slice "$binary" --no-intro \
        --test-case-exclude='*planted*,*100,000 timers*,*virtual time passes*' >"$log" 2>&1; then
        echo "sim-long: seeds $first..$((first + slice - 1)) passed"
        rm -f "$log"
    else
        echo "sim-long: seeds $first..$((first + slice - 1)) FAILED; log: $log"
        grep -m5 -E 'replay with|SNOW_SIM_SEED' "$log" || true
        return 255 # stops xargs
    fi
}
export -f run_slice

start=$(date +%s)
seq 0 "$slice" $((seeds - 1)) | xargs -P "$(nproc)" -I{} bash -c 'run_slice {}'
rc=$?
echo "sim-long: $seeds seeds per scenario from seed 0 in $(($(date +%s) - start)) s: " \
    "$([ $rc -eq 0 ] && echo passed || echo FAILED)"
[ $rc -eq 0 ] && rm -rf "$logs"
exit $rc
