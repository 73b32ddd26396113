# shellcheck shell=bash
# Part: the Docker engine from Debian's docker.io, started by the lab.
DOCKER_SOCK=/var/run/docker.sock

docker_ping() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

docker_up() {
  command -v dockerd >/dev/null || die "dockerd not found: apt-get install -y docker.io (make setup does this)"
  if docker_ping; then say "docker: engine already answering"; else
    start_daemon dockerd "$LAB_DIR/logs/dockerd.log" dockerd --host "unix://$DOCKER_SOCK" --storage-driver overlay2
    wait_for "docker engine" 60 docker_ping || die "dockerd did not answer in 60s: see $LAB_DIR/logs/dockerd.log"
  fi
  mkdir -p "$LAB_DIR/env.d"
  printf 'DOCKER_HOST=unix://%s\n' "$DOCKER_SOCK" > "$LAB_DIR/env.d/docker.env"
}

docker_down() {
  # Only stop an engine the lab started itself.
  if daemon_running dockerd; then
    docker ps -aq --filter label=edgeai.lab=1 | xargs -r docker rm -f >/dev/null 2>&1 || true
    stop_daemon dockerd
    # containerd-shims outlive a stopped dockerd when containers were left.
    pkill -f 'containerd-shim.*moby' 2>/dev/null || true
    pkill -x containerd 2>/dev/null || true
  fi
  rm -f "$LAB_DIR/env.d/docker.env"
}

docker_status() {
  docker_ping || { echo "engine not answering"; return 1; }
  docker version --format 'engine {{.Server.Version}}'
}
