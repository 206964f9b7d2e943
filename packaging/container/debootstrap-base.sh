#!/usr/bin/env bash
# A Debian 12 (bookworm) minimal root filesystem as a tarball, made with debootstrap from the host's
# own Debian mirror, for building images where no registry image can be pulled. Prints the
# tarball's path. Made once and kept: build-image.sh, test-image.sh and packaging/deb/test-deb.sh
# all start from it, so a CI run bootstraps at most once.
#
# Usage (root): packaging/container/debootstrap-base.sh
# NETNS_EXPORTER_BASE_CACHE (default /var/cache/netns-exporter-base) is the folder that keeps it;
# remove the tarball there to bootstrap afresh (about a minute).
set -euo pipefail

CACHE_DIR="${NETNS_EXPORTER_BASE_CACHE:-/var/cache/netns-exporter-base}"
BASE_TAR="$CACHE_DIR/bookworm-minbase.tar"

debian_mirror() {
  local sources=/etc/apt/sources.list.d/debian.sources
  if [ -f "$sources" ]; then awk '/^URIs:/ {print $2; exit}' "$sources"; return; fi
  awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list 2>/dev/null
}

[ "$(id -u)" = 0 ] || { echo "debootstrap-base.sh: needs root" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "debootstrap-base.sh: apt-get install debootstrap" >&2; exit 1; }
mkdir -p "$CACHE_DIR"
# Two builds started together (the image test and the package test) bootstrap once: the second waits.
exec 9>"$CACHE_DIR/.lock"
flock 9
if [ ! -s "$BASE_TAR" ]; then
  mirror="$(debian_mirror)"
  [ -n "$mirror" ] || { echo "debootstrap-base.sh: no Debian mirror in /etc/apt/sources.list.d/debian.sources" >&2; exit 1; }
  work="$(mktemp -d /tmp/netns-exporter-debootstrap-XXXXXX)"
  trap 'rm -rf "$work"' EXIT
  echo "debootstrap --variant=minbase bookworm ($mirror)" >&2
  debootstrap --variant=minbase bookworm "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; echo "debootstrap-base.sh: debootstrap failed" >&2; exit 1; }
  # The suites the host has (bookworm, -updates, -security), so apt in the image sees security fixes.
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    rm -f "$work/root/etc/apt/sources.list"
    cp /etc/apt/sources.list.d/debian.sources "$work/root/etc/apt/sources.list.d/debian.sources"
  fi
  tar -C "$work/root" -cf "$BASE_TAR.tmp" . && mv "$BASE_TAR.tmp" "$BASE_TAR"
fi
echo "$BASE_TAR"
