#!/bin/bash
# siphon's benchmarks in one command, one table (Markdown, ready for the
# README): the contacts sync against a raw curl transfer and a curl + jq
# pipeline, peak memory by account size, a rate-limited full sync against its
# floor, the record path per item, the sinks and the host overhead, each
# against its baseline in the same run. See tests/bench/README.md for what each row measures.
#
#   tests/bench/run.sh [--quick] [--build DIR] [--raw DIR] [--from DIR]
#
# --quick   smaller counts, one run each (about 1 minute instead of 8); the
#           numbers are rougher, the RSS rows stop at 1 million contacts
# --build   the build directory (default build; built first with ninja)
# --raw     also keep every script's raw output in DIR
# --from    measure nothing: print the table of the raw output kept in DIR
#
# Needs curl, jq and /usr/bin/time; PostgreSQL (SIPHON_TEST_PG_DSN, or the
# server binaries, for a throwaway server) for the postgres sink row.
set -euo pipefail
cd "$(dirname "$0")/../.."

build=build quick=0 raw= from=
while [ $# -gt 0 ]; do
    case $1 in
    --quick) quick=1; shift ;;
    --build) build=$2; shift 2 ;;
    --raw) raw=$2; shift 2 ;;
    --from) from=$2; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
# One table from the four outputs kept in DIR.
table() { # DIR
awk -v quick="$quick" '
FILENAME ~ /contacts$/ || FILENAME ~ /budget$/ || FILENAME ~ /scan$/ { kv[$1] = $2; next }
FILENAME ~ /sinks$/ {
    # "name seconds rows/s | baseline seconds rows/s | ratio"; a baseline may hold a "|"
    n = split($0, part, "|")
    if (n >= 3 && part[1] !~ /^sink / && part[n] ~ /[0-9-]/) {
        name = substr(part[1], 1, 14); sub(/ +$/, "", name)
        m = split(part[1], lf, " "); rate = lf[m]
        mid = part[2]; for (i = 3; i < n; i++) mid = mid "|" part[i]
        k = split(mid, rf, " "); base = rf[k]
        bname = mid; sub(/^ +/, "", bname); sub(/ +[0-9.-]+ +[0-9-]+ *$/, "", bname)
        gsub(/\|/, "\\|", bname)
        ratio = part[n]; gsub(/ /, "", ratio)
        sinks[++ns] = sprintf("| sink: %s | %s rows/s | %s: %s rows/s | %s | |", name, rate,
                              bname, base, ratio)
    }
    next
}
FILENAME ~ /host$/ && $1 ~ /^[0-9]+$/ {
    host[++nh] = sprintf("| host overhead: example stream, %d records | %s rec/s, peak RSS %s MB | no host: %s rec/s, %s MB | %s | RSS flat |",
                         $1, $2, $5, $3, $6, $4)
    next
}
function mb(kb) { return sprintf("%.1f MB", kb / 1024) }
# "MEDIAN (median of N pairs: ...; fastest against fastest F)" of the
# back-to-back pairs (see contacts/run.sh)
function pair_text(list, fastest,    np, pr, i, j, t, median, pairs) {
    np = split(list, pr, ",")
    for (i = 1; i <= np; i++) for (j = i + 1; j <= np; j++)
        if (pr[j] + 0 < pr[i] + 0) { t = pr[i]; pr[i] = pr[j]; pr[j] = t }
    if (np == 0) return sprintf("%.2f (fastest against fastest)", fastest)
    median = np % 2 ? pr[(np + 1) / 2] : (pr[np / 2] + pr[np / 2 + 1]) / 2
    pairs = ""
    for (i = 1; i <= np; i++) pairs = pairs (i > 1 ? " " : "") sprintf("%.2f", pr[i])
    return sprintf("%.2f (median of %d pairs: %s; fastest against fastest %.2f)", median, np, pairs, fastest)
}
END {
    c = kv["contacts"]; bytes = kv["api_bytes"]
    rs = kv["raw_seconds"]; js = kv["jq_seconds"]; ss = kv["siphon_seconds"]
    print "| measure | siphon | reference | ratio | target |"
    print "| --- | --- | --- | --- | --- |"
    # the median of the back-to-back pairs (see contacts/run.sh), and the
    # fastest of each side
    printf "| contacts sync, %d contacts, stdout sink | %.0f rec/s, %.1f MB/s | raw curl: %.1f MB/s | %s | >= 0.70 |\n",
        c, c / ss, bytes / 1048576 / ss, bytes / 1048576 / rs, pair_text(kv["pair_ratios"], rs / ss)
    if (kv["serial_seconds"] != "") {
        se = kv["serial_seconds"]
        printf "| the same with \"read_ahead\": false (each page waits for the last to be written) | %.0f rec/s, %.1f MB/s | raw curl: %.1f MB/s | %s | |\n",
            c / se, bytes / 1048576 / se, bytes / 1048576 / rs, pair_text(kv["serial_pair_ratios"], rs / se)
    }
    printf "| contacts sync vs curl + jq | %.2f s | curl + jq: %.2f s (%.0f rec/s) | %.1fx | >= 3x |\n",
        ss, js, c / js, js / ss
    nr = 0
    for (k in kv) if (k ~ /^rss_kb_/) { n = substr(k, 8); counts[++nr] = n + 0 }
    # ascending
    for (i = 1; i <= nr; i++) for (j = i + 1; j <= nr; j++)
        if (counts[j] < counts[i]) { t = counts[i]; counts[i] = counts[j]; counts[j] = t }
    for (i = 1; i <= nr; i++) {
        n = counts[i]
        ratio = i > 1 ? sprintf("%.2f of the %d row", kv["rss_kb_" n] / kv["rss_kb_" counts[i-1]], counts[i-1]) : ""
        printf "| peak RSS, contacts sync of %d contacts | %s (%.1f s) | | %s | < 64 MB, flat |\n",
            n, mb(kv["rss_kb_" n]), kv["rss_seconds_" n], ratio
    }
    fl = kv["budget_floor_seconds"]
    printf "| rate-limited full sync, 13 streams, %d lists: %d requests, %d per %d s window, %d ms latency | %.1f s | floor %d / %d x %d s = %.1f s | %.3f | <= 1.05 |\n",
        kv["budget_lists"], kv["budget_requests"], kv["budget_limit"], kv["budget_window"],
        kv["budget_latency_ms"], kv["budget_seconds"], kv["budget_requests"],
        kv["budget_limit"], kv["budget_window"], fl, kv["budget_seconds"] / fl
    printf "| 240024 answers / requests in the busiest window | %d / %d | limit %d | | 0 / <= %d |\n",
        kv["budget_rate_limited"], kv["budget_peak_window"], kv["budget_limit"], kv["budget_limit"]
    if ("scan_mb_s" in kv) {
        printf "| item check: the validating scan, page of %d contacts | %.0f MB/s | jansson json_loadb: %.1f MB/s | %.1fx | |\n",
            kv["items"], kv["scan_mb_s"], kv["jansson_mb_s"], kv["scan_mb_s"] / kv["jansson_mb_s"]
        printf "| item members of checked text: the split | %.0f MB/s | jansson json_loadb: %.1f MB/s | %.1fx | |\n",
            kv["split_mb_s"], kv["jansson_mb_s"], kv["split_mb_s"] / kv["jansson_mb_s"]
    }
    for (i = 1; i <= ns; i++) print sinks[i]
    for (i = 1; i <= nh; i++) print host[i]
}' "$1/contacts" "$1/budget" $([ -f "$1/scan" ] && echo "$1/scan") "$1/sinks" "$1/host"
    grep -q '^pinned 1' "$1/contacts" ||
        echo "(emulator and client were not pinned to separate CPUs: taskset missing or one CPU)"
}

