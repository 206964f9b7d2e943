#!/usr/bin/env bash
# The Debian package, checked as an operator meets it: built (`npm run package:deb`), checked by
# lintian (every error fixed or overridden with its reason in packaging/deb/lintian-overrides), then
# installed with `apt-get install ./netns-exporter_<version>_amd64.deb` into a stock Debian 12
# container whose PID 1 is systemd, where it must: start the service with the shipped config;
# answer /healthz and /metrics (with a namespace made in the container); apply a config edit on
# `systemctl reload`; on an upgrade to the next version, restart the service and keep the edited
# conffile without a prompt; on `apt-get remove`, stop the service and keep the conffile; on
# `apt-get purge`, remove the conffile and the agent's state (its remote_write buffer folder).
# Prints one PASS or FAIL line last.
#
# The container is a debootstrap bookworm base (packaging/container/debootstrap-base.sh, shared with
# the image test) plus systemd, nothing else: no Node.js. It has a network namespace of its own with
# loopback only (the package's config listens on 127.0.0.1:9465; nothing of the host's can clash),
# so what apt-get will fetch for the package's Depends is downloaded into the image while it is
# built; installing the package then resolves them from the archive's lists as on any node.
# Everything goes into a private container storage under a temporary folder, removed at the end.
#
# Usage (root): packaging/deb/test-deb.sh
# NETNS_EXPORTER_TEST_DEB=FILE checks that package instead of building one.
# Needs: dpkg-dev lintian buildah podman runc debootstrap curl util-linux, Node.js 20, the Debian
# mirror of /etc/apt/sources.list.d/debian.sources, and the npm registry or npm's cache.
set -euo pipefail
cd "$(dirname "$0")/../.."

NAME=netns-exporter
VERSION="$(node -p 'require("./package.json").version')"
NEXT_VERSION="$VERSION+next1"
BASE_IMAGE=localhost/bookworm-minbase:latest
SYSTEMD_IMAGE=localhost/netns-exporter-deb-test:latest
# The unique prefix of the test suites (test/helpers/netns.ts); this one lives in the container only.
NS="nxt$$-deb"
CONTAINER="nx-ci-$$-deb"
WORK="$(mktemp -d /tmp/netns-exporter-deb-test-XXXXXX)"
started_at=$(date +%s)
. "$(dirname "$0")/../container/private-storage.sh"

log() { printf '[test-deb %3ss] %s\n' "$(( $(date +%s) - started_at ))" "$*"; }
fail() {
  log "ERROR: $*"
  echo "debian package: FAIL ($*)"
  exit 1
}

