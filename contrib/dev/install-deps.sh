#!/bin/sh
# Installs the Debian packages siphon needs to build, test, run its demo and
# build its packages — only those that are missing. Idempotent.
set -eu

PACKAGES="meson ninja-build pkg-config gcc clang libclang-rt-14-dev
libcurl4-openssl-dev libjansson-dev libffi-dev libcriterion-dev libsqlite3-dev sqlite3
libpq-dev postgresql libmicrohttpd-dev libgnutls28-dev zlib1g-dev valgrind jq curl time
debhelper dpkg-dev devscripts fakeroot lintian rpm file"

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