if [ -n "$from" ]; then
    table "$from"
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ninja -C "$build" >/dev/null

if [ "$quick" = 1 ]; then
    contacts_args=(--contacts 200000 --repeat 1 --rss "10000 100000 1000000")
    budget_args=(--window 6 --lists 20)
    sink_args=(--rows 20000 --repeat 1)
else
    contacts_args=(--contacts 1000000 --repeat 5 --rss "10000 1000000 10000000")
    budget_args=(--window 10 --lists 40)
    sink_args=(--rows 100000 --repeat 3)
fi

step() { echo "# $*" >&2; }
step "contacts sync vs curl and curl + jq, peak RSS"
tests/bench/contacts/run.sh --build "$build" "${contacts_args[@]}" >"$work/contacts"
step "rate-limited full sync"
tests/bench/budget/run.sh --build "$build" "${budget_args[@]}" >"$work/budget"
step "record path per item"
tests/bench/scan/run.sh --build "$build" >"$work/scan"
step "sinks"
"$build/tests/bench/sinks/bench-sinks" "${sink_args[@]}" >"$work/sinks"
step "host overhead"
tests/bench/host/run.sh "$build" >"$work/host"

if [ -n "$raw" ]; then
    mkdir -p "$raw"
    cp "$work/contacts" "$work/budget" "$work/scan" "$work/sinks" "$work/host" "$raw/"
fi
table "$work"
