#!/usr/bin/env bash
# The library's folders follow the data path: io/ → time/ → net/ → http/. A layer includes
# only the ones before it; this fails on any include that points the other way.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
check() { # layer, forbidden layers...
    local layer=$1; shift
    for forbidden in "$@"; do
        hits=$(grep -rn "#include \"snow/$forbidden/" "snow/$layer" 2>/dev/null)
        if [ -n "$hits" ]; then
            echo "snow/$layer must not include snow/$forbidden:"; echo "$hits"; status=1
        fi
    done
}
check io time net http
check time net http
check net http
# liburing is the ring's business (and the operations built directly on it).
hits=$(grep -rln "#include <liburing.h>" snow | grep -vE "^snow/io/")
[ -z "$hits" ] || { echo "only snow/io includes liburing.h:"; echo "$hits"; status=1; }
# No readiness loops in the library: everything goes through the ring.
hits=$(grep -rnE "\b(epoll_wait|epoll_create1?|select|poll)\(" snow --include=*.cpp --include=*.hpp)
[ -z "$hits" ] || { echo "snow/ must not use epoll/select/poll:"; echo "$hits"; status=1; }
[ "$status" -eq 0 ] && echo "layers ok"
exit "$status"
