#!/usr/bin/env bash
# Builds all of snow with clang (release, warnings as errors) in build-clang/ and runs every
# test suite there: clang warns where g++ is silent (a local shadowing a member, a discarded
# co_await result), and the public headers must compile cleanly with both. Installs clang if
# it is missing. The suites take about half a minute in a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
SNOW_EXTRA_PACKAGES=clang bash scripts/install-deps.sh

dir=build-clang
[ -d "$dir" ] || CXX=clang++ meson setup "$dir" --buildtype=release >/dev/null
ninja -C "$dir"
# One suite at a time, as in scripts/test.sh: the integration suites load servers.
meson test -C "$dir" --num-processes 1 --print-errorlogs
