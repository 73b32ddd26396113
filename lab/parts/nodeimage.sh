# shellcheck shell=bash
# Part: the node image (Debian minbase + systemd + python3, and python3-apt,
# which Ansible's apt module needs for check mode on a fresh host) built with
# debootstrap, imported into the local engine, rebuilt only when its recipe
# (this file's RECIPE and NODE_SUITE) changes. Verified by booting a container.
NODE_PACKAGES=python3,python3-apt,systemd,systemd-sysv,dbus,iproute2,ca-certificates,sudo,curl,procps,kmod
NODE_RECIPE_ID=$(printf '%s|%s|v1' "$NODE_SUITE" "$NODE_PACKAGES" | sha256sum | cut -c1-12)
NODE_IMAGE="edgeai-lab/node:${NODE_SUITE}-${NODE_RECIPE_ID}"

nodeimage_up() {
  if ! docker image inspect "$NODE_IMAGE" >/dev/null 2>&1; then
    local tarball="$LAB_CACHE/nodeimage/$NODE_RECIPE_ID.tar"
    if [[ ! -s $tarball ]]; then
      command -v debootstrap >/dev/null || die "debootstrap not found: apt-get install -y debootstrap"
      say "node image: debootstrap $NODE_SUITE (about 90s)"
      local root="$LAB_CACHE/nodeimage/root-$NODE_RECIPE_ID"
      rm -rf "$root"; mkdir -p "$root"
      debootstrap --variant=minbase --include="$NODE_PACKAGES" "$NODE_SUITE" "$root" \
        > "$LAB_DIR/logs/debootstrap.log" 2>&1 || die "debootstrap failed: see $LAB_DIR/logs/debootstrap.log"
      # A node boots to multi-user without gettys or udev settling.
      rm -f "$root"/etc/systemd/system/getty.target.wants/* 2>/dev/null || true
      chroot "$root" systemctl mask systemd-udevd.service systemd-udev-trigger.service \
        getty.target console-getty.service systemd-firstboot.service >/dev/null 2>&1 || true
      : > "$root/etc/machine-id"
      tar -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
      rm -rf "$root"
    fi
    say "node image: importing $NODE_IMAGE"
    docker import -c 'CMD ["/sbin/init"]' -c 'ENV container=docker' \
      "$tarball" "$NODE_IMAGE" >/dev/null
  fi
  # Verify: a container of the image runs systemd to 'running'.
  local probe=edgeai-lab-nodeprobe
  docker rm -f "$probe" >/dev/null 2>&1 || true
  node_run_flags
  docker run -d --name "$probe" "${NODE_RUN_FLAGS[@]}" "$NODE_IMAGE" /sbin/init >/dev/null
  local state=""
  for _ in $(seq 1 60); do
    state=$(docker exec "$probe" systemctl is-system-running 2>/dev/null || true)
    [[ $state == running || $state == degraded ]] && break
    sleep 1
  done
  docker rm -f "$probe" >/dev/null
  [[ $state == running ]] || die "node image: systemd in a node container says '$state' (want running)"
  say "node image: systemd in a node container is running"
  printf 'NODE_IMAGE=%s\n' "$NODE_IMAGE" > "$LAB_DIR/env.d/nodeimage.env"
}

nodeimage_down() { rm -f "$LAB_DIR/env.d/nodeimage.env"; }

nodeimage_status() {
  docker image inspect "$NODE_IMAGE" >/dev/null 2>&1 || { echo "$NODE_IMAGE missing"; return 1; }
  echo "$NODE_IMAGE"
}
