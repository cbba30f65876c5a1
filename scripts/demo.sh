#!/usr/bin/env bash
# scripts/demo.sh: installs what is missing, builds the demo server in release mode and
# starts it. Only the snow_demo target (and the library it links) is built, not the tests,
# benchmarks and other examples, so a first run takes a fraction of a full build.
# Extra arguments go to the demo (e.g. --port 8080 --threads 2).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
[ -d build ] || meson setup build --buildtype=release >/dev/null
ninja -C build examples/snow_demo
exec build/examples/snow_demo "$@"
