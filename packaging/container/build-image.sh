#!/usr/bin/env bash
# Builds the repository's Dockerfile, unchanged, without pulling any image from a registry, and
# leaves the image behind as localhost/netns-exporter:<version> (and :latest): `podman build .` needs
# node:20-bookworm-slim from a registry; this stands in for it a Debian bookworm root filesystem
# (packaging/container/debootstrap-base.sh) with this machine's Node.js 20 and npm, imported as
# localhost/node20-bookworm-local and passed as the Dockerfile's NODE_IMAGE build argument.
#
# Usage (root, from anywhere): packaging/container/build-image.sh
# Needs: buildah podman debootstrap, Node.js 20 on this machine, the Debian mirror of
# /etc/apt/sources.list.d/debian.sources and the npm registry (the build's `npm ci`).
# Images go into the container storage podman and buildah use (CONTAINERS_STORAGE_CONF chooses
# another). Prints the image's name, size and build time last.
set -euo pipefail
cd "$(dirname "$0")/../.."

VERSION="$(node -p 'require("./package.json").version')"
IMAGE="localhost/netns-exporter:$VERSION"
BASE_IMAGE=localhost/node20-bookworm-local:latest
started_at=$(date +%s)
log() { printf '[build-image %3ss] %s\n' "$(( $(date +%s) - started_at ))" "$*" >&2; }

[ "$(id -u)" = 0 ] || { echo "build-image.sh: needs root (buildah's chroot isolation, podman import)" >&2; exit 1; }
for tool in buildah podman debootstrap node npm; do
  command -v "$tool" >/dev/null || { echo "build-image.sh: $tool is missing (apt-get install buildah podman debootstrap; Node.js 20)" >&2; exit 1; }
done
node -e 'process.exit(Number(process.versions.node.split(".")[0]) === 20 ? 0 : 1)' \
  || { echo "build-image.sh: needs Node.js 20 on this machine (the image runs it), found $(node -v)" >&2; exit 1; }

WORK="$(mktemp -d /tmp/netns-exporter-build-image-XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

# --- the stand-in for node:20-bookworm-slim -------------------------------------------------------
base_tar="$(packaging/container/debootstrap-base.sh)"
root="$WORK/rootfs"
mkdir -p "$root"
tar -C "$root" -xf "$base_tar"
# What the official slim images do: no apt cache, no documentation, man pages or locales, in the
# base and in everything a later `apt-get install` adds (else the image grows by ~130 MB).
rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* \
  "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb "$root"/var/log/*.log
cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF
cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";
EOF
echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"

# This machine's Node.js 20 and npm where the official image has them.
node_bin="$(readlink -f "$(command -v node)")"
npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
install -D -m 0755 "$node_bin" "$root/usr/local/bin/node"
mkdir -p "$root/usr/local/lib/node_modules"
cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"

changes=(--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --change 'CMD ["node"]')
# Where HTTPS leaves through a TLS-intercepting proxy, npm ci inside the build needs its CA.
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
  install -D -m 0644 "$NODE_EXTRA_CA_CERTS" "$root/usr/local/share/node20-bookworm-local/extra-ca.pem"
  changes+=(--change 'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/node20-bookworm-local/extra-ca.pem')
fi
tar -C "$root" -c . | podman import -q "${changes[@]}" - "$BASE_IMAGE" >/dev/null
rm -rf "$root"
base_s=$(( $(date +%s) - started_at ))
log "stand-in base $BASE_IMAGE ($(podman image inspect --format '{{.Size}}' "$BASE_IMAGE" | awk '{printf "%.0f MB", $1/1e6}'), Node.js $(node -v))"

# --- the image ------------------------------------------------------------------------------------
t_build=$(date +%s)
log "buildah bud (Dockerfile unchanged, NODE_IMAGE=$BASE_IMAGE)"
buildah bud --isolation chroot --pull=never --layers=false \
  --build-arg "NODE_IMAGE=$BASE_IMAGE" --build-arg "REVISION=$(git rev-parse --short HEAD 2>/dev/null || true)" \
  -t "$IMAGE" -t localhost/netns-exporter:latest . >"$WORK/build.log" 2>&1 \
  || { tail -30 "$WORK/build.log" >&2; echo "build-image.sh: buildah bud failed" >&2; exit 1; }
build_s=$(( $(date +%s) - t_build ))
image_mb=$(( $(podman image inspect --format '{{.Size}}' "$IMAGE") / 1000000 ))
echo "$IMAGE: ${image_mb} MB (base ${base_s} s, build ${build_s} s)"
