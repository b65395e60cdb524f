#!/bin/bash
# A rate-limited full sync of all thirteen streams against its floor.
#
# The emulator answers every request after --latency-ms (200) and allows
# --limit (60) requests per sliding window of --window seconds; siphon is told
# the same limit (requests_per_minute) and the same window (rate_window_s).
# The real API's window is 60 s: a benchmark scales it down (default 10 s) so
# the run takes a minute, not six. Both sides scale together, the budget's
# margin is the same share (1/60) of the window as against the real API, and
# the latency is not scaled, so the scaled run is if anything harder than a
# real one (latency weighs six times more per window).
#
# The account has --lists contact lists (default 40): each list brings its own
# fields, field groups, filters, opt-outs, value lists and contacts, so a
# full sync needs several windows of requests over thirteen streams and many
# partitions, the case where the budget must be kept busy.
#
#   floor  = requests / limit x window    (what the brief calls requests ÷ limit)
#   ratio  = elapsed / floor
#
#   tests/bench/budget/run.sh [--build DIR] [--window S] [--lists N] [--latency-ms MS]
#
# Prints "key value" lines (see tests/bench/run.sh, which makes the table).
set -euo pipefail
. "$(dirname "$0")/../emulator_lib.sh"

build=build window=10 lists=40 latency=200 limit=60
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=$2; shift 2 ;;
    --window) window=$2; shift 2 ;;
    --lists) lists=$2; shift 2 ;;
    --latency-ms) latency=$2; shift 2 ;;
    --limit) limit=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
emu=$build/tests/emulator/dinamize-emulator
siphon=$build/core/siphon
[ -x "$emu" ] && [ -x "$siphon" ] || { echo "build first: ninja -C $build" >&2; exit 2; }

work=$(mktemp -d)
epid=
trap '[ -n "$epid" ] && kill -TERM "$epid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

bench_emulator_start "$emu" --lists "$lists" --contacts $((lists * 1000)) --rate-limit "$limit" \
    --rate-window "$window" --latency-ms "$latency"
cat >"$work/config.json" <<JSON
{"source":"dinamize","user":"demo@siphon.test","password":"demo-secret-pw",
 "client_code":"100001","base_url":"$url","requests_per_minute":$limit,
 "rate_window_s":$window}
JSON

export SIPHON_PLUGIN_PATH=$build/plugins/sinks:$build/plugins/dinamize
export SIPHON_PLUGIN_SYSTEM_PATH=
t0=$(date +%s.%N)
"$siphon" run -c "$work/config.json" --sink stdout -q >/dev/null 2>"$work/siphon.err" ||
    { cat "$work/siphon.err" >&2; exit 1; }
t1=$(date +%s.%N)
stats=$(curl -s "$url/_emulator/stats")
num() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" <<<"$stats"; }
requests=$(num total)
echo "budget_window $window"
echo "budget_limit $limit"
echo "budget_latency_ms $latency"
echo "budget_lists $lists"
echo "budget_requests $requests"
echo "budget_rate_limited $(num rate_limited)"
echo "budget_violations $(num violations)"
echo "budget_peak_window $(num peak_window)"
echo "budget_seconds $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
echo "budget_floor_seconds $(awk -v n="$requests" -v l="$limit" -v w="$window" \
    'BEGIN { printf "%.2f", n / l * w }')"
