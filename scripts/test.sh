#!/usr/bin/env bash
# Installs what is missing, builds snow and runs every test suite.
#   scripts/test.sh             release build (build/)
#   scripts/test.sh --sanitize  ASan+UBSan debug build (build-sanitize/)
#   scripts/test.sh --tsan      ThreadSanitizer build (build-tsan/), with tests/tsan.supp
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

dir=build
options=(--buildtype=release)
case "${1:-}" in
--sanitize)
    dir=build-sanitize
    options=(--buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false)
    ;;
--tsan)
    dir=build-tsan
    # -O1 keeps the run time of the load tests reasonable under TSan's instrumentation.
    options=(--buildtype=debugoptimized -Db_sanitize=thread -Db_lundef=false)
    # liburing maps its rings with raw mmap/munmap system calls that TSan cannot see, so
    # it cannot tell a ring's memory from an earlier mapping at the same address. That is
    # the one suppression; see the file.
    export TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
    # The simulator runs every scenario on one thread, so ThreadSanitizer has little to
    # find there; the release and ASan+UBSan builds run its full seed counts.
    export SNOW_SIM_SEEDS=${SNOW_SIM_SEEDS:-400}
    ;;
"") ;;
*)
    echo "usage: scripts/test.sh [--sanitize | --tsan]" >&2
    exit 2
    ;;
esac
[ -d "$dir" ] || meson setup "$dir" "${options[@]}" >/dev/null
ninja -C "$dir"
# One suite at a time: the integration suites start servers and load them, and the
# machines this runs on may have two cores.
meson test -C "$dir" --num-processes 1 --print-errorlogs
