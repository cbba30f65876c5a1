#!/usr/bin/env bash
# Runs a command as on a minimal Debian with no /etc/hosts: in a private mount namespace
# where /etc/hosts is an empty file, so a test that leans on the host's name service fails
# here as it would there. Needs root (unshare); elsewhere it says so and runs nothing.
#   scripts/without-hosts-file.sh COMMAND [ARGS...]
set -euo pipefail
if [ "$#" -eq 0 ]; then
    echo "usage: scripts/without-hosts-file.sh COMMAND [ARGS...]" >&2
    exit 2
fi
if ! command -v unshare >/dev/null; then
    echo "without-hosts-file: unshare (util-linux) is missing" >&2
    exit 1
fi
empty=$(mktemp)
trap 'rm -f "$empty"' EXIT
# shellcheck disable=SC2016 # expanded by the inner shell
unshare --mount --propagation private -- bash -c '
    set -e
    if [ -e /etc/hosts ]; then mount --bind "$0" /etc/hosts; fi
    exec "$@"' "$empty" "$@"
