#!/bin/sh
# The lab's base image, made on this machine when no registry can hand out debian:bookworm-slim:
# a minimal Debian bookworm from Debian's own mirror (debootstrap), imported as an image.
#
#   docker/build-base.sh [IMAGE]          (default IMAGE: localhost/debian-base)
#
# Then build the lab's images on it: LAB_BASE_IMAGE=localhost/debian-base lab up --target compose
# (or: podman build --build-arg BASE_IMAGE=localhost/debian-base -f docker/lab.Dockerfile .).
#
# Cached at both ends, so a second run takes a second: nothing is done when the image exists,
# and debootstrap's tree stays in ~/.cache/decoupling-lab/debian-base/ (XDG_CACHE_HOME if set),
# so a removed image is imported again without downloading Debian again.
#
# Settings (environment): ENGINE=podman|docker (default: podman if present, else docker),
# SUITE (bookworm), MIRROR (http://deb.debian.org/debian), SECURITY_MIRROR
# (http://deb.debian.org/debian-security). Needs root (debootstrap, podman as
# root) and the debootstrap package. The output says what it does, one line a step.
set -eu

IMAGE=${1:-localhost/debian-base}
SUITE=${SUITE:-bookworm}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${SECURITY_MIRROR:-http://deb.debian.org/debian-security}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/decoupling-lab/debian-base
ROOTFS=$CACHE/$SUITE-rootfs
DONE=$CACHE/$SUITE-rootfs.done

if [ -z "${ENGINE:-}" ]; then
  if command -v podman >/dev/null 2>&1; then ENGINE=podman; else ENGINE=docker; fi
fi
if ! command -v "$ENGINE" >/dev/null 2>&1; then
  echo "build-base: no container engine: install podman (apt-get install podman) or Docker" >&2
  exit 2
fi
# podman as root on this kind of machine needs runc (crun fails on hybrid cgroups).
if [ "$ENGINE" = podman ] && [ -z "${CONTAINERS_CONF:-}" ]; then
  CONTAINERS_CONF=$(cd "$(dirname "$0")" && pwd)/containers.conf
  export CONTAINERS_CONF
fi

if "$ENGINE" image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "build-base: $IMAGE exists (remove it to make it again: $ENGINE rmi $IMAGE)"
  exit 0
fi

if [ ! -e "$DONE" ]; then
  if ! command -v debootstrap >/dev/null 2>&1; then
    echo "build-base: debootstrap is missing: apt-get install debootstrap" >&2
    exit 2
  fi
  echo "build-base: debootstrap --variant=minbase $SUITE into $ROOTFS (about a minute)"
  rm -rf "$ROOTFS"
  mkdir -p "$CACHE"
  debootstrap --variant=minbase "$SUITE" "$ROOTFS" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 || {
    echo "build-base: debootstrap failed; the end of $CACHE/debootstrap.log:" >&2
    tail -5 "$CACHE/debootstrap.log" >&2
    exit 1
  }
  # What an image needs that a debootstrapped tree has not: no apt caches, no machine id.
  rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
  : >"$ROOTFS/etc/machine-id"
  # As debian:bookworm-slim has them: updates and security fixes (Chromium's among them).
  cat >"$ROOTFS/etc/apt/sources.list" <<SOURCES
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
SOURCES
  touch "$DONE"
else
  echo "build-base: reusing $ROOTFS"
fi

echo "build-base: importing $ROOTFS as $IMAGE"
tar -C "$ROOTFS" -c . | "$ENGINE" import \
  --change 'CMD ["/bin/bash"]' --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  - "$IMAGE" >"$CACHE/import.log" 2>&1 || {
  echo "build-base: $ENGINE import failed:" >&2
  tail -5 "$CACHE/import.log" >&2
  exit 1
}
echo "build-base: $IMAGE ready"
