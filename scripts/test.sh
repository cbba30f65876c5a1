#!/usr/bin/env bash
# Installs what is missing, builds snow and runs every test suite.
#   scripts/test.sh             release build (build/)
#   scripts/test.sh --sanitize  ASan+UBSan debug build (build-sanitize/)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

dir=build
options=(--buildtype=release)
if [ "${1:-}" = "--sanitize" ]; then
    dir=build-sanitize
    options=(--buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false)
fi
[ -d "$dir" ] || meson setup "$dir" "${options[@]}" >/dev/null
ninja -C "$dir"
# One suite at a time: the integration suites start servers and load them, and the
# machines this runs on may have two cores.
meson test -C "$dir" --num-processes 1 --print-errorlogs
