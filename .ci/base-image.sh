#!/bin/sh
# Build the Dockerfile's base image (python:3.11-slim) locally, with no registry: a Debian
# bookworm rootfs from debootstrap, imported into podman. Cached under build/ between runs.
set -eu
ROOTFS=build/rootfs
TAG=${BASE_TAG:-docker.io/library/python:3.11-slim}
RECIPE=2  # bump when this recipe changes: an image made by an older one is rebuilt
. .ci/podman-env.sh
if [ "$(podman image inspect "$TAG" --format '{{index .Labels "recipe"}}' 2>/dev/null)" = "$RECIPE" ]; then exit 0; fi
if [ ! -x "$ROOTFS/usr/bin/python3" ]; then
    rm -rf "$ROOTFS" && mkdir -p "$ROOTFS"
    debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
        bookworm "$ROOTFS"
fi
# The network's TLS proxy signs with extra CAs; pip inside the build needs them.
if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
    cp /usr/local/share/ca-certificates/*.crt "$ROOTFS/usr/local/share/ca-certificates/"
    chroot "$ROOTFS" update-ca-certificates >/dev/null
fi
ln -sf /usr/bin/python3 "$ROOTFS/usr/local/bin/python"
ln -sf /usr/bin/pip3 "$ROOTFS/usr/local/bin/pip"
rm -f "$ROOTFS"/usr/lib/python3*/EXTERNALLY-MANAGED
# As the official slim image: no downloaded .debs or package lists (debootstrap leaves 120 MB).
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
tar -C "$ROOTFS" -c . | podman import --change "LABEL recipe=$RECIPE" - localhost/py-base:bookworm
podman tag localhost/py-base:bookworm "$TAG"