cleanup() {
  set +e
  [ -f "$WORK/storage.conf" ] && "${PODMAN[@]}" rm -f -t 0 "$CONTAINER" >/dev/null 2>&1
  private_storage_stop
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || fail "needs root (rootful podman, debootstrap)"
for tool in dpkg-deb dpkg-shlibdeps lintian buildah podman runc debootstrap curl nsenter node npm; do
  command -v "$tool" >/dev/null || fail "$tool is missing: apt-get install dpkg-dev lintian buildah podman runc debootstrap curl util-linux"
done

private_storage_start

# --- 1. build: this version with `npm run package:deb`, the next one from it ---------------------
mkdir -p "$WORK/debs" "$WORK/context"
t0=$(date +%s)
DEB="$WORK/debs/${NAME}_${VERSION}_amd64.deb"
if [ -n "${NETNS_EXPORTER_TEST_DEB:-}" ]; then
  # While working on the checks below: a package built already, instead of building one.
  cp "$NETNS_EXPORTER_TEST_DEB" "$DEB" && echo "$DEB" >"$WORK/build.out"
else
  npm run --silent package:deb -- "$WORK/debs" >"$WORK/build.out" 2>"$WORK/build.log" || { tail -20 "$WORK/build.log"; fail "npm run package:deb failed"; }
fi
[ "$(tail -1 "$WORK/build.out")" = "$DEB" ] || fail "npm run package:deb did not make $DEB: $(tail -1 "$WORK/build.out")"
build_s=$(( $(date +%s) - t0 ))
deb_mb=$(( $(stat -c %s "$DEB") / 1000000 ))
installed_mb=$(( $(dpkg-deb -f "$DEB" Installed-Size) / 1000 ))
log "built $(basename "$DEB") in ${build_s} s: ${deb_mb} MB, ${installed_mb} MB installed; Depends: $(dpkg-deb -f "$DEB" Depends)"
dpkg-deb -c "$DEB" | awk '{print $6}' >"$WORK/contents"
for path in ./usr/bin/$NAME ./usr/lib/$NAME/bin/node ./usr/lib/$NAME/dist/agent/bin.js ./usr/lib/$NAME/package.json \
  ./usr/lib/$NAME/node_modules/koffi/build/koffi/linux_x64/ ./lib/systemd/system/$NAME.service \
  ./etc/$NAME/config.yaml ./etc/logrotate.d/$NAME ./usr/share/doc/$NAME/copyright; do
  grep -qxF "$path" "$WORK/contents" || fail "the package has no $path"
done
# Native modules for this platform only: koffi's linux_x64, napi-rs's linux-x64-gnu (snappy).
native="$(grep '\.node$' "$WORK/contents" || true)"
[ -n "$native" ] || fail "the package has no native module"
others="$(grep -v '/linux_x64/\|linux-x64-gnu' <<<"$native" || true)"
[ -z "$others" ] || fail "the package carries other platforms' binaries: $(tr '\n' ' ' <<<"$others")"
! grep -q '^\./usr/lib/netns-exporter/node_modules/\(typescript\|eslint\|uvu\|@typescript-eslint\)/' "$WORK/contents" || fail "the package carries development dependencies"
[ "$(dpkg-deb -I "$DEB" conffiles | LC_ALL=C sort | tr '\n' ' ')" = "/etc/logrotate.d/$NAME /etc/$NAME/config.yaml " ] \
  || fail "conffiles: $(dpkg-deb -I "$DEB" conffiles | tr '\n' ' ')"
depends="$(dpkg-deb -f "$DEB" Depends | sed 's/ ([^)]*)//g')"
[ "$depends" = "libc6, libgcc-s1, libstdc++6, iproute2, util-linux" ] || fail "Depends: $depends"
cmp -s <(dpkg-deb --fsys-tarfile "$DEB" | tar -xO ./lib/systemd/system/$NAME.service) packaging/systemd/$NAME.service \
  || fail "the package's unit differs from packaging/systemd/$NAME.service"

# The next version: the same files under a higher version, as a release would be.
dpkg-deb -R "$DEB" "$WORK/next"
sed -i "s/^Version: .*/Version: $NEXT_VERSION/" "$WORK/next/DEBIAN/control"
NEXT_DEB="$WORK/debs/${NAME}_${NEXT_VERSION}_amd64.deb"
dpkg-deb --root-owner-group -Zgzip -z1 --build "$WORK/next" "$NEXT_DEB" >/dev/null
rm -rf "$WORK/next"

# --- 2. lintian -----------------------------------------------------------------------------------
t0=$(date +%s)
# Its scratch folders (mldbm-elf-*) in the work folder, removed with it, not left in /tmp.
TMPDIR="$WORK" lintian --fail-on error --tag-display-limit 0 "$DEB" >"$WORK/lintian.txt" 2>&1 && lintian_status=0 || lintian_status=$?
lintian_s=$(( $(date +%s) - t0 ))
grep -v '^running with root privileges' "$WORK/lintian.txt" | sed 's/^/  lintian: /' || true
[ "$lintian_status" = 0 ] || fail "lintian reports errors (exit $lintian_status)"
! grep -q '^E: ' "$WORK/lintian.txt" || fail "lintian reports errors"
log "lintian: no error in ${lintian_s} s ($(grep -c '^W: ' "$WORK/lintian.txt" || true) warnings; overrides with reasons in packaging/deb/lintian-overrides)"

# --- 3. a stock Debian 12 with systemd as PID 1 ---------------------------------------------------
t0=$(date +%s)
base_tar="$(packaging/container/debootstrap-base.sh)"
"${PODMAN[@]}" import -q --change 'CMD ["/bin/bash"]' "$base_tar" "$BASE_IMAGE" >/dev/null
cp "$DEB" "$WORK/context/"
printf '%s\n' \
  "FROM $BASE_IMAGE" \
  "COPY $(basename "$DEB") /tmp/" \
  "RUN apt-get update && apt-get install -y --no-install-recommends systemd systemd-sysv && apt-get install -y --download-only /tmp/$(basename "$DEB") && rm /tmp/$(basename "$DEB")" \
  'CMD ["/lib/systemd/systemd"]' >"$WORK/Containerfile"
buildah bud --isolation chroot --pull=never --layers=false -f "$WORK/Containerfile" -t "$SYSTEMD_IMAGE" "$WORK/context" \
  >"$WORK/image.log" 2>&1 || { tail -20 "$WORK/image.log"; fail "the systemd container image did not build"; }
"${PODMAN[@]}" run -d --name "$CONTAINER" --systemd=always --network none \
  --cap-add SYS_ADMIN --security-opt apparmor=unconfined \
  --ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=32768:32768 \
  -v "$WORK/debs:/debs:ro" "$SYSTEMD_IMAGE" >/dev/null || fail "podman run failed"
in_box() { "${PODMAN[@]}" exec "$CONTAINER" sh -c "$1" </dev/null; }
state=""
for _ in $(seq 60); do
  state="$(in_box 'systemctl is-system-running' 2>/dev/null || true)"
  case "$state" in running|degraded) break ;; esac
  sleep 0.5
