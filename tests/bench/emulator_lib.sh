# Sourced by the benchmark scripts: the emulator in the background, and a
# login to it. The caller sets work (a scratch folder) and stops epid.

# Runs the command given (the emulator, maybe behind taskset) in the
# background and waits until it listens; sets epid and url.
bench_emulator_start() {
    "$@" >"$work/emu.out" 2>"$work/emu.err" &
    epid=$!
    until grep -q '^listening on' "$work/emu.out" 2>/dev/null; do
        kill -0 "$epid" 2>/dev/null || { cat "$work/emu.err" >&2; exit 1; }
        sleep 0.01
    done
    url=$(sed -n 's/^listening on //p' "$work/emu.out")
}

# Logs in to the emulator at url with the demo account; prints the token.
bench_login() {
    local token
    token=$(curl -s -X POST "$url/auth" -H 'Content-Type: application/json' \
        -d '{"user":"demo@siphon.test","password":"demo-secret-pw","client_code":"100001"}' |
        sed -n 's/.*"auth-token":"\([^"]*\)".*/\1/p')
    [ -n "$token" ] || { echo "login failed" >&2; exit 1; }
    echo "$token"
}
