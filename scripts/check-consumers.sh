#!/usr/bin/env bash
# scripts/check-consumers.sh: proves snow usable from other projects. It configures a fresh
# build, installs it with `meson install --destdir` into a temporary tree, checks what was
# installed, then builds and runs each program under examples/consumers with g++ and with
# clang++, warnings as errors: pkg-config (a Makefile on `pkg-config --cflags --libs snow`),
# cmake (find_package(snow CONFIG) and snow::snow) against that tree, and meson-subproject
# (snow as a subproject, this checkout symlinked in). Each must print "hi" and exit 0.
# One line per check, then meson-style totals (Ok: N, Fail: M) for .ci/run; exits nonzero if
# any failed. `--shared` installs a shared libsnow instead of the default static one.
# Installs what it needs (install-deps.sh consumers).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

library=static
case ${1:-} in
    "") ;;
    --shared) library=shared ;;
    *) echo "usage: $0 [--shared]" >&2; exit 2 ;;
esac
bash scripts/install-deps.sh consumers || exit 1

work=$(mktemp -d "${TMPDIR:-/tmp}/snow-consumers.XXXXXX")
trap 'rm -rf "$work"' EXIT
jobs=${SNOW_JOBS:-2}
passed=0
failed=0

# Runs a command with its output in $work/NAME.log; on failure shows the log's end.
quietly() {
    local name=$1; shift
    "$@" >"$work/$name.log" 2>&1 && return 0
    echo "--- $name failed: $*" >&2
    tail -n 40 "$work/$name.log" >&2
    return 1
}
report() { # report STATUS CHECK [DETAIL]
    printf '%-4s %-30s %s\n' "$1" "$2" "${3:-}"
    if [ "$1" = ok ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}
# The totals in meson test's words, which .ci/run adds up.
totals() {
    echo "Ok: $passed"
    echo "Fail: $failed"
}

# --- install ------------------------------------------------------------------------------
prefix=/usr/local
dest=$work/dest
build=$work/build
# Only the targets that get installed are built (the library and snow-fetch), not every
# example: installing needs nothing else.
if quietly setup meson setup "$build" --prefix="$prefix" -Ddefault_library="$library" \
        -Dtests=disabled -Dbench=disabled -Dexamples=enabled &&
    targets=$(meson introspect "$build" --targets | python3 -c '
import json, os, sys
build = sys.argv[1]
for t in json.load(sys.stdin):
    if t["installed"]:
        for f in t["filename"]:
            print(os.path.relpath(f, build))' "$build") &&
    quietly build nice -n 10 ninja -C "$build" -j"$jobs" $targets &&
    quietly install meson install -C "$build" --no-rebuild --destdir "$dest"; then
    report ok "install ($library)"
else
    report FAIL "install ($library)"
    totals
    exit 1
fi

# What an installed snow must hold: every header outside detail/ folders (and the detail
# headers those include, which the consumers' builds prove), the library, snow.pc, the
# CMake package and snow-fetch.
missing=()
while IFS= read -r header; do
    [ -f "$dest$prefix/include/$header" ] || missing+=("include/$header")
done < <(find snow -name '*.hpp' -not -path '*/detail/*' | sort)
pc=$(find "$dest" -name snow.pc -path '*/pkgconfig/*' | head -n 1)
[ -n "$pc" ] || missing+=("snow.pc")
libdir=$(dirname "$(dirname "${pc:-$dest$prefix/lib/pkgconfig/snow.pc}")")
for f in cmake/snow/snowConfig.cmake cmake/snow/snowConfigVersion.cmake; do
    [ -f "$libdir/$f" ] || missing+=("${libdir#"$dest$prefix"/}/$f")
done
[ -x "$dest$prefix/bin/snow-fetch" ] || missing+=("bin/snow-fetch")
if [ "$library" = shared ]; then
    # The SONAME carries major.minor before 1.0 (snow/meson.build).
    version=$(meson introspect "$build" --projectinfo | python3 -c \
        'import json, sys; print(json.load(sys.stdin)["version"])')
    soname=libsnow.so.$(echo "$version" | cut -d. -f1-2)
    readelf -d "$libdir/libsnow.so" 2>/dev/null | grep -q "SONAME.*\[$soname\]" ||
        missing+=("libsnow.so with SONAME $soname")
else
    [ -f "$libdir/libsnow.a" ] || missing+=("libsnow.a")
fi
if [ ${#missing[@]} -eq 0 ]; then
    report ok "installed files"
else
    report FAIL "installed files" "missing: ${missing[*]}"
fi

# The three copies of hello.cpp must stay the same program (their first lines name them).
differ=()
for f in examples/consumers/*/hello.cpp; do
    cmp -s <(tail -n +2 examples/consumers/cmake/hello.cpp) <(tail -n +2 "$f") || differ+=("$f")
done
if [ ${#differ[@]} -eq 0 ]; then
    report ok "same hello.cpp"
else
    report FAIL "same hello.cpp" "differ from examples/consumers/cmake/hello.cpp: ${differ[*]}"
fi

# --- consumers ----------------------------------------------------------------------------
export PKG_CONFIG_PATH="$libdir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
# A shared libsnow outside the loader's path; the CMake build records it in its RPATH.
run_env=(env)
[ "$library" = shared ] && run_env=(env "LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")

# Runs a consumer's program: it must print exactly "hi" and exit 0.
check_run() { # check_run NAME PROGRAM
    local out
    out=$(timeout 30 "${run_env[@]}" "$2" 2>"$work/$1.run.log")
    local rc=$?
    [ $rc -eq 0 ] && [ "$out" = hi ] && return 0
    echo "--- $1: exit $rc, printed '$out'" >&2
    cat "$work/$1.run.log" >&2
    return 1
}

for cxx in g++ clang++; do
    # pkg-config: a Makefile; the warning flags are its own, -Werror comes from here.
    name=pkg-config-$cxx
    cp -r examples/consumers/pkg-config "$work/$name"
    if quietly "$name" make -C "$work/$name" CXX="$cxx" CXXFLAGS="-O2 -Werror" &&
        check_run "$name" "$work/$name/hello"; then
        report ok "pkg-config $cxx"
    else
        report FAIL "pkg-config $cxx"
    fi

    # cmake: find_package(snow CONFIG) in the installed tree.
    name=cmake-$cxx
    if quietly "$name" cmake -S examples/consumers/cmake -B "$work/$name" -G Ninja \
            -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CXX_FLAGS=-Werror \
            -DCMAKE_PREFIX_PATH="$dest$prefix" &&
        quietly "$name-build" cmake --build "$work/$name" &&
        check_run "$name" "$work/$name/hello"; then
        report ok "cmake $cxx"
    else
        report FAIL "cmake $cxx"
    fi

    # meson-subproject: a copy of the example with this checkout as subprojects/snow; the
    # fallback is forced so an installed snow on this machine cannot stand in for it.
    # Warnings are errors in the consumer's code only: snow, as a subproject, keeps them
    # warnings (see meson.build), since the consumer's compiler and flags are not snow's.
    name=meson-subproject-$cxx
    cp -r examples/consumers/meson-subproject "$work/$name"
    rm -rf "$work/$name/subprojects/snow"
    ln -s "$root" "$work/$name/subprojects/snow"
    if quietly "$name" env CXX="$cxx" meson setup "$work/$name/build" "$work/$name" \
            --force-fallback-for=snow -Dwerror=true -Dsnow:werror=false \
            -Ddefault_library="$library" &&
        quietly "$name-build" nice -n 10 ninja -C "$work/$name/build" -j"$jobs" &&
        check_run "$name" "$work/$name/build/hello"; then
        report ok "meson-subproject $cxx"
    else
        report FAIL "meson-subproject $cxx"
    fi
done

totals
[ "$failed" -eq 0 ]
