#!/usr/bin/env bash
# Builds the API reference from the public headers with doxygen (docs/Doxyfile) into
# build-docs/html, and fails on any doxygen warning, such as an undocumented public symbol.
# Installs the Debian 12 packages doxygen and doxygen-awesome-css if they are missing.
# Ends with meson-style totals (Ok: 1 / Fail: 1) for .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh docs

for tool in doxygen; do
    command -v "$tool" >/dev/null || { echo "docs.sh: $tool is missing: apt-get install -y doxygen doxygen-awesome-css" >&2; exit 1; }
done
[ -f /usr/share/doxygen-awesome-css/doxygen-awesome.css ] ||
    { echo "docs.sh: the theme is missing: apt-get install -y doxygen-awesome-css" >&2; exit 1; }

mkdir -p build-docs
log=build-docs/doxygen-warnings.log
# WARN_AS_ERROR = FAIL_ON_WARNINGS in the Doxyfile makes doxygen exit non-zero after
# reporting every warning; the warnings are also kept in $log.
status=0
doxygen docs/Doxyfile 2> >(tee "$log" >&2) || status=$?
wait
warnings=$(grep -cE '(warning|error):' "$log" || true)
if [ "$status" -ne 0 ] || [ "$warnings" -ne 0 ]; then
    echo "docs.sh: $warnings doxygen warning(s); see $log" >&2
    echo "Fail: 1"
    exit 1
fi
echo "docs.sh: build-docs/html/index.html (no warnings)"
echo "Ok: 1"
