#!/usr/bin/env bash
# Installs what is missing, builds snow in release mode and starts the demo server.
# Extra arguments go to the demo (e.g. --port 8080 --threads 2).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
[ -d build ] || meson setup build --buildtype=release >/dev/null
ninja -C build
demo=build/examples/snow_demo
[ -x "$demo" ] || demo=build/examples/echo_server
exec "$demo" "$@"
