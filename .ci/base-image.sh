#!/bin/sh
# Build the Dockerfile's base image (python:3.11-slim) locally, with no registry: a Debian
# bookworm rootfs from debootstrap, imported into podman. Cached under build/ between runs.
set -eu
ROOTFS=build/rootfs
TAG=${BASE_TAG:-docker.io/library/python:3.11-slim}
. .ci/podman-env.sh
if podman image exists "$TAG"; then exit 0; fi
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
tar -C "$ROOTFS" -c . | podman import - localhost/py-base:bookworm
podman tag localhost/py-base:bookworm "$TAG"