done
case "$state" in running|degraded) ;; *) fail "systemd in the container did not come up: '$state'" ;; esac
container_s=$(( $(date +%s) - t0 ))
log "Debian 12 with systemd as PID 1 ($state) in ${container_s} s; no node in it: $(in_box 'command -v node || echo none')"
container_pid="$("${PODMAN[@]}" inspect --format '{{.State.Pid}}' "$CONTAINER")"
# The container's loopback, from the host: curl in its network namespace.
http() { nsenter -t "$container_pid" -n curl -s --max-time 5 "$@"; }
journal() { in_box "journalctl -u $NAME --no-pager" 2>&1 | tail -20; }
wait_for() { # description, seconds, command...
  local what=$1 seconds=$2 deadline
  shift 2
  deadline=$(( $(date +%s) + seconds ))
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || { journal; fail "$what (waited ${seconds} s)"; }
    sleep 0.5
  done
}
healthz_is() { [ "$(http -o /dev/null -w '%{http_code}' http://127.0.0.1:9465/healthz)" = "$1" ]; }
metrics_have_ns() { grep -q "netns_network_namespace{netns=\"$NS\"} 1" <<<"$(http http://127.0.0.1:9465/metrics)"; }
metrics_lack_ns() { local text; text="$(http http://127.0.0.1:9465/metrics)" && grep -q '^netns_exporter_' <<<"$text" && ! grep -q "netns=\"$NS\"" <<<"$text"; }
invocation() { in_box "systemctl show -p InvocationID --value $NAME"; }
is_active() { [ "$(in_box "systemctl is-active $NAME")" = active ]; }
journal_has() { grep -q "$1" <<<"$(journal)"; }

# --- 4. apt-get install ./…deb ---------------------------------------------------------------------
# /run/netns as a shared mount point, as `ip netns add` makes it on first use: then namespaces added
# later appear in the service's own mount namespace (a slave copy). On a host the first namespace
# did this long before; a podman container's /run is a private mount without it.
in_box "mkdir -p /run/netns && mount --bind /run/netns /run/netns && mount --make-shared /run/netns" || fail "cannot make /run/netns shared"
in_box "cd /debs && apt-get install -y ./$(basename "$DEB")" >"$WORK/install.log" 2>&1 || { tail -20 "$WORK/install.log"; fail "apt-get install ./$(basename "$DEB") failed"; }
log "apt-get install ./$(basename "$DEB"): $(grep -o '[0-9]* newly installed' "$WORK/install.log")"
# iproute2 came with the package's Depends; the namespace to measure lives in the container only.
in_box "ip netns add $NS" || fail "ip netns add in the container"
[ "$(in_box "systemctl is-enabled $NAME")" = enabled ] || fail "the service is not enabled after install"
wait_for "the service is not active after install" 30 is_active
wait_for "/healthz does not answer 200" 60 healthz_is 200
wait_for "/metrics has no $NS" 60 metrics_have_ns
# The setns reader's self-test: koffi (the package's only native module) loads and enters the namespace.
wait_for "reader auto did not prove setns (koffi)" 30 journal_has 'setns proven on this host'
in_box "/usr/bin/$NAME --version" >"$WORK/version" || fail "netns-exporter --version"
log "service active and enabled; /healthz 200; /metrics shows $NS, read with setns (koffi loads); $(cat "$WORK/version")"

