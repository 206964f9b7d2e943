#!/usr/bin/env bash
# Builds the repository's Dockerfile, unchanged, and runs the image the way the README's Docker path
# says, then checks what an operator would: /metrics against the kernel for a namespace created here,
# /healthz, a Pushgateway push, `stop` (SIGTERM) ending with exit 0 within the 10 s stop timeout,
# also while the gateway is unreachable, and the image size. Prints one PASS or FAIL line last.
#
# No Docker engine runs on the CI machines and registry images cannot be pulled there, so the image
# is built the way packaging/container/build-image.sh builds it for users (buildah, and a Debian
# bookworm root filesystem with this machine's Node.js 20 standing in for `node:20-bookworm-slim`),
# by running that script, and run with podman. Everything goes into a private container storage
# under a temporary folder that is removed at the end, with the test namespaces, even on failure.
#
# Usage (root): packaging/container/test-image.sh
# Needs: buildah podman runc debootstrap prometheus-pushgateway curl iproute2 openssl, and network
# access to the Debian mirror of /etc/apt/sources.list.d/debian.sources and the npm registry (npm ci
# in the build). The debootstrap tarball is kept (packaging/container/debootstrap-base.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."

STOP_TIMEOUT_S=10
VERSION="$(node -p 'require("./package.json").version')"
# What build-image.sh leaves behind.
BASE_IMAGE=localhost/node20-bookworm-local:latest
IMAGE="localhost/netns-exporter:$VERSION"
# The unique prefix of the test suites (test/helpers/netns.ts), which .ci/run also sweeps.
NS_A="nxt$$-ctra"
NS_B="nxt$$-ctrb"
WORK="$(mktemp -d /tmp/netns-exporter-image-XXXXXX)"
CONTAINERS=()
GATEWAY_PID=""
started_at=$(date +%s)
. "$(dirname "$0")/private-storage.sh"

log() { printf '[test-image %3ss] %s\n' "$(( $(date +%s) - started_at ))" "$*"; }
fail() {
  log "ERROR: $*"
  echo "container image: FAIL ($*)"
  exit 1
}

