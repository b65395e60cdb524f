#!/bin/bash
# The host's overhead: the synthetic example stream into the stdout sink
# (to /dev/null) against a baseline that builds and serialises the same
# records with no host at all, in the same run. Prints records/s, the ratio,
# and peak RSS at 10 thousand and 1 million records.
#
#   tests/bench/host/run.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export SIPHON_PLUGIN_PATH=$build/plugins/sinks:$build/tests/integration
export SIPHON_PLUGIN_SYSTEM_PATH=

measure() { # prints "seconds peak_kb" of a command
    /usr/bin/time -f '%e %M' -o "$work/t" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
    cat "$work/t"
}

printf '%-10s %12s %12s %8s %10s %10s\n' records siphon_rec/s base_rec/s ratio siphon_MB base_MB
for n in 10000 1000000; do
    echo "{\"source\":\"example\",\"record_count\":$n,\"record_size\":100}" >"$work/c.json"
    read -r s_sec s_kb < <(measure "$build/core/siphon" run -c "$work/c.json" -q)
    read -r b_sec b_kb < <(measure "$build/tests/bench/host-baseline" "$n" 100)
    awk -v n="$n" -v s="$s_sec" -v b="$b_sec" -v sk="$s_kb" -v bk="$b_kb" 'BEGIN {
        s = s > 0 ? s : 0.01; b = b > 0 ? b : 0.01
        printf "%-10d %12.0f %12.0f %8.2f %10.1f %10.1f\n", n, n / s, n / b, b / s, sk / 1024, bk / 1024 }'
done
