#!/usr/bin/env bash
# Installs, from Debian 12's packages, whatever snow needs to build and test that is missing.
# Run as root (a fresh container) or with the packages already installed. An argument names
# an extra group a script needs: `bench` (the benchmarks' peers: Node's http_parser for
# parser_bench, Go and its x/net/websocket for realtime.sh), `metrics` (promtool, which the
# metrics test runs when it is there), `consumers` (scripts/check-consumers.sh builds
# programs against an installed snow with make, CMake and clang too), `docs`
# (scripts/docs.sh), `interop` (the real TLS peers of the interop suite: nginx, curl,
# openssl, python3; and chromium, headless, for the browser).
set -euo pipefail

packages=(g++ meson ninja-build pkg-config liburing-dev libfmt-dev doctest-dev libre2-dev libssl-dev libc-ares-dev libcli11-dev
          zlib1g-dev
          python3-websockets curl
          ${SNOW_EXTRA_PACKAGES:-})
for group in "$@"; do
    case $group in
        bench) packages+=(libhttp-parser-dev golang-go golang-golang-x-net-dev) ;; # parser_bench's and realtime.sh's peers
        consumers) packages+=(make cmake clang) ;;
        docs) packages+=(doxygen doxygen-awesome-css) ;;
        interop) packages+=(nginx-light curl openssl python3 chromium) ;; # tests/interop's peers
        metrics) packages+=(prometheus) ;; # promtool, which checks the /metrics text
        *) echo "install-deps: unknown group $group (known: bench, consumers, docs, interop, metrics)" >&2; exit 2 ;;
    esac
done
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "snow needs these Debian packages: ${missing[*]}" >&2
    echo "install them as root: apt-get install -y ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
