#!/bin/bash
# Measures the Dinamize API emulator, so siphon's benchmarks can show it is
# not their bottleneck: start time and memory at ten million contacts, and
# throughput (pages/s, MB/s) for pages of 10 000 contacts, read in the
# natural order, as an incremental read (>= bookmark, ascending), and by two
# clients at once. Run by hand; it is not part of the test suite.
#
#   tests/bench/emulator/run.sh [BUILD_DIR] [PAGES]
#
# BUILD_DIR defaults to ./build; PAGES (per client and mode) to 50.
set -euo pipefail
. "$(dirname "$0")/../emulator_lib.sh"

build=${1:-build}
pages=${2:-50}
exe=$build/tests/emulator/dinamize-emulator
[ -x "$exe" ] || { echo "no emulator at $exe (build first: ninja -C $build)" >&2; exit 2; }
command -v curl >/dev/null || { echo "needs curl" >&2; exit 2; }

work=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }

# ---- start time and memory at 10 000 000 contacts ----
t0=$(now)
"$exe" --contacts 10000000 --rate-limit 0 >"$work/out" 2>"$work/err" &
pid=$!
until grep -q '^listening on' "$work/out" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { cat "$work/err" >&2; exit 1; }
    sleep 0.005
done
t1=$(now)
url=$(sed -n 's/^listening on //p' "$work/out")
until curl -sf "$url/_emulator/health" >/dev/null; do sleep 0.005; done
t2=$(now)
rss_start=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
echo "start, 10 000 000 contacts: listening after $(calc '%.3f' "$t1 - $t0") s," \
     "answering after $(calc '%.3f' "$t2 - $t0") s, RSS $(calc '%.1f' "$rss_start / 1024") MB"

token=$(bench_login)

# One curl process per client, reusing its connection for every page.
# $1: file of request bodies (one per line); writes total bytes to $2.
fetch() {
    local args=() first=1
    while IFS= read -r body; do
        [ $first = 1 ] || args+=(--next)
        first=0
        args+=(-s -o /dev/null -w '%{size_download}\n' -X POST "$url/emkt/contact/search"
               -H 'Content-Type: application/json' -H "auth-token: $token" -d "$body")
    done <"$1"
    curl "${args[@]}" | awk '{ s += $1 } END { print s }' >"$2"
}

# The emulator's CPU time (user + system) in clock ticks: wall-clock rates
# depend on what else the machine runs, CPU per page much less.
hz=$(getconf CLK_TCK)
ticks() { awk '{ print $14 + $15 }' /proc/$pid/stat; }

report() { # name pages seconds bytes cpu_ticks
    local cpu_ms
    cpu_ms=$(calc '%.1f' "$5 * 1000 / $hz / $2")
    echo "$1: $2 pages of 10 000 in $(calc '%.2f' "$3") s:" \
         "$(calc '%.1f' "$2 / $3") pages/s, $(calc '%.1f' "$4 / 1048576 / $3") MB/s," \
         "$(calc '%.2f' "$4 / $2 / 1048576") MB/page; emulator CPU $cpu_ms ms/page" \
         "(= $(calc '%.0f' "1000 / ($cpu_ms + 0.0001)") pages/s per core)"
}

# ---- natural order: page after page of list 1 ----
for i in $(seq 1 "$pages"); do
    echo "{\"contact-list_code\":\"1\",\"page_number\":\"$i\",\"page_size\":\"10000\"}"
done >"$work/plain"
c0=$(ticks); t0=$(now); fetch "$work/plain" "$work/b1"; t1=$(now); c1=$(ticks)
report "full-table read (1 client)" "$pages" "$(calc '%.6f' "$t1 - $t0")" "$(cat "$work/b1")" \
    "$((c1 - c0))"

# ---- incremental: >= a bookmark, ascending, deep in the list ----
for i in $(seq 1 "$pages"); do
    echo "{\"contact-list_code\":\"2\",\"page_number\":\"$i\",\"page_size\":\"10000\",\"search\":[{\"field\":\"insert_date\",\"operator\":\">=\",\"value\":\"2022-06-01 00:00:00\"}],\"order\":[{\"field\":\"insert_date\",\"type\":\"ASC\"}]}"
done >"$work/incr"
c0=$(ticks); t0=$(now); fetch "$work/incr" "$work/b2"; t1=$(now); c1=$(ticks)
report "incremental read (1 client)" "$pages" "$(calc '%.6f' "$t1 - $t0")" "$(cat "$work/b2")" \
    "$((c1 - c0))"

# ---- two clients at once ----
c0=$(ticks)
t0=$(now)
fetch "$work/plain" "$work/b3" &
p1=$!
fetch "$work/incr" "$work/b4" &
p2=$!
wait $p1 $p2
t1=$(now)
c1=$(ticks)
report "two clients at once" "$((2 * pages))" "$(calc '%.6f' "$t1 - $t0")" \
    "$(( $(cat "$work/b3") + $(cat "$work/b4") ))" "$((c1 - c0))"

rss_peak=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
echo "peak RSS: $(calc '%.1f' "$rss_peak / 1024") MB"
