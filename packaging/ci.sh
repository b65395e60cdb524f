#!/bin/bash
# packaging/ci.sh: the packaging part of CI.
#
#   packaging/ci.sh [BUILD_DIR]
#
# Builds the Debian packages from a copy of the tree (packaging/debian copied
# to debian/), runs lintian on them, installs them on this machine, and checks
# the installed layout the way a user meets it:
#   - `siphon plugins` lists every packaged plugin from the system plugin
#     directory with no SIPHON_PLUGIN_PATH, and refuses none;
#   - the demo (every Dinamize stream against the API emulator, into SQLite)
#     runs with the installed binary and plugins;
#   - contrib/example-stream builds against the installed siphon-plugin.pc
#     alone and loads;
#   - the man pages render without warnings and match the program, the
#     completions parse, the systemd units verify, and a scheduled run works
#     under a real systemd in a container (tests/packaging/unit_in_container.sh);
# then builds the RPMs with rpmbuild -bb --nodeps (Debian has no RPM database
# of build dependencies) and checks their ABI Provides/Requires. The packages
# it installed are purged at the end.
#
# SIPHON_PACKAGES_OUT=DIR keeps the built .deb and .rpm files there.
# BUILD_DIR is a configured build tree of this source with the emulator
# (tests/emulator/dinamize-emulator); without one, a build is made in a
# temporary folder. Needs root (it installs packages); missing tools are
# installed with apt-get; the container's rootfs is made with debootstrap
# from Debian's archive once and kept in SIPHON_CI_ROOTFS (default
# /var/tmp/siphon-ci-rootfs). The last line is "packaging: N passed, M
# failed"; the exit code is non-zero when anything failed.
set -u
umask 022

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${1:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/siphon-packaging.XXXXXX")
passed=0
failed=0
installed_debs=""
emulator_pid=""

log() { printf '%s\n' "$*"; }

cleanup() {
    if [ -n "$emulator_pid" ]; then
        kill "$emulator_pid" 2>/dev/null
        wait "$emulator_pid" 2>/dev/null
    fi
    if [ -n "$installed_debs" ]; then
        # shellcheck disable=SC2086
        dpkg --purge $installed_debs >/dev/null 2>&1
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# check NAME COMMAND...: runs one check, keeps its output, prints it on failure.
check() {
    local name=$1
    shift
    local out="$work/check.out"
    if "$@" >"$out" 2>&1; then
        passed=$((passed + 1))
        log "ok   - $name"
    else
        failed=$((failed + 1))
        log "FAIL - $name"
        sed 's/^/       /' "$out" | tail -n 60
    fi
}

# fail NAME WHY: records a check that could not even run.
fail() {
    failed=$((failed + 1))
    log "FAIL - $1"
    log "       $2"
}

finish() {
    log "packaging: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit $?
}

# ---------------------------------------------------------------- tools

need_tools() {
    local missing=""
    command -v dpkg-buildpackage >/dev/null || missing="$missing dpkg-dev"
    command -v dh >/dev/null || missing="$missing debhelper"
    command -v lintian >/dev/null || missing="$missing lintian"
    command -v rpmbuild >/dev/null || missing="$missing rpm"
    command -v zsh >/dev/null || missing="$missing zsh"
    command -v jq >/dev/null || missing="$missing jq"
    command -v groff >/dev/null || missing="$missing groff-base"
    command -v man >/dev/null || missing="$missing man-db"
    command -v systemd-analyze >/dev/null || missing="$missing systemd"
    command -v systemd-nspawn >/dev/null || missing="$missing systemd-container"
    command -v debootstrap >/dev/null || missing="$missing debootstrap"
    [ -z "$missing" ] && return 0
    log "installing:$missing"
    # shellcheck disable=SC2086
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends $missing
}

if [ "$(id -u)" -ne 0 ]; then
    fail "packaging checks" "must run as root: they install packages"
    finish
fi
check "build tools are present" need_tools

# ---------------------------------------------------------------- versions

# One version and one ABI, whichever file a packager reads.
versions_agree() {
    local meson_version spec_version deb_version meson_major spec_major meson_minor spec_minor
    meson_version=$(sed -n "s/^ *version: *'\([^']*\)'.*/\1/p" "$root/meson.build" | head -n1)
    spec_version=$(sed -n 's/^Version: *//p' "$root/packaging/rpm/siphon.spec")
    deb_version=$(dpkg-parsechangelog -l "$root/packaging/debian/changelog" -S Version)
    meson_major=$(sed -n 's/^abi_major *= *//p' "$root/meson.build")
    meson_minor=$(sed -n 's/^abi_minor *= *//p' "$root/meson.build")
    spec_major=$(sed -n 's/^%global siphon_abi_major *//p' "$root/packaging/rpm/siphon.spec")
    spec_minor=$(sed -n 's/^%global siphon_abi_minor *//p' "$root/packaging/rpm/siphon.spec")
    log "meson $meson_version, rpm $spec_version, deb $deb_version;" \
        "ABI meson $meson_major.$meson_minor, rpm $spec_major.$spec_minor"
    [ -n "$meson_version" ] && [ "$meson_version" = "$spec_version" ] &&
        [ "${deb_version%%-*}" = "$meson_version" ] &&
        [ -n "$meson_major" ] && [ "$meson_major" = "$spec_major" ] &&
        [ -n "$meson_minor" ] && [ "$meson_minor" = "$spec_minor" ]
}
check "meson.build, debian/changelog and the RPM spec agree on version and ABI" versions_agree

# ---------------------------------------------------------------- source copy

# The tree as git knows it (tracked and new files, not ignored build output),
# or every file outside build folders when this is not a git checkout.
copy_tree() {
    local dest=$1
    mkdir -p "$dest"
    if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
        # Files deleted in the work tree but still in the index do not
        # exist to be copied: skip them rather than fail.
        (cd "$root" && git ls-files -z --cached --others --exclude-standard |
            while IFS= read -r -d '' f; do [ -e "$f" ] || [ -L "$f" ] && printf '%s\0' "$f"; done |
            xargs -0 -r cp --parents -P -t "$dest") || return 1
    else
        (cd "$root" && tar --exclude='./build*' --exclude='./.git' -cf - .) | (cd "$dest" && tar xf -)
    fi
    [ -f "$dest/meson.build" ] && [ -d "$dest/packaging/debian" ]
}

version=$(sed -n 's/^Version: *//p' "$root/packaging/rpm/siphon.spec")
src="$work/src/siphon-$version"
check "copy the source tree" copy_tree "$src"

# ---------------------------------------------------------------- Debian

deb_build() {
    rm -rf "$src/debian"
    cp -a "$src/packaging/debian" "$src/debian"
    (cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" dpkg-buildpackage -us -uc -b) \
        >"$work/dpkg-buildpackage.log" 2>&1 || { tail -n 80 "$work/dpkg-buildpackage.log"; return 1; }
    ls "$work/src"/*.deb
    [ "$(ls "$work/src"/*.deb | wc -l)" -ge 5 ]
}
check "dpkg-buildpackage -us -uc -b builds the packages" deb_build

changes=$(ls "$work/src"/siphon_*.changes 2>/dev/null | head -n1)
debs=$(ls "$work/src"/*.deb 2>/dev/null | grep -v -- '-dbgsym_' || true)

deb_lintian() {
    [ -n "$changes" ] || { echo "no .changes file"; return 1; }
    # Errors fail; warnings are printed and documented in packaging/README.md.
    lintian --fail-on error --display-level '>=warning' "$changes" >"$work/lintian.txt" 2>&1
    local rc=$?
    cat "$work/lintian.txt"
    return $rc
}
check "lintian reports no error" deb_lintian
[ -s "$work/lintian.txt" ] && sed 's/^/       lintian: /' "$work/lintian.txt"

deb_fields() {
    local pkg host_provides dep
    host_provides=$(dpkg-deb -f "$work/src"/siphon_*.deb Provides)
    echo "siphon: Provides: $host_provides"
    echo "$host_provides" | grep -Eq '^siphon-plugin-abi-[0-9]+ \(= [0-9]+\.[0-9]+\)$' || return 1
    for pkg in siphon-plugins-dinamize siphon-sink-sqlite siphon-sink-postgres; do
        dep=$(dpkg-deb -f "$work/src/${pkg}"_*.deb Depends)
        echo "$pkg: Depends: $dep"
        # Depends on the ABI, never on an exact siphon version.
        echo "$dep" | grep -Eq "${host_provides%% *} \\(>= [0-9]+\\.[0-9]+\\)" || return 1
        echo "$dep" | grep -Eq '(^|, )siphon( |,|$)' && return 1
    done
    dpkg-deb -f "$work/src"/libsiphon-plugin-dev_*.deb Depends | tee /dev/stderr |
        grep -q 'libjansson-dev' || return 1
    dpkg-deb -f "$work/src"/libsiphon-plugin-dev_*.deb Depends | grep -q 'pkg-config'
}
check "plugin packages depend on the ABI package the host provides" deb_fields

deb_install() {
    [ -n "$debs" ] || return 1
    local pkgs
    pkgs=$(for d in $debs; do dpkg-deb -f "$d" Package; done | tr '\n' ' ')
    # shellcheck disable=SC2086
    if ! dpkg -i $debs; then
        DEBIAN_FRONTEND=noninteractive apt-get install -f -y -qq || return 1
    fi
    installed_debs=$pkgs
    # shellcheck disable=SC2086
    dpkg -s $pkgs | grep -c '^Status: install ok installed' | grep -qx "$(echo $pkgs | wc -w)"
}
check "the packages install" deb_install

plugindir=$(pkg-config --variable=plugindir siphon-plugin 2>/dev/null)

plugins_from_system_dir() {
    local list so n_so=0 n_listed n_dinamize
    [ -n "$plugindir" ] && [ -d "$plugindir" ] || { echo "no plugin directory '$plugindir'"; return 1; }
    list=$(env -u SIPHON_PLUGIN_PATH -u SIPHON_PLUGIN_SYSTEM_PATH siphon plugins list --json --strict) ||
        { echo "$list"; return 1; }
    echo "$list" | jq -e --arg d "$plugindir" '.search_path == [$d]' >/dev/null ||
        { echo "search path: $(echo "$list" | jq -c .search_path)"; return 1; }
    echo "$list" | jq -e '.refused == []' >/dev/null || { echo "$list" | jq .refused; return 1; }
    # Every module a package put into the plugin directory is loaded from there.
    # shellcheck disable=SC2086
    for so in $(dpkg -L $installed_debs | grep -E "^$plugindir/[^/]+\.so$" | sort); do
        n_so=$((n_so + 1))
        echo "$list" | jq -e --arg f "$so" 'any(.plugins[]; .file == $f)' >/dev/null ||
            { echo "not listed: $so"; return 1; }
    done
    n_listed=$(echo "$list" | jq '.plugins | length')
    n_dinamize=$(dpkg -L siphon-plugins-dinamize | grep -c "^$plugindir/siphon-dinamize-.*\.so$")
    echo "$n_so packaged modules in $plugindir, $n_listed plugins listed, $n_dinamize Dinamize streams"
    [ "$n_so" -gt 0 ] && [ "$n_listed" -eq "$n_so" ] && [ "$n_dinamize" -eq 13 ]
}
check "siphon plugins lists every packaged plugin from the system directory" plugins_from_system_dir

plugin_dir_matches_sdk() {
    local compiled
    compiled=$(env -u SIPHON_PLUGIN_PATH -u SIPHON_PLUGIN_SYSTEM_PATH siphon plugins list --json |
        jq -r '.search_path[-1]')
    echo "siphon searches $compiled; siphon-plugin.pc says $plugindir"
    [ "$compiled" = "$plugindir" ]
}
check "the SDK's plugindir is the directory the host searches" plugin_dir_matches_sdk

version_output() {
    siphon --version
    siphon --version | grep -Fx "siphon $version (plugin ABI $(pkg-config --variable=abi_major siphon-plugin).$(pkg-config --variable=abi_minor siphon-plugin))"
}
check "siphon --version names the release and the ABI of the SDK" version_output

# ---------------------------------------------------------------- docs

man_pages() {
    local sec page file warnings rc=0
    for page in 1:siphon 5:siphon-config 7:siphon-plugins; do
        sec=${page%%:*}
        page=${page#*:}
        file=$(man -w "$sec" "$page" 2>/dev/null) || { echo "$page($sec): not installed"; rc=1; continue; }
        # What lintian's groff-message check runs.
        warnings=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 \
            man --warnings -E UTF-8 -l -Tutf8 -Z "$file" 2>&1 >/dev/null)
        echo "$page($sec): $file${warnings:+: $warnings}"
        [ -z "$warnings" ] || rc=1
    done
    return $rc
}
check "the man pages are installed and render without warnings" man_pages

man_pages_match() {
    env -u SIPHON_PLUGIN_PATH -u SIPHON_PLUGIN_SYSTEM_PATH /usr/bin/python3 \
        "$root/tests/packaging/check_docs.py" /usr/bin/siphon "$root/core/error.h" \
        "$(man -w 1 siphon)" "$(man -w 5 siphon-config)" "$(man -w 7 siphon-plugins)"
}
check "the installed man pages document every command, option and exit code" man_pages_match

completions() {
    bash -n /usr/share/bash-completion/completions/siphon &&
        zsh -n /usr/share/zsh/vendor-completions/_siphon || return 1
    # bash: the completion function, called as bash-completion calls it.
    bash -c '. /usr/share/bash-completion/completions/siphon
             COMP_WORDS=(siphon plugins inspect dinamize-con); COMP_CWORD=3
             _siphon siphon; printf "%s\n" "${COMPREPLY[@]}"' | tee "$work/compl" &&
        grep -qx 'dinamize-contacts' "$work/compl" || return 1
    bash -c '. /usr/share/bash-completion/completions/siphon
             COMP_WORDS=(siphon run --sink s); COMP_CWORD=3
             _siphon siphon; printf "%s\n" "${COMPREPLY[@]}"' | sort | tee "$work/compl" &&
        [ "$(tr '\n' ' ' <"$work/compl")" = "sqlite stdout " ] || return 1
    bash -c '. /usr/share/bash-completion/completions/siphon
             COMP_WORDS=(siphon run --select contacts,act); COMP_CWORD=3
             _siphon siphon; printf "%s\n" "${COMPREPLY[@]}"' | tee "$work/compl" &&
        grep -qx 'contacts,actions' "$work/compl" || return 1
    # zsh: typed into an interactive zsh, TAB and all.
    env -u SIPHON_PLUGIN_PATH -u SIPHON_PLUGIN_SYSTEM_PATH \
        zsh -f "$root/tests/packaging/zsh_completion.zsh" /usr/share/zsh/vendor-completions \
        'siphon ab=>siphon about' \
        'siphon run --sink sq=>siphon run --sink sqlite' \
        'siphon plugins ex=>siphon plugins exists' \
        'siphon plugins inspect dinamize-opt=>siphon plugins inspect dinamize-optout_emails' \
        'siphon run --log-level wa=>siphon run --log-level warn' \
        'siphon --disc=>siphon --discover'
}
check "the bash and zsh completions parse and complete installed plugin names" completions

systemd_units() {
    local unitdir
    unitdir=$(dpkg -L siphon | grep -E '/systemd/system/siphon@\.service$' | xargs dirname)
    [ -n "$unitdir" ] || return 1
    # Verify an instance: systemd-analyze loads the template beside it.
    mkdir -p "$work/units"
    cp "$unitdir/siphon@.service" "$work/units/siphon@demo.service"
    cp "$unitdir/siphon@.timer" "$work/units/siphon@demo.timer"
    (cd "$work/units" && SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no \
        siphon@demo.service siphon@demo.timer) 2>&1 | tee "$work/verify"
    # Warnings about the machine itself (no running systemd) are not ours.
    ! grep -v -e 'Failed to .*/run/systemd' -e 'not running' "$work/verify" | grep -q 'siphon'
}
check "systemd-analyze verify accepts the service and timer" systemd_units

# Every example config passes siphon's own validation (option names, types,
# choices, sink names) against the installed plugins, and the Meltano example
# claims exactly the capabilities siphon reports.
examples_valid() {
    local ex=/usr/share/doc/siphon/examples f n=0 want have
    for f in "$ex"/*.json; do
        n=$((n + 1))
        env -u SIPHON_PLUGIN_PATH -u SIPHON_PLUGIN_SYSTEM_PATH \
            siphon about --config "$f" --format json >/dev/null || { echo "refused: $f"; return 1; }
        echo "valid: $f"
    done
    [ "$n" -ge 4 ] || return 1
    want=$(siphon about --format json | jq -r '.capabilities[]' | sort | tr '\n' ' ')
    have=$(sed -n '/^    capabilities:/,/^    [a-z]/s/^    - //p' "$ex/meltano.yml" | sort | tr '\n' ' ')
    echo "capabilities: siphon '$want', meltano.yml '$have'"
    [ -n "$want" ] && [ "$want" = "$have" ]
}
check "the example configs are valid and meltano.yml claims what siphon can do" examples_valid

# ---------------------------------------------------------------- demo

if [ -z "$build_dir" ]; then
    build_dir="$work/build"
    check "build the emulator" bash -c "meson setup '$build_dir' '$root' -Dtests=enabled \
        -Demulator=enabled >/dev/null && ninja -C '$build_dir' tests/emulator/dinamize-emulator >/dev/null"
fi
emulator="$build_dir/tests/emulator/dinamize-emulator"

demo() {
    [ -x "$emulator" ] || { echo "no emulator at $emulator"; return 1; }
    local d="$work/demo" port url stream want got
    mkdir -p "$d"
    "$emulator" --port 0 --rate-limit 0 --contacts 300 >"$d/emulator.out" 2>"$d/emulator.err" &
    emulator_pid=$!
    for _ in $(seq 100); do
        url=$(sed -n 's/^listening on \(http:[^ ]*\)$/\1/p' "$d/emulator.out" | head -n1)
        [ -n "$url" ] && break
        sleep 0.1
    done
    [ -n "$url" ] || { cat "$d/emulator.err"; return 1; }
    cat >"$d/demo.json" <<EOF
{
  "user": "demo@siphon.test",
  "client_code": "100001",
  "base_url": "$url",
  "requests_per_minute": 100000,
  "sink": {"type": "sqlite", "path": "$d/demo.db"}
}
EOF
    # The secret comes the way the systemd unit passes it: a credential file.
    mkdir -p "$d/credentials"
    printf 'demo-secret-pw\n' >"$d/credentials/DINAMIZE_PASSWORD"
    (cd "$d" && env -u SIPHON_PLUGIN_PATH -u SIPHON_PLUGIN_SYSTEM_PATH \
        CREDENTIALS_DIRECTORY="$d/credentials" /usr/bin/siphon run --config "$d/demo.json" --quiet) ||
        return 1
    # Every stream's table holds what the API serves for it.
    for stream in $(siphon plugins list --json | jq -r '.plugins[].components[] | select(.kind == "stream") | .name'); do
        want=$(curl -fsS "$url/_emulator/dump?stream=$stream" | grep -c .)
        got=$(/usr/bin/python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
print(c.execute("select count(*) from \"%s\"" % sys.argv[2].replace("\"", "\"\"")).fetchone()[0])' \
            "$d/demo.db" "$stream") || return 1
        echo "$stream: API $want, table $got"
        [ "$want" = "$got" ] || return 1
    done
    demo_url=$url
}
demo_url=""
check "the demo runs with the installed binary against the emulator" demo

# The packaged transforms library, at the path siphon-config(5) names, called
# from a stream map by the installed siphon.
transforms_br() {
    [ -n "$demo_url" ] || { echo "the demo's emulator is not running"; return 1; }
    local d="$work/transforms" lib multiarch n_records n_mapped
    multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
    lib="/usr/lib/$multiarch/siphon/transforms/libsiphon-transforms-br.so"
    dpkg -L siphon-transforms-br | grep -qx "$lib" || { echo "$lib is not in the package"; return 1; }
    mkdir -p "$d"
    cat >"$d/config.json" <<EOF
{
  "user": "demo@siphon.test",
  "password": "demo-secret-pw",
  "client_code": "100001",
  "base_url": "$demo_url",
  "requests_per_minute": 100000,
  "allow_native_transforms": true,
  "transforms": [
    {"name": "e164", "library": "$lib", "symbol": "br_phone_e164",
     "signature": "string(string)", "free": "br_free"},
    {"name": "cpf_valid", "library": "$lib", "symbol": "cpf_valid", "signature": "bool(string)"}
  ],
  "stream_maps": {"contacts": {
    "__filter__": "cpf_valid('529.982.247-25')",
    "office_phone": "e164('(11) 98765-4321')"
  }}
}
EOF
    env -u SIPHON_PLUGIN_PATH -u SIPHON_PLUGIN_SYSTEM_PATH \
        siphon run --config "$d/config.json" --select contacts --sink stdout --quiet >"$d/out.jsonl" ||
        return 1
    n_records=$(jq -c 'select(.type == "RECORD")' "$d/out.jsonl" | grep -c .)
    n_mapped=$(jq -c 'select(.type == "RECORD" and .record.office_phone == "+5511987654321")' \
        "$d/out.jsonl" | grep -c .)
    echo "contacts: $n_records records, $n_mapped with the mapped phone"
    [ "$n_records" -gt 0 ] && [ "$n_records" = "$n_mapped" ]
}
check "the packaged Brazilian transforms run in a stream map" transforms_br
if [ -n "$emulator_pid" ]; then
    kill "$emulator_pid" 2>/dev/null
    wait "$emulator_pid" 2>/dev/null
    emulator_pid=""
fi

# The scheduled run under a real systemd: a container booted from a Debian
# rootfs (made once with debootstrap and kept in /var/tmp for later runs).
unit_in_container() {
    [ -x "$emulator" ] || { echo "no emulator at $emulator"; return 1; }
    bash "$root/tests/packaging/unit_in_container.sh" \
        "${SIPHON_CI_ROOTFS:-/var/tmp/siphon-ci-rootfs}" "$work/src" "$emulator"
}
check "siphon@.service and siphon@.timer work under systemd (container)" unit_in_container

# ---------------------------------------------------------------- SDK

example_plugin() {
    local d="$work/example" so out
    # A copy outside the tree: nothing but the installed SDK to build with.
    cp -a "$root/contrib/example-stream" "$d"
    (cd "$d" && meson setup build >/dev/null && ninja -C build) || return 1
    so=$(find "$d/build" -maxdepth 1 -name '*.so' | head -n1)
    [ -n "$so" ] || return 1
    # It installs where the SDK says plugins go.
    DESTDIR="$d/dest" meson install -C "$d/build" --no-rebuild >/dev/null || return 1
    [ -f "$d/dest$plugindir/$(basename "$so")" ] || { echo "not installed into $plugindir"; return 1; }
    SIPHON_PLUGIN_PATH="$d/dest$plugindir" siphon plugins inspect example-stream || return 1
    # And it runs: ten synthetic records on stdout.
    printf '{"source": "example", "record_count": 10}\n' >"$d/example.json"
    out=$(SIPHON_PLUGIN_PATH="$so" siphon run --config "$d/example.json" --quiet) || return 1
    [ "$(echo "$out" | jq -c 'select(.type == "RECORD")' | wc -l)" -eq 10 ]
}
check "contrib/example-stream builds against the installed siphon-plugin.pc and loads" example_plugin

example_plugin_cc() {
    local d="$work/example-cc"
    mkdir -p "$d"
    # The one-line build the SDK documents, with the pkg-config flags alone.
    # shellcheck disable=SC2046
    cc -std=c11 -Wall -Wextra -Werror -shared -fPIC -fvisibility=hidden -Wl,--no-undefined \
        "$root/contrib/example-stream/example_stream.c" $(pkg-config --cflags --libs siphon-plugin) \
        -o "$d/siphon-example-stream.so" || return 1
    SIPHON_PLUGIN_PATH="$d" siphon plugins exists example-stream --atleast-version 1.0
}
check "the example plugin also builds with cc and pkg-config alone" example_plugin_cc

# ---------------------------------------------------------------- removal

deb_purge() {
    # shellcheck disable=SC2086
    dpkg --purge $installed_debs || return 1
    installed_debs=""
    [ ! -e /usr/bin/siphon ] && [ ! -e "$plugindir" ] && [ ! -e /usr/include/siphon ]
}
check "the packages purge cleanly" deb_purge

# ---------------------------------------------------------------- RPM

rpm_build() {
    local top="$work/rpm"
    mkdir -p "$top/SOURCES"
    rm -rf "$src/debian" "$src/obj-"*
    (cd "$work/src" && tar czf "$top/SOURCES/siphon-$version.tar.gz" "siphon-$version") || return 1
    rpmbuild -bb --nodeps --define "_topdir $top" "$root/packaging/rpm/siphon.spec" \
        >"$work/rpmbuild.log" 2>&1 || { tail -n 80 "$work/rpmbuild.log"; return 1; }
    find "$top/RPMS" -name '*.rpm' -printf '%f\n' | sort
}
check "rpmbuild -bb --nodeps builds the RPMs" rpm_build

rpm_fields() {
    local top="$work/rpm" rpm pkg
    rpm=$(find "$top/RPMS" -name "siphon-$version-*.rpm" | head -n1)
    [ -n "$rpm" ] || return 1
    rpm -qp --provides "$rpm" | tee /dev/stderr | grep -qx 'siphon(plugin-abi) = 1' || return 1
    for pkg in plugins-dinamize sink-sqlite sink-postgres; do
        rpm=$(find "$top/RPMS" -name "siphon-$pkg-$version-*.rpm" | head -n1)
        [ -n "$rpm" ] || { echo "no siphon-$pkg"; return 1; }
        rpm -qp --requires "$rpm" | tee /dev/stderr | grep -qx 'siphon(plugin-abi) = 1' || return 1
        rpm -qpl "$rpm" | grep -q '/siphon/plugins/.*\.so$' || return 1
    done
    rpm=$(find "$top/RPMS" -name "siphon-transforms-br-$version-*.rpm" | head -n1)
    [ -n "$rpm" ] || { echo "no siphon-transforms-br"; return 1; }
    rpm -qpl "$rpm" | grep -q '/siphon/transforms/libsiphon-transforms-br\.so$' || return 1
    rpm=$(find "$top/RPMS" -name "siphon-devel-$version-*.rpm" | head -n1)
    rpm -qpl "$rpm" | grep -q 'siphon-plugin.pc$' && rpm -qpl "$rpm" | grep -q 'macros.siphon$'
}
check "the RPMs carry the plugin ABI Provides and Requires" rpm_fields

# Keep the packages for a later look (or tests/packaging/unit_in_container.sh).
if [ -n "${SIPHON_PACKAGES_OUT:-}" ]; then
    mkdir -p "$SIPHON_PACKAGES_OUT"
    cp "$work/src"/*.deb "$work/src"/*.changes "$SIPHON_PACKAGES_OUT"/ 2>/dev/null
    find "$work/rpm/RPMS" -name '*.rpm' -exec cp {} "$SIPHON_PACKAGES_OUT"/ \; 2>/dev/null
fi

finish
