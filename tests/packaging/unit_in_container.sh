#!/bin/bash
# tests/packaging/unit_in_container.sh: the scheduled run, under a real systemd.
#
#   unit_in_container.sh ROOTFS DEB_DIR EMULATOR
#
# Boots a Debian container (systemd-nspawn; ROOTFS is made with debootstrap
# when it does not exist yet, and kept for the next run), installs the siphon,
# Dinamize and SQLite packages from DEB_DIR into it, and checks, against the
# emulator running on this machine's loopback (the container shares the
# network):
#   - siphon@demo.service runs as a dynamic user under the hardening of the
#     unit, takes the password from the credential store by its environment
#     name (the config holds none), and leaves its SQLite database and nothing
#     else in /var/lib/siphon/demo;
#   - systemctl stop during a run ends it with exit 130 after a commit, and
#     the unit counts that as a success;
#   - siphon@demo.timer can be enabled and is scheduled.
# Prints one line per check and "unit: N passed, M failed"; exits 1 on any
# failure. Needs root, debootstrap and systemd-nspawn (systemd-container).
set -u

rootfs=$1
deb_dir=$2
emulator=$3
passed=0
failed=0
nspawn_pid=""
emulator_pid=""
work=$(mktemp -d "${TMPDIR:-/tmp}/siphon-unit.XXXXXX")

cleanup() {
    [ -n "$emulator_pid" ] && kill "$emulator_pid" 2>/dev/null && wait "$emulator_pid" 2>/dev/null
    if [ -n "$nspawn_pid" ]; then
        kill -TERM "$nspawn_pid" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$nspawn_pid" 2>/dev/null
    fi
    rm -rf "$work"
}
trap cleanup EXIT

check() {
    local name=$1
    shift
    if "$@" >"$work/out" 2>&1; then
        passed=$((passed + 1))
        echo "ok   - $name"
    else
        failed=$((failed + 1))
        echo "FAIL - $name"
        sed 's/^/       /' "$work/out" | tail -n 40
    fi
}

finish() {
    echo "unit: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit $?
}

make_rootfs() {
    [ -x "$rootfs/lib/systemd/systemd" ] && return 0
    rm -rf "$rootfs"
    debootstrap --variant=minbase \
        --include=systemd,systemd-sysv,dbus,libjansson4,libcurl4,libffi8,libsqlite3-0,libpq5,zlib1g,ca-certificates \
        bookworm "$rootfs" http://deb.debian.org/debian
}
check "a Debian rootfs with systemd" make_rootfs
[ "$failed" -eq 0 ] || finish

install_debs() {
    rm -rf "$rootfs/tmp/debs"
    mkdir -p "$rootfs/tmp/debs"
    cp "$deb_dir"/siphon_*.deb "$deb_dir"/siphon-plugins-dinamize_*.deb \
        "$deb_dir"/siphon-sink-sqlite_*.deb "$rootfs/tmp/debs/" || return 1
    chroot "$rootfs" sh -c 'dpkg -i /tmp/debs/*.deb' || return 1
    chroot "$rootfs" siphon plugins list --strict >/dev/null
}
check "the packages install in the container" install_debs

# The emulator on the host's loopback, slow enough for a stop to land mid-run.
start_emulator() {
    "$emulator" --port 0 --rate-limit 0 --contacts 2000 --latency-ms "$1" >"$work/emu.out" 2>&1 &
    emulator_pid=$!
    for _ in $(seq 100); do
        url=$(sed -n 's/^listening on \(http:[^ ]*\)$/\1/p' "$work/emu.out" | head -n1)
        [ -n "$url" ] && return 0
        sleep 0.1
    done
    return 1
}

