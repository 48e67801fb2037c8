#!/bin/sh
# Triton's perf_analyzer (PyPI perf-analyzer, pinned by sha256 below), for `make bench-oip`:
#   bin/perf-analyzer.sh -m memorability -u 127.0.0.1:5000 -i http ...
# Its wheel's binary needs glibc 2.38 and GLIBCXX 3.4.32; this machine's Debian 12 has 2.36, so
# pip refuses the wheel here. The binary runs instead on the C and C++ runtimes of Debian 13: a
# minimal trixie root made once with debootstrap (from Debian's mirror, about 20 s and 214 MB),
# whose dynamic loader starts it with those libraries; it reads the host's files and network as
# any program does. Both are cached under .cache/perf-analyzer/ (ignored).
set -eu
VERSION=2.60.0
SHA256=23ef56b107ae9233e5cf09fbdf508dd9b936a52f1bae2f63f53c8117087b3f25
CACHE=${PERF_ANALYZER_CACHE:-.cache/perf-analyzer}
ROOTFS=$CACHE/trixie
WHEEL=$CACHE/perf_analyzer-$VERSION-py3-none-manylinux_2_38_x86_64.whl
BINARY=$CACHE/$VERSION/perf_analyzer/bin/perf_analyzer
PIP=${PIP:-.venv/bin/pip}

if [ ! -x "$BINARY" ]; then
    mkdir -p "$CACHE"
    if [ ! -f "$WHEEL" ]; then
        "$PIP" download --disable-pip-version-check -q --no-deps --only-binary=:all: \
            --platform manylinux_2_38_x86_64 -d "$CACHE" "perf-analyzer==$VERSION"
    fi
    echo "$SHA256  $WHEEL" | sha256sum -c --quiet
    rm -rf "$CACHE/$VERSION"
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$WHEEL" "$CACHE/$VERSION"
    chmod +x "$BINARY"
fi
if [ ! -e "$ROOTFS/.made" ]; then
    command -v debootstrap >/dev/null || {
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; }
    rm -rf "$ROOTFS"
    debootstrap --variant=minbase --include=libssl3t64,libstdc++6,zlib1g trixie "$ROOTFS" \
        http://deb.debian.org/debian >"$CACHE/debootstrap.log" 2>&1 \
        || { tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }
    touch "$ROOTFS/.made"
fi
exec "$ROOTFS/lib64/ld-linux-x86-64.so.2" --library-path "$ROOTFS/usr/lib/x86_64-linux-gnu" "$BINARY" "$@"
