#!/bin/sh
# pg-server.sh start DIR [PID] | stop DIR
#
# A throwaway PostgreSQL cluster for the tests, in DIR (created when missing):
# data in DIR/data, the socket in DIR, TCP on 127.0.0.1 at a free port, trust
# authentication on loopback, user "postgres". `start` prints the libpq DSN
# on stdout (and keeps it in DIR/dsn); `stop` stops the server at once.
#
# With PID, a watchdog stops the server and removes DIR once process PID has
# ended, however it ended: a test that fails an assertion or crashes never
# leaves a server behind.
#
# PostgreSQL refuses to run as root: when run as root, the cluster belongs to
# the "postgres" user, and DIR's parent folders must let that user through
# (DIR itself is handed over to it). fsync is off because the cluster is thrown away; the
# tests kill clients, never the server, so server durability is not under test.
#
# The server binaries are found on PATH, else through pg_config --bindir,
# else in Debian's /usr/lib/postgresql/<newest>/bin.
set -eu

usage() { echo "usage: $0 start DIR [PID] | stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || [ $# -eq 3 ] || usage
cmd=$1
dir=$2
watch=${3:-}

find_bindir() {
    if command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return
    fi
    if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
        pg_config --bindir
        return
    fi
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
        if [ -x "$d/initdb" ]; then echo "$d"; return; fi
    done
    echo "pg-server.sh: no PostgreSQL server binaries (initdb) found" >&2
    exit 1
}

# Runs a server binary as the cluster's owner.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

bindir=$(find_bindir)

case "$cmd" in
start)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres "$dir"
    fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as_owner "$bindir/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --no-locale \
            --no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    tries=0
    while :; do
        # A random port in the dynamic range; a clash only costs a retry.
        port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000 ))
        if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
            -o "-k $dir -p $port -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
            start >/dev/null 2>&1; then
            break
        fi
        tries=$((tries + 1))
        if [ "$tries" -ge 8 ]; then
            echo "pg-server.sh: the server did not start; its log:" >&2
            cat "$dir/server.log" >&2 || true
            exit 1
        fi
    done
    dsn="host=127.0.0.1 port=$port user=postgres dbname=postgres"
    echo "$dsn" >"$dir/dsn"
    if [ -n "$watch" ]; then
        # Detached from our output, so whoever reads it is not kept waiting.
        (
            while kill -0 "$watch" 2>/dev/null; do sleep 1; done
            if [ -f "$dir/data/postmaster.pid" ]; then
                as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop || true
            fi
            rm -rf "$dir"
        ) </dev/null >/dev/null 2>&1 &
    fi
    echo "$dsn"
    ;;
stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    ;;
*)
    usage
    ;;
esac