configure() {
    rm -rf "$rootfs/var/lib/private/siphon" "$rootfs/var/lib/siphon"
    mkdir -p "$rootfs/etc/siphon" "$rootfs/etc/credstore"
    cat >"$rootfs/etc/siphon/demo.json" <<EOF
{
  "user": "demo@siphon.test",
  "client_code": "100001",
  "base_url": "$url",
  "requests_per_minute": 100000,
  "checkpoint_records": 100,
  "sink": {"type": "sqlite", "path": "demo.db"}
}
EOF
    chmod 0644 "$rootfs/etc/siphon/demo.json"
    chmod 0700 "$rootfs/etc/credstore"
    printf 'demo-secret-pw\n' >"$rootfs/etc/credstore/siphon-demo.DINAMIZE_PASSWORD"
    chmod 0600 "$rootfs/etc/credstore/siphon-demo.DINAMIZE_PASSWORD"
    # How each run ended, as systemd saw it. An inactive unit nothing refers
    # to may be unloaded at once, and `systemctl show` then reports defaults;
    # ExecStopPost= is told the result before that ("+": outside the sandbox,
    # so it can write to /run).
    mkdir -p "$rootfs/etc/systemd/system/siphon@demo.service.d"
    cat >"$rootfs/etc/systemd/system/siphon@demo.service.d/exit-status.conf" <<'EOF'
[Service]
ExecStopPost=+/bin/sh -c 'echo "$SERVICE_RESULT $EXIT_CODE $EXIT_STATUS" > /run/siphon-demo.exit'
EOF
}

# "RESULT CODE STATUS" of the last run, e.g. "success exited 130".
last_exit() { in_ct cat /run/siphon-demo.exit; }

boot() {
    systemd-nspawn --register=no --keep-unit --console=passive -q -D "$rootfs" --boot \
        >"$work/boot.log" 2>&1 &
    nspawn_pid=$!
    local state=""
    for _ in $(seq 150); do
        pid1=$(ps --ppid "$nspawn_pid" -o pid= 2>/dev/null | head -n1 | tr -d ' ')
        if [ -n "$pid1" ]; then
            state=$(nsenter -t "$pid1" -a systemctl is-system-running 2>/dev/null)
            case $state in running | degraded) echo "container: $state"; return 0 ;; esac
        fi
        sleep 0.2
    done
    echo "container did not come up (state '$state')"
    cat "$work/boot.log"
    return 1
}

in_ct() { nsenter -t "$pid1" -a "$@"; }

check "the emulator starts" start_emulator 0
check "a config without secrets and a credential in the store" configure
check "the container boots" boot
[ "$failed" -eq 0 ] || finish

scheduled_run() {
    in_ct rm -f /run/siphon-demo.exit
    in_ct systemctl start siphon@demo.service
    in_ct journalctl -q -u siphon@demo.service --no-pager | tail -n 25
    echo "exit: $(last_exit)"
    [ "$(last_exit)" = "success exited 0" ] || return 1
    # The dynamic user's state directory holds the database and the run wrote
    # nowhere else it could (the rest is read-only to it).
    ls -la "$rootfs/var/lib/private/siphon/demo"
    [ -s "$rootfs/var/lib/private/siphon/demo/demo.db" ] || return 1
    /usr/bin/python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
n = c.execute("select count(*) from contacts").fetchone()[0]
print("contacts rows:", n)
sys.exit(0 if n > 0 else 1)' "$rootfs/var/lib/private/siphon/demo/demo.db" || return 1
    # The password reached the run only as a credential: not in the config,
    # not in the environment of the unit.
    ! grep -q demo-secret-pw "$rootfs/etc/siphon/demo.json" &&
        ! in_ct systemctl show -P Environment siphon@demo.service | grep -q demo-secret-pw
}
check "siphon@demo.service syncs into its state directory with the credential" scheduled_run

stop_mid_run() {
    kill "$emulator_pid" && wait "$emulator_pid" 2>/dev/null
    start_emulator 300 || return 1
    configure
    in_ct rm -f /run/siphon-demo.exit
    in_ct systemctl start --no-block siphon@demo.service
    # Wait until the run is under way, then stop it.
    for _ in $(seq 150); do
        [ "$(in_ct systemctl show -P ActiveState siphon@demo.service)" = activating ] &&
            [ -s "$rootfs/var/lib/private/siphon/demo/demo.db" ] && break
        sleep 0.2
    done
    sleep 1
    in_ct systemctl stop siphon@demo.service
    in_ct journalctl -q -u siphon@demo.service --no-pager | tail -n 15
    echo "exit: $(last_exit)"
    # "exited", not "killed": siphon ended by itself, after committing.
    [ "$(last_exit)" = "success exited 130" ]
}
check "systemctl stop ends a run with 130, counted as success" stop_mid_run

timer() {
    in_ct systemctl enable --now siphon@demo.timer || return 1
    in_ct systemctl list-timers --all --no-pager | tee /dev/stderr | grep -q 'siphon@demo.timer'
}
check "siphon@demo.timer is enabled and scheduled" timer

finish
