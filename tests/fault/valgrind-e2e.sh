#!/bin/sh
# Memory safety end to end: siphon under valgrind memcheck, syncing the
# Dinamize emulator into SQLite (a first full sync, an incremental rerun from
# the state in the database, a sync under transport faults and expiring
# tokens) and running check and discover. Each run must end as it would
# without valgrind, with zero memcheck errors and zero definite leaks
# (--error-exitcode, --errors-for-leak-kinds=definite), and the database must
# hold every record of the emulator. The last line is
# "valgrind: N passed, M failed"; the exit status is 0 only when M is 0.
#
#   tests/fault/valgrind-e2e.sh [BUILD_DIR]     (default: build, relative to
#                                                the source root)
#
# Needs valgrind, sqlite3 and curl. Takes about half a minute. When the runs
# cannot even start (nothing built, a tool missing, no emulator) it says why,
# counts that as one failure and exits 2.
set -u
cd "$(dirname "$0")/../.."
build=${1:-build}
siphon=$build/core/siphon
emulator=$build/tests/emulator/dinamize-emulator

give_up() {
    echo "valgrind-e2e: $*" >&2
    echo "valgrind: 0 passed, 1 failed"
    exit 2
}
for f in "$siphon" "$emulator"; do
    [ -x "$f" ] || give_up "$f is not built"
done
for tool in valgrind sqlite3 curl; do
    command -v "$tool" >/dev/null || give_up "$tool is not installed"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/siphon-valgrind.XXXXXX")
emu_pid=""
cleanup() {
    [ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null && wait "$emu_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap "exit 130" INT TERM

export SIPHON_PLUGIN_PATH="$build/plugins/sinks:$build/plugins/dinamize"
export SIPHON_PLUGIN_SYSTEM_PATH=""
export DINAMIZE_PASSWORD=demo-secret-pw

"$emulator" --port 0 --lists 3 --contacts 300 --rate-window 1 --rate-limit 0 \
    >"$work/emulator.out" 2>"$work/emulator.err" &
emu_pid=$!
port=""
for _ in $(seq 100); do
    port=$(sed -n '1s/.*://p' "$work/emulator.out" 2>/dev/null)
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || { cat "$work/emulator.err" >&2; give_up "the emulator did not start"; }
url="http://127.0.0.1:$port"

cat >"$work/config.json" <<EOF
{"source": "dinamize", "user": "demo@siphon.test", "client_code": "100001",
 "base_url": "$url", "requests_per_minute": 0, "page_size": 100,
 "http_timeout_s": 5, "http_max_attempts": 10,
 "sink": {"type": "sqlite", "path": "$work/siphon.db"}}
EOF

passed=0
failed=0
streams="contact_lists contacts actions campaigns messages transactions fields field_groups
filters list_of_values optout_emails users teams"

# Every stream's table holds as many distinct keys as the emulator has records.
check_tables() {
    for s in $streams; do
        key=code
        [ "$s" = optout_emails ] && key=email
        [ "$s" = transactions ] && key="action_code || '/' || dt_transaction"
        want=$(curl -sf "$url/_emulator/dump?stream=$s" | grep -c .)
        got=$(sqlite3 "$work/siphon.db" "SELECT COUNT(DISTINCT $key) FROM \"$s\"" 2>&1)
        if [ "$got" != "$want" ]; then
            echo "  $s: $got rows in SQLite, the emulator holds $want"
            return 1
        fi
    done
}

# run NAME EXPECTED_EXIT CHECK_TABLES SIPHON_ARGS...
run() {
    name=$1 want=$2 tables=$3
    shift 3
    log="$work/$name.valgrind"
    valgrind --tool=memcheck --error-exitcode=99 --leak-check=full \
        --errors-for-leak-kinds=definite --show-leak-kinds=definite --track-origins=no \
        --child-silent-after-fork=yes --log-file="$log" \
        "$siphon" "$@" >"$work/$name.out" 2>"$work/$name.err"
    status=$?
    ok=1
    if [ "$status" = 99 ]; then
        echo "FAIL $name: memcheck errors or definite leaks:"
        # each error or definite leak with the start of its stack, then the count
        grep -E -A8 '^==[0-9]+== +(Invalid|Conditional jump|Use of uninitialised|Syscall param|Mismatched|Source and destination|[0-9,]+ (\(.*\) )?bytes in [0-9,]+ blocks are definitely lost)' \
            "$log" | head -40
        grep -E '^==[0-9]+== ERROR SUMMARY' "$log" | tail -1
        ok=0
    elif [ "$status" != "$want" ]; then
        echo "FAIL $name: exit $status, want $want:"
        tail -5 "$work/$name.err"
        ok=0
    elif [ "$tables" = yes ] && ! check_tables; then
        echo "FAIL $name: the database does not hold the emulator's records"
        ok=0
    fi
    if [ "$ok" = 1 ]; then
        summary=$(grep -E 'ERROR SUMMARY' "$log" | tail -1 | sed 's/^==[0-9]*== //')
        echo "ok   $name ($summary)"
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
}

run check 0 no check --config "$work/config.json"
run discover 0 no discover --config "$work/config.json"
run full-sync 0 yes run --config "$work/config.json" --quiet
curl -sf -X POST "$url/_emulator/insert" \
    -d '{"stream":"contacts","count":5,"contact-list_code":"1"}' >/dev/null
run incremental-rerun 0 yes run --config "$work/config.json" --quiet
curl -sf -X POST "$url/_emulator/faults" -d '{"spec":["http500:0.05","reset:0.03","truncate:0.03",
    "badjson:0.03","token-expire:6"]}' >/dev/null
rm -f "$work/siphon.db" "$work/siphon.db-wal" "$work/siphon.db-shm"
run sync-under-faults 0 yes run --config "$work/config.json" --quiet
fired=$(curl -sf "$url/_emulator/stats" | sed 's/.*"faults":{//; s/}.*//' | tr ',' '\n' |
    awk -F: '{n += $2} END {print n + 0}')
if [ "$fired" -gt 0 ]; then
    echo "     ($fired faults injected and survived)"
else
    echo "FAIL sync-under-faults: no fault fired, so nothing was tested"
    passed=$((passed - 1))
    failed=$((failed + 1))
fi
curl -sf -X POST "$url/_emulator/faults" \
    -d '{"spec":["apierror:/emkt/campaign/search,240500"]}' >/dev/null
run one-stream-fails 5 no run --config "$work/config.json" --quiet

echo "valgrind: $passed passed, $failed failed"
[ "$failed" = 0 ]