cleanup() {
  set +e
  for name in "${CONTAINERS[@]}"; do podman rm -f -t 0 "$name" >/dev/null 2>&1; done
  [ -n "$GATEWAY_PID" ] && kill "$GATEWAY_PID" 2>/dev/null
  ip netns delete "$NS_A" 2>/dev/null
  ip netns delete "$NS_B" 2>/dev/null
  private_storage_stop
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || fail "needs root (namespaces, rootful podman)"
for tool in buildah podman runc debootstrap prometheus-pushgateway curl ip; do
  command -v "$tool" >/dev/null || fail "$tool is missing: apt-get install buildah podman runc debootstrap prometheus-pushgateway curl iproute2"
done

private_storage_start

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# --- checks on a running container ----------------------------------------------------------------
kernel_stat() { ip netns exec "$1" cat "/sys/class/net/$2/statistics/$3"; }

# The value of netns_network_<stat>_total for one namespace and device in an exposition text.
metric_value() {
  awk -v ns="netns=\"$2\"" -v dev="device=\"$3\"" -v name="netns_network_$4_total{" \
    'index($0, name) == 1 && index($0, ns) && index($0, dev) {print $NF; exit}' "$1"
}

# Whether the gateway holds a series of NS_A. Not `curl | grep -q`: grep stops at the first match,
# curl then fails writing (SIGPIPE), and pipefail turns a match into a failure.
gateway_has_ns() {
  local text
  text="$(curl -s "http://127.0.0.1:$gateway_port/metrics")"
  grep -q "netns_network_rx_packets_total{.*netns=\"$NS_A\"" <<<"$text"
}

wait_http() { # url, expected status, seconds
  local deadline=$(( $(date +%s) + $3 )) status
  while [ "$(date +%s)" -lt "$deadline" ]; do
    status="$(curl -s -o /dev/null -w '%{http_code}' "$1" || true)"
    [ "$status" = "$2" ] && return 0
    sleep 0.5
  done
  return 1
}

# `podman stop` sends SIGTERM and SIGKILL after the timeout; the container must end on its own.
stop_within_timeout() { # container name
  local t0 t1 code
  t0=$(date +%s%N)
  "${PODMAN[@]}" stop -t "$STOP_TIMEOUT_S" "$1" >/dev/null
  t1=$(date +%s%N)
  code="$("${PODMAN[@]}" inspect --format '{{.State.ExitCode}}' "$1")"
  STOP_MS=$(( (t1 - t0) / 1000000 ))
  log "$1: stopped in ${STOP_MS} ms, exit code $code"
  [ "$code" = 0 ] || { "${PODMAN[@]}" logs "$1" 2>&1 | tail -20; fail "$1 ended with exit code $code on stop (137 = SIGKILL after ${STOP_TIMEOUT_S} s)"; }
  [ "$STOP_MS" -lt $(( STOP_TIMEOUT_S * 1000 )) ] || fail "$1 took ${STOP_MS} ms to stop"
}

# The README's own `docker run` command, word for word, run with podman: only the container name, the
# config file's source and the image name are this run's, plus the ulimits this machine needs and
# the gateway's URL.
readme_run_words() {
  awk '/^docker run /{on=1} on{print; if ($0 !~ /\\$/) exit}' README.md | sed 's/\\$//' | tr '\n' ' '
}

run_container() { # name, config file, pushgateway url
  local words args=() i word
  read -ra words <<<"$(readme_run_words)"
  [ "${words[0]:-} ${words[1]:-}" = "docker run" ] || fail "no 'docker run' command in README.md"
  [ "${words[-1]}" = netns-exporter ] || fail "the README's docker run does not end with the image name netns-exporter"
  for (( i = 2; i < ${#words[@]} - 1; i++ )); do
    word="${words[i]}"
    if [ "$word" = --name ]; then args+=(--name "$1"); i=$(( i + 1 )); continue; fi
    args+=("${word//source=\/etc\/netns-exporter\/config.yaml,/source=$2,}")
  done
  grep -q "^type=bind,source=$2," <<<"$(printf '%s\n' "${args[@]}")" || fail "the README's docker run mounts no /etc/netns-exporter/config.yaml"
  CONTAINERS+=("$1")
  "${PODMAN[@]}" run "${args[@]}" \
    --ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=32768:32768 \
    -e "NETNS_EXPORTER_PUSHGATEWAY_URL=$3" \
    "$IMAGE" >/dev/null
}

# --- 1. build, as users build it: build-image.sh, which leaves the image behind ------------------
t_build=$(date +%s)
log "packaging/container/build-image.sh (the Dockerfile unchanged, NODE_IMAGE=$BASE_IMAGE)"
packaging/container/build-image.sh >"$WORK/build-image.out" 2>"$WORK/build-image.log" \
  || { tail -30 "$WORK/build-image.log"; fail "build-image.sh failed"; }
build_s=$(( $(date +%s) - t_build ))
"${PODMAN[@]}" image exists "$IMAGE" || fail "build-image.sh left no $IMAGE behind"
"${PODMAN[@]}" image exists localhost/netns-exporter:latest || fail "build-image.sh left no localhost/netns-exporter:latest behind"
grep -q "^$IMAGE: [0-9]* MB (base [0-9]* s, build [0-9]* s)$" "$WORK/build-image.out" || fail "build-image.sh's last line: $(tail -1 "$WORK/build-image.out")"
base_s="$(sed -n 's/.*(base \([0-9]*\) s, .*/\1/p' "$WORK/build-image.out")"
image_bytes="$(podman image inspect --format '{{.Size}}' "$IMAGE")"
base_bytes="$(podman image inspect --format '{{.Size}}' "$BASE_IMAGE")"
image_mb=$(( image_bytes / 1000000 ))
log "$(cat "$WORK/build-image.out"): base $(( base_bytes / 1000000 )) MB + app $(( (image_bytes - base_bytes) / 1000000 )) MB"
[ "$image_mb" -lt 400 ] || fail "image is ${image_mb} MB, expected under 400 MB"

# --- 2. a namespace to measure: a veth pair between two test namespaces, some pings ----------------
for ns in "$NS_A" "$NS_B"; do
  ip netns add "$ns"
  # No IPv6 autoconfiguration chatter: the counters move only with the pings below.
  ip netns exec "$ns" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip -n "$NS_A" link add vca type veth peer name vcb netns "$NS_B"
ip -n "$NS_A" addr add 10.213.0.1/30 dev vca
ip -n "$NS_B" addr add 10.213.0.2/30 dev vcb
# Static neighbours and no ARP: a neighbour probe seconds after the pings would move the counters
# between the agent's read and the kernel's.
mac_a="$(ip -n "$NS_A" -br link show vca | awk '{print $3}')"
mac_b="$(ip -n "$NS_B" -br link show vcb | awk '{print $3}')"
ip -n "$NS_A" link set vca arp off up
ip -n "$NS_B" link set vcb arp off up
ip -n "$NS_A" neigh replace 10.213.0.2 lladdr "$mac_b" dev vca nud permanent
ip -n "$NS_B" neigh replace 10.213.0.1 lladdr "$mac_a" dev vcb nud permanent
ip netns exec "$NS_A" ping -c 5 -i 0.2 -q 10.213.0.2 >/dev/null || fail "no ping between the test namespaces"

# --- 3. run it with a real Pushgateway on loopback ------------------------------------------------
gateway_port="$(free_port)"
# An empty persistence file: Debian's default (/var/lib/prometheus/pushgateway.data) would load groups
# an earlier run left there, and write into the host's own state.
prometheus-pushgateway --web.listen-address="127.0.0.1:$gateway_port" --persistence.file= >"$WORK/pushgateway.log" 2>&1 &
GATEWAY_PID=$!
wait_http "http://127.0.0.1:$gateway_port/-/ready" 200 20 || fail "the Pushgateway did not start"

# docker-host.yaml is the image's default config. Two changes: the listening port, so a busy 9465
# on the CI machine cannot fail the run, and a filter for this run's namespaces, as every test reads
# only its own (other work on the machine may have thousands in /run/netns).
api_port="$(free_port)"
sed -e "s/server_port: 9465/server_port: $api_port/" \
  -e "s/^  blacklist_pattern: '\^default\$'$/  whitelist_pattern: '^nxt$$-ctr'/" \
  packaging/examples/docker-host.yaml >"$WORK/config.yaml"
grep -q "server_port: $api_port" "$WORK/config.yaml" || fail "docker-host.yaml has no server_port: 9465 to replace"
grep -q "whitelist_pattern: '^nxt$$-ctr'" "$WORK/config.yaml" || fail "docker-host.yaml has no namespaces_filter blacklist '^default$' to replace"

t_run=$(date +%s)
run_container "nx-ci-$$-push" "$WORK/config.yaml" "http://127.0.0.1:$gateway_port"
wait_http "http://127.0.0.1:$api_port/metrics" 200 60 || { "${PODMAN[@]}" logs "nx-ci-$$-push" 2>&1 | tail -20; fail "/metrics did not answer 200 within 60 s"; }
log "/metrics answered 200 $(( $(date +%s) - t_run )) s after podman run"
curl -sf "http://127.0.0.1:$api_port/metrics" >"$WORK/metrics.txt"
for stat in rx_packets tx_packets rx_bytes tx_bytes; do
  for pair in "$NS_A vca" "$NS_B vcb"; do
    set -- $pair
    want="$(kernel_stat "$1" "$2" "$stat")"
    got="$(metric_value "$WORK/metrics.txt" "$1" "$2" "$stat")"
    [ "$got" = "$want" ] || fail "/metrics says netns_network_${stat}_total{netns=$1,device=$2} = '${got}', the kernel $want"
  done
done
[ "$(kernel_stat "$NS_A" vca tx_packets)" -ge 5 ] || fail "the pings did not count"
log "/metrics matches the kernel for $NS_A/vca and $NS_B/vcb (rx/tx packets and bytes)"

wait_http "http://127.0.0.1:$api_port/healthz" 200 30 || fail "/healthz did not turn 200 after a push: $(curl -s "http://127.0.0.1:$api_port/healthz")"
gateway_has_ns \
  || fail "the Pushgateway has no series of $NS_A"
log "/healthz 200; the Pushgateway holds this host's group"

stop_within_timeout "nx-ci-$$-push"
stop_push_ms=$STOP_MS
if gateway_has_ns; then
  fail "delete_on_shutdown: the group is still on the Pushgateway after stop"
fi
log "delete_on_shutdown removed the group"

# --- 4. the default config's worst case: the gateway unreachable while stopping -------------------
closed_port="$(free_port)"
run_container "nx-ci-$$-down" "$WORK/config.yaml" "http://127.0.0.1:$closed_port"
wait_http "http://127.0.0.1:$api_port/metrics" 200 60 || fail "/metrics did not answer 200 within 60 s"
sleep 2 # inside the first push's retries (refused connections, backoff) when SIGTERM comes
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$api_port/healthz")" = 503 ] || fail "/healthz is not 503 with the gateway down"
stop_within_timeout "nx-ci-$$-down"
stop_down_ms=$STOP_MS

# --- 5. the README's systemd install under a real systemd ----------------------------------------
# systemd is not PID 1 on the CI machines, but it is in a container (podman --systemd=always): the
# README's systemd block runs there line by line, as an operator would type it, from a folder holding
# the repository's packaging/ and this build's npm tarball; the unit then runs with its whole sandbox
# (one capability, ProtectSystem=strict, RestrictNamespaces…) on the host's network and /run/netns.
# One command per line, a here-document (`cat >file <<EOF` to `EOF`) one command; each ends with NUL.
readme_systemd_lines() {
  awk '/^\*\*systemd, from npm\*\*/ {found = 1} found && /^```sh$/ {on = 1; next} on && /^```$/ {exit}
    on && heredoc != "" {command = command "\n" $0; if ($0 == heredoc) {printf "%s%c", command, 0; heredoc = ""}; next}
    on {
      sub(/[[:space:]]+#.*$/, "")
      if (match($0, /<<-?[[:space:]]*\047?[A-Za-z_]+\047?$/)) {
        heredoc = substr($0, RSTART); gsub(/[<\047[:space:]-]/, "", heredoc); command = $0; next
      }
      printf "%s%c", $0, 0
    }' README.md
}
in_systemd() { "${PODMAN[@]}" exec "nx-ci-$$-systemd" sh -c "$1" </dev/null; }

t_systemd=$(date +%s)
[ -f dist/agent/main.js ] || fail "dist/ is not built (npm run build): the npm tarball is made from it"
mkdir -p "$WORK/src" "$WORK/empty"
cp -r packaging "$WORK/src/"
npm pack --ignore-scripts --pack-destination "$WORK/src" >/dev/null 2>&1 || fail "npm pack failed"
# The CA of the gateway's certificate that the README installs (the config needs valid PEM there).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$WORK/ca.key" \
  -out "$WORK/src/gateway-ca.pem" -days 1 -subj "/CN=netns-exporter CI CA" >/dev/null 2>&1 || fail "openssl could not make a CA"
health_port="$(free_port)"
# The operator's edit of the example: this run's gateway, no proxy, this run's namespaces, a free port.
printf '%s\n' \
  "s|url: https://[^ ]*|url: http://127.0.0.1:$gateway_port|" \
  '/^ *proxy_url:/d' \
  "s|whitelist_pattern: .*|whitelist_pattern: '^nxt$$-ctr'|" \
  "s|listen: 127.0.0.1:9465|listen: 127.0.0.1:$health_port|" \
  's|^splay: .*|splay: 0s|' >"$WORK/src/edit.sed"
printf '%s\n' \
  "FROM $BASE_IMAGE" \
  'RUN apt-get update && apt-get install -y --no-install-recommends systemd systemd-sysv iproute2 util-linux && rm -rf /var/lib/apt/lists/*' \
  'CMD ["/lib/systemd/systemd"]' >"$WORK/systemd.Containerfile"
buildah bud --isolation chroot --pull=never -f "$WORK/systemd.Containerfile" -t localhost/netns-exporter-ci-systemd:local "$WORK/empty" \
  >"$WORK/systemd-build.log" 2>&1 || { tail -20 "$WORK/systemd-build.log"; fail "the systemd image did not build"; }
CONTAINERS+=("nx-ci-$$-systemd")
"${PODMAN[@]}" run -d --name "nx-ci-$$-systemd" --systemd=always --network host \
  --cap-add SYS_ADMIN --security-opt apparmor=unconfined \
  --ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=32768:32768 \
  --mount type=bind,source=/run/netns,target=/run/netns,bind-propagation=slave \
  -v "$WORK/src:/src:ro" localhost/netns-exporter-ci-systemd:local >/dev/null
state=""
for _ in $(seq 60); do
  state="$(in_systemd 'systemctl is-system-running' 2>/dev/null || true)"
  case "$state" in running|degraded) break ;; esac
  sleep 0.5
done
case "$state" in running|degraded) ;; *) fail "systemd in the container did not come up: '$state'" ;; esac
log "systemd is PID 1 in a container ($state); the README's systemd block, line by line:"

steps=0
while IFS= read -r -d '' line; do
  [ -n "$line" ] || continue
  if [ "$line" = "npm ci && npm pack" ]; then
    log "  (on the host) $line → $(basename "$(ls "$WORK"/src/*.tgz)")"
    continue
  fi
  log "  $line"
  in_systemd "cd /src && $line" >"$WORK/step.log" 2>&1 || { cat "$WORK/step.log"; fail "README systemd step failed: $line"; }
  steps=$(( steps + 1 ))
  case "$line" in
    install*openstack-pushgateway.yaml*) in_systemd 'sed -i -f /src/edit.sed /etc/netns-exporter/config.yaml' || fail "cannot edit the config" ;;
    install*pushgateway.password*) in_systemd 'echo this-gateway-checks-no-password >/etc/netns-exporter/pushgateway.password' ;;
  esac
done < <(readme_systemd_lines)
[ "$steps" -ge 6 ] || fail "found only $steps steps in the README's systemd block"
journal() { in_systemd 'journalctl -u netns-exporter --no-pager' 2>&1 | tail -20; }
[ "$(in_systemd 'systemctl is-active netns-exporter')" = active ] || { journal; fail "the unit is not active"; }
for _ in $(seq 60); do gateway_has_ns && break; sleep 0.5; done
gateway_has_ns || { journal; fail "the unit's push of $NS_A did not arrive"; }
wait_http "http://127.0.0.1:$health_port/healthz" 200 30 || { journal; fail "the unit's /healthz is not 200"; }
log "the unit runs in its sandbox; its push arrived; /healthz 200"
in_systemd 'systemctl reload netns-exporter' || { journal; fail "systemctl reload failed"; }
for _ in $(seq 20); do grep -q 'configuration reloaded' <<<"$(journal)" && break; sleep 0.5; done
grep -q 'configuration reloaded' <<<"$(journal)" || fail "systemctl reload: no 'configuration reloaded' in the journal"
exposure="$(in_systemd 'systemd-analyze security netns-exporter --no-pager' | sed -n 's/.*Overall exposure level for netns-exporter.service: \([0-9.]*\).*/\1/p')"
t0=$(date +%s%N)
in_systemd 'systemctl stop netns-exporter' || fail "systemctl stop failed"
unit_stop_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
result="$(in_systemd 'systemctl show -p Result -p ExecMainStatus --value netns-exporter' | tr '\n' ' ')"
[ "$result" = "success 0 " ] || fail "systemctl stop: Result and ExecMainStatus are '$result', expected 'success 0'"
systemd_s=$(( $(date +%s) - t_systemd ))
log "systemctl reload; systemctl stop in ${unit_stop_ms} ms, exit 0; systemd-analyze security: exposure ${exposure:-?} (0 safest, 10 least)"

total_s=$(( $(date +%s) - started_at ))
echo "container image: PASS (image ${image_mb} MB, base ${base_s} s, build ${build_s} s, stop ${stop_push_ms} ms / ${stop_down_ms} ms with the gateway down; systemd unit ${systemd_s} s, exposure ${exposure:-?}; total ${total_s} s)"
