#!/bin/sh
# Runs every fuzz harness with libFuzzer for a while.
#
#   tests/fuzz/run.sh [SECONDS] [HARNESS...]
#
# Builds build-fuzz/ (clang, -Dfuzz=true) when needed, then runs each harness
# (all of them by default) for SECONDS (default 30) over a working corpus in
# build-fuzz/fuzz-corpus/NAME, seeded from the checked-in tests/fuzz/corpus/NAME
# (which is only read), with the harness's dictionary when it has one. Prints
# one line per harness:
#
#   config       ok     runs 123456  exec/s 4115  cov 2345  ft 6789  corpus 321  crashes 0
#
# and ends with "fuzz: N passed, M failed". A harness fails when libFuzzer
# stops on a crash, a leak, undefined behaviour, a timeout or a broken
# invariant; the input is saved in build-fuzz/fuzz-artifacts/NAME/ and the end
# of the log is printed. FUZZ_JOBS=N runs N harnesses at a time (default 1).
# Full logs stay in build-fuzz/fuzz-logs/NAME.log.
set -eu
cd "$(dirname "$0")/../.."

seconds=${1:-30}
[ $# -gt 0 ] && shift
all="config catalog state json_file plugin_desc stream_map envelope"
harnesses=${*:-$all}
jobs=${FUZZ_JOBS:-1}
build=build-fuzz

if [ ! -f "$build/build.ninja" ]; then
    CC=clang meson setup "$build" -Dfuzz=true -Db_lundef=false -Dbuildtype=debugoptimized >/dev/null
fi
targets=""
present=""
for h in $harnesses; do
    if [ -d "tests/fuzz/corpus/$h" ]; then
        targets="$targets tests/fuzz/fuzz-$h"
        present="$present $h"
    elif [ "$*" != "" ]; then
        echo "fuzz: unknown harness '$h' (known: $all)" >&2
        exit 2
    fi
done
# shellcheck disable=SC2086
ninja -C "$build" $targets >/dev/null

# Inputs past these sizes add time, not coverage.
max_len() {
    case "$1" in
        plugin_desc) echo 2048 ;;
        catalog|envelope) echo 16384 ;;
        *) echo 4096 ;;
    esac
}

export ASAN_OPTIONS="detect_leaks=1:detect_odr_violation=0:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# The harnesses write their scratch files under TMPDIR: keep them in memory.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
    export TMPDIR=/dev/shm
fi

run_one() {
    h=$1
    work="$build/fuzz-corpus/$h"
    art="$build/fuzz-artifacts/$h"
    log="$build/fuzz-logs/$h.log"
    mkdir -p "$work" "$art" "$(dirname "$log")"
    dict=""
    [ -f "tests/fuzz/dict/$h.dict" ] && dict="-dict=tests/fuzz/dict/$h.dict"
    status=0
    # shellcheck disable=SC2086
    "$build/tests/fuzz/fuzz-$h" "$work" "tests/fuzz/corpus/$h" $dict \
        -max_total_time="$seconds" -max_len="$(max_len "$h")" -timeout=20 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$art/" >"$log" 2>&1 || status=$?
    echo "$status" >"$log.status"
}

summarise() {
    h=$1
    log="$build/fuzz-logs/$h.log"
    status=$(cat "$log.status")
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    # Status lines may quote fuzzed bytes (DE: "..."): keep the printable.
    last=$(grep -aE '^#[0-9]+' "$log" | tail -n 1 | tr -cd '[:print:]' || true)
    cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    corp=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
    crashes=$(find "$build/fuzz-artifacts/$h" -type f -newer "$log.start" | wc -l)
    verdict=ok
    if [ "$status" != 0 ] || [ "$crashes" != 0 ]; then
        verdict=FAILED
    fi
    printf '%-12s %-6s runs %s  exec/s %s  cov %s  ft %s  corpus %s  crashes %s\n' "$h" \
        "$verdict" "${runs:-0}" "${speed:-0}" "${cov:-0}" "${ft:-0}" "${corp:-0}" "$crashes"
    if [ "$verdict" = FAILED ]; then
        tail -n 40 "$log" | sed 's/^/    /'
        return 1
    fi
    return 0
}

pending=""
running=0
for h in $present; do
    mkdir -p "$build/fuzz-logs"
    touch "$build/fuzz-logs/$h.log.start"
    run_one "$h" &
    running=$((running + 1))
    pending="$pending $!"
    if [ "$running" -ge "$jobs" ]; then
        # shellcheck disable=SC2086
        wait $pending
        pending=""
        running=0
    fi
done
# shellcheck disable=SC2086
[ -n "$pending" ] && wait $pending

passed=0
failed=0
for h in $present; do
    if summarise "$h"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
