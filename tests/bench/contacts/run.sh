#!/bin/bash
# The contacts sync against the emulator (no latency, no rate limit), side by
# side in the same run with the two things a user could do instead:
#
#   raw     curl fetching the same pages into /dev/null (the transfer alone)
#   jq      curl + jq turning the same pages into the same Singer RECORD lines
#   siphon  siphon run --select contacts, stdout sink into /dev/null
#   serial  the same with "read_ahead": false, each page asked for only once
#           the one before is written: what read-ahead gains, in the same run
#
# Each fetches the same requests (page_size 10 000, one page after the other
# per contact list, the lists at once, as siphon reads them), and each runs
# --repeat times, alternating, the fastest run counting (machines are noisy;
# jq, an order of magnitude slower, runs once). Then siphon's peak RSS at each
# --rss count of contacts.
#
# The emulator stands for a remote API, whose CPU is not the client's: on a
# machine with two CPUs or more it runs on CPU 0 and every client (curl, jq,
# siphon) on CPU 1, so a client's work never slows the server it measures
# against, and each side has one core, as it would in production.
#
#   tests/bench/contacts/run.sh [--build DIR] [--contacts N] [--repeat K]
#                               [--rss "10000 1000000 10000000"] [--no-rss]
#
# Prints "key value" lines (see tests/bench/run.sh, which makes the table).
set -euo pipefail
. "$(dirname "$0")/../emulator_lib.sh"

build=build contacts=1000000 repeat=3 rss_counts="10000 1000000 10000000" lists=4
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=$2; shift 2 ;;
    --contacts) contacts=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --rss) rss_counts=$2; shift 2 ;;
    --no-rss) rss_counts=; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
emu=$build/tests/emulator/dinamize-emulator
siphon=$build/core/siphon
for tool in curl jq /usr/bin/time; do
    command -v $tool >/dev/null || { echo "needs $tool" >&2; exit 2; }
done
[ -x "$emu" ] && [ -x "$siphon" ] || { echo "build first: ninja -C $build" >&2; exit 2; }

work=$(mktemp -d)
epid=
stop_emulator() {
    if [ -n "$epid" ]; then kill -TERM "$epid" 2>/dev/null; wait "$epid" 2>/dev/null || true; fi
    epid=
}
trap 'stop_emulator; rm -rf "$work"' EXIT

# One core for the API, one for the client (see above).
server=() client=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
    server=(taskset -c 0) client=(taskset -c 1)
fi

start_emulator() { # CONTACTS
    stop_emulator
    bench_emulator_start "${server[@]}" "$emu" --contacts "$1" --lists $lists --rate-limit 0
    cat >"$work/config.json" <<EOF
{"source":"dinamize","user":"demo@siphon.test","password":"demo-secret-pw",
 "client_code":"100001","base_url":"$url","requests_per_minute":0}
EOF
    sed 's/}$/,"read_ahead":false}/' "$work/config.json" >"$work/config-serial.json"
}

export SIPHON_PLUGIN_PATH=$build/plugins/sinks:$build/plugins/dinamize
export SIPHON_PLUGIN_SYSTEM_PATH=

now() { date +%s.%N; }

start_emulator "$contacts"
token=$(bench_login)

# The requests siphon sends: per list, pages of 10 000 ordered by insert_date
# then code, bounded by a signpost. The last list of the emulator is empty.
per_list=$((contacts / (lists - 1)))
for list in $(seq 1 $((lists - 1))); do
    n=$per_list
    [ "$list" = $((lists - 1)) ] && n=$((contacts - per_list * (lists - 2)))
    pages=$(((n + 9999) / 10000))
    for p in $(seq 1 "$pages"); do
        echo "{\"page_number\":$p,\"page_size\":10000,\"contact-list_code\":\"$list\",\"search\":[{\"field\":\"insert_date\",\"operator\":\"<=\",\"value\":\"2099-12-31 23:59:59\"}],\"order\":[{\"field\":\"insert_date\",\"type\":\"ASC\"},{\"field\":\"code\",\"type\":\"ASC\"}]}"
    done >"$work/list$list"
done

