#!/bin/bash
# The record path's cost per item: one page of 10 000 contacts from the
# emulator, read three ways (see bench_scan.c). Prints "key value" lines.
#
#   tests/bench/scan/run.sh [--build DIR] [--rounds N]
set -euo pipefail
. "$(dirname "$0")/../emulator_lib.sh"
build=build rounds=20
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
emu=$build/tests/emulator/dinamize-emulator
bench=$build/tests/bench/bench-scan
[ -x "$emu" ] && [ -x "$bench" ] || { echo "build first: ninja -C $build" >&2; exit 2; }
work=$(mktemp -d)
epid=
trap '[ -n "$epid" ] && kill "$epid" 2>/dev/null; rm -rf "$work"' EXIT
bench_emulator_start "$emu" --contacts 10000 --lists 2 --rate-limit 0
token=$(bench_login)
curl -s -X POST "$url/emkt/contact/search" -H 'Content-Type: application/json' \
    -H "auth-token: $token" -d '{"page_number":1,"page_size":10000,"contact-list_code":"1"}' \
    >"$work/page.json"
"$bench" "$work/page.json" "$rounds"
