# Sourced by the container and package tests: podman and buildah with storage of their own under
# $WORK, so nothing of a run lands in (or stays in) the host's /var/lib/containers.
# Call private_storage_start once $WORK exists; call private_storage_stop from the EXIT trap.

# podman keeps a blob cache in /var/lib/containers/cache whatever storage.conf says: remove the
# folder at the end if this run created it.
[ -e /var/lib/containers ] && had_containers_dir=1 || had_containers_dir=0

private_storage_start() {
  cat >"$WORK/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$WORK/storage"
runroot = "$WORK/run"
CONF
  export CONTAINERS_STORAGE_CONF="$WORK/storage.conf"
}

private_storage_stop() {
  if [ -f "$WORK/storage.conf" ]; then
    buildah rm --all >/dev/null 2>&1
    podman rmi -a -f >/dev/null 2>&1
    podman system reset -f >/dev/null 2>&1
  fi
  # Overlay layers stay mounted until unmounted; never leave a mount behind under /tmp.
  grep -o " $WORK/[^ ]*" /proc/mounts | sort -r | while read -r mount; do umount -l "$mount"; done
  rm -rf "$WORK"
  [ "$had_containers_dir" = 1 ] || rm -rf /var/lib/containers
}

# crun 1.8 refuses every container on hybrid-cgroup kernels ("cgroups in hybrid mode not supported").
PODMAN=(podman --runtime runc)