# One curl per list, reusing its connection for every page; writes the bodies
# to stdout.
fetch() { # LIST_FILE
    local args=() first=1
    while IFS= read -r body; do
        [ $first = 1 ] || args+=(--next)
        first=0
        args+=(-s -X POST "$url/emkt/contact/search" -H 'Content-Type: application/json'
               -H "auth-token: $token" -d "$body")
    done <"$1"
    "${client[@]}" curl "${args[@]}"
}

# Singer RECORD lines from the pages, as siphon writes them (the list's code
# added to each contact, a time stamp).
JQ='.body.items[] | {type: "RECORD", stream: "contacts",
    record: (. + {"contact-list_code": $list}), time_extracted: (now | todate)}'

# (wait names the pids: a bare wait would wait for the emulator too)
run_raw() {
    local pids=()
    for list in $(seq 1 $((lists - 1))); do
        fetch "$work/list$list" >/dev/null &
        pids+=($!)
    done
    wait "${pids[@]}"
}

run_jq() {
    local pids=()
    for list in $(seq 1 $((lists - 1))); do
        fetch "$work/list$list" | "${client[@]}" jq -c --arg list "$list" "$JQ" >/dev/null &
        pids+=($!)
    done
    wait "${pids[@]}"
}

run_siphon() { # [CONFIG]
    "${client[@]}" "$siphon" run -c "${1:-$work/config.json}" --select contacts --sink stdout -q \
        >/dev/null 2>"$work/siphon.err" || { cat "$work/siphon.err" >&2; exit 1; }
}

run_serial() {
    run_siphon "$work/config-serial.json"
}

# The bytes the API sends for the pages (once).
bytes=0
for list in $(seq 1 $((lists - 1))); do
    b=$(fetch "$work/list$list" | wc -c)
    bytes=$((bytes + b))
done
# The records siphon writes, to check they are all there (once).
"$siphon" run -c "$work/config.json" --select contacts --sink stdout -q 2>/dev/null |
    grep -c '"type":"RECORD"' >"$work/records"
[ "$(cat "$work/records")" = "$contacts" ] ||
    { echo "siphon wrote $(cat "$work/records") records, expected $contacts" >&2; exit 1; }

# Each round runs raw then siphon back to back, a pair that shares the
# machine's state of the moment: on a machine whose speed drifts, the pair's
# ratio is steadier than the fastest of each side, which may come from
# different moments. Both are reported.
best_raw= best_jq= best_siphon= best_serial= pairs= serial_pairs=
for r in $(seq 1 "$repeat"); do
    whats="raw siphon serial"
    [ "$r" = 1 ] && whats="raw siphon serial jq"
    for what in $whats; do
        t0=$(now); "run_$what"; t1=$(now)
        t=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
        echo "# $what: $t s" >&2
        eval "last_$what=$t"
        eval "cur=\${best_$what}"
        if [ -z "$cur" ] || awk -v t="$t" -v c="$cur" 'BEGIN { exit !(t < c) }'; then
            eval "best_$what=$t"
        fi
    done
    pairs="$pairs${pairs:+,}$(awk -v r="$last_raw" -v s="$last_siphon" 'BEGIN { printf "%.3f", r / s }')"
    serial_pairs="$serial_pairs${serial_pairs:+,}$(awk -v r="$last_raw" -v s="$last_serial" 'BEGIN { printf "%.3f", r / s }')"
done
echo "contacts $contacts"
echo "api_bytes $bytes"
echo "raw_seconds $best_raw"
echo "jq_seconds $best_jq"
echo "siphon_seconds $best_siphon"
echo "pair_ratios $pairs"
echo "serial_seconds $best_serial"
echo "serial_pair_ratios $serial_pairs"
echo "pinned $([ ${#server[@]} -gt 0 ] && echo 1 || echo 0)"

for n in $rss_counts; do
    start_emulator "$n"
    /usr/bin/time -f '%M %e' -o "$work/time" "${client[@]}" "$siphon" run -c "$work/config.json" \
        --select contacts --sink stdout -q >/dev/null 2>"$work/siphon.err" ||
        { cat "$work/siphon.err" >&2; exit 1; }
    read -r kb secs <"$work/time"
    echo "rss_kb_$n $kb"
    echo "rss_seconds_$n $secs"
done
