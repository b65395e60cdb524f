#!/bin/sh
# The whole test suite: builds siphon (warnings as errors), starts a throwaway
# PostgreSQL server on loopback for the database sink's tests, runs the one
# Criterion runner, and stops the server. The last line is Criterion's
# "[====] Synthesis: ..." line; the exit status is the runner's.
#
#   tests/run.sh                     the normal build (build/)
#   tests/run.sh --sanitize          AddressSanitizer + UBSan with clang (build-asan/); a
#                                    leak or UB report from any test process fails the run
#   tests/run.sh -- --filter 'cli/*' anything after -- goes to the Criterion runner
set -eu
umask 022   # the loader refuses group-writable plugin folders
cd "$(dirname "$0")/.."

build=build
setup_args="-Dwerror=true"
if [ "${1:-}" = "--sanitize" ]; then
    shift
    build=build-asan
    setup_args="-Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug"
    export CC=clang
    export ASAN_OPTIONS="detect_leaks=1:detect_odr_violation=0"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
fi
[ "${1:-}" = "--" ] && shift

if [ ! -f "$build/build.ninja" ]; then
    # shellcheck disable=SC2086
    meson setup "$build" $setup_args >/dev/null
fi
ninja -C "$build" >/dev/null

pgdir=""
cleanup() {
    if [ -n "$pgdir" ]; then
        tests/support/pg-server.sh stop "$pgdir" >/dev/null 2>&1 || true
        rm -rf "$pgdir"
    fi
}
trap cleanup EXIT INT TERM
if [ -z "${SIPHON_TEST_PG_DSN:-}" ] && [ -x tests/support/pg-server.sh ]; then
    pgdir=$(mktemp -d /tmp/siphon-pg.XXXXXX)
    SIPHON_TEST_PG_DSN=$(tests/support/pg-server.sh start "$pgdir")
    export SIPHON_TEST_PG_DSN
fi

export SIPHON_PLUGIN_SYSTEM_PATH=""
status=0
if [ "$build" = build-asan ]; then
    # Each test runs in a forked process whose leak report does not fail the
    # test: read the reports from the runner's stderr and fail on any.
    errlog=$(mktemp /tmp/siphon-tests-stderr.XXXXXX)
    "$build/tests/siphon-tests" "$@" 2>"$errlog" || status=$?
    cat "$errlog" >&2
    reports=$(grep -c -e 'ERROR: LeakSanitizer' -e 'runtime error:' "$errlog" || true)
    rm -f "$errlog"
    if [ "$reports" -gt 0 ]; then
        echo "sanitizers: $reports report(s) from the test processes above" >&2
        exit 1
    fi
    exit $status
fi
"$build/tests/siphon-tests" "$@" || status=$?
exit $status