# --- 5. a config edit, systemctl reload -----------------------------------------------------------
# The edit: leave this namespace out, and add a remote_write target that cannot be reached (a closed
# port on the container's loopback) with a disk buffer: what it cannot send is the state purge removes.
in_box "sed -i \"s/^  blacklist_pattern: ''\$/  blacklist_pattern: '^$NS\$'/\" /etc/$NAME/config.yaml" || fail "cannot edit the config"
in_box "grep -q \"blacklist_pattern: '^$NS\\\$'\" /etc/$NAME/config.yaml" || fail "the config has no blacklist_pattern '' line to edit"
in_box "printf '%s\n' 'push:' '  remote_write:' '    url: http://127.0.0.1:9/api/v1/push' '    buffer:' '      dir: /var/lib/$NAME/remote-write' >>/etc/$NAME/config.yaml"
in_box "$NAME --check-config" >/dev/null || fail "the edited config is refused"
before="$(invocation)"
in_box "systemctl reload $NAME" || { journal; fail "systemctl reload failed"; }
wait_for "no 'configuration reloaded' in the journal" 20 journal_has 'configuration reloaded'
wait_for "/metrics still shows $NS after the reload" 45 metrics_lack_ns
[ "$(invocation)" = "$before" ] || fail "systemctl reload restarted the service"
wait_for "no remote_write buffer file in /var/lib/$NAME/remote-write" 60 in_box "ls /var/lib/$NAME/remote-write | grep -qv '^\\.lock\$'"
log "systemctl reload applied the edit without a restart: $NS left out of /metrics; the unsent samples wait in /var/lib/$NAME/remote-write"

# --- 6. the next version over it -------------------------------------------------------------------
edited="$(in_box "md5sum /etc/$NAME/config.yaml")"
in_box "cd /debs && apt-get install -y ./$(basename "$NEXT_DEB")" >"$WORK/upgrade.log" 2>&1 || { tail -20 "$WORK/upgrade.log"; fail "apt-get install of the next version failed (a conffile prompt reads stdin, which is empty)"; }
! grep -qi 'configuration file' "$WORK/upgrade.log" || { cat "$WORK/upgrade.log"; fail "the upgrade asked about the configuration file"; }
[ "$(in_box "dpkg-query -W -f '\${Version}' $NAME")" = "$NEXT_VERSION" ] || fail "the next version is not installed"
[ "$(in_box "md5sum /etc/$NAME/config.yaml")" = "$edited" ] || fail "the upgrade changed the edited config"
[ -z "$(in_box "ls /etc/$NAME | grep dpkg" || true)" ] || fail "the upgrade left $(in_box "ls /etc/$NAME") in /etc/$NAME"
after="$(invocation)"
[ -n "$after" ] && [ "$after" != "$before" ] || fail "the upgrade did not restart the service (InvocationID $before → $after)"
wait_for "the service is not active after the upgrade" 30 is_active
wait_for "/metrics does not answer after the upgrade" 60 metrics_lack_ns
log "upgrade to $NEXT_VERSION: no prompt, the edited conffile kept as it was, the service restarted and serving"

# --- 7. apt-get remove: stopped, conffile kept; apt-get purge: conffile and state gone -------------
in_box "apt-get remove -y $NAME" >"$WORK/remove.log" 2>&1 || { tail -20 "$WORK/remove.log"; fail "apt-get remove failed"; }
[ "$(in_box "systemctl is-active $NAME" || true)" != active ] || fail "the service still runs after apt-get remove"
[ "$(in_box "systemctl show -p MainPID --value $NAME")" = 0 ] || fail "the agent's process is left after apt-get remove"
! http -o /dev/null http://127.0.0.1:9465/healthz || fail "/healthz still answers after apt-get remove"
[ "$(in_box "md5sum /etc/$NAME/config.yaml")" = "$edited" ] || fail "apt-get remove did not keep the edited config"
! in_box "test -e /usr/bin/$NAME || test -e /usr/lib/$NAME" || fail "apt-get remove left the program behind"
[ "$(in_box "dpkg-query -W -f '\${Status}' $NAME")" = "deinstall ok config-files" ] || fail "after remove: $(in_box "dpkg-query -W -f '\${Status}' $NAME")"
in_box "test -d /var/lib/$NAME/remote-write" || fail "the buffer folder is gone before purge"
log "apt-get remove: service stopped, program gone, edited /etc/$NAME/config.yaml and the buffer kept"
in_box "apt-get purge -y $NAME" >"$WORK/purge.log" 2>&1 || { tail -20 "$WORK/purge.log"; fail "apt-get purge failed"; }
! in_box "test -e /etc/$NAME/config.yaml" || fail "apt-get purge left /etc/$NAME/config.yaml"
! in_box "test -e /var/lib/$NAME" || fail "apt-get purge left /var/lib/$NAME (the buffer folder)"
[ -z "$(in_box "dpkg-query -W -f '\${Status}' $NAME 2>/dev/null" || true)" ] || fail "dpkg still knows $NAME after purge"
log "apt-get purge: /etc/$NAME/config.yaml and /var/lib/$NAME gone"

echo "debian package: PASS (${deb_mb} MB, ${installed_mb} MB installed; build ${build_s} s, lintian ${lintian_s} s, container ${container_s} s; total $(( $(date +%s) - started_at )) s)"
