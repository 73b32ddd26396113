# shellcheck shell=bash
# Part: the node containers `make demo` runs site.yml against (inventories/lab):
# systemd nodes of the lab's image, reached by Ansible through the
# community.docker.docker connection. They keep their state between runs, so a
# second site.yml run shows what an idempotent re-run of a real site shows.
#   edgeai-lab-minio   group minio   MinIO over TLS (role edgeai.inference.minio)
#   edgeai-lab-triton  group triton  Triton as a host service (role edgeai.inference.triton_host)
SITENODES=(edgeai-lab-minio edgeai-lab-triton)

sitenodes_state() { docker exec "$1" systemctl is-system-running 2>/dev/null || true; }

sitenodes_up() {
  local image node state
  image=$(sed -n 's/^NODE_IMAGE=//p' "$LAB_DIR/env.d/nodeimage.env" 2>/dev/null)
  [[ -n $image ]] || die "sitenodes: no node image published: run lab.sh up nodeimage first"
  for node in "${SITENODES[@]}"; do
    if [[ $(docker inspect -f '{{.State.Running}} {{.Config.Image}}' "$node" 2>/dev/null) != "true $image" ]]; then
      docker rm -f "$node" >/dev/null 2>&1 || true
      say "sitenodes: starting $node"
      node_run_flags
      docker run -d --name "$node" --hostname "$node" "${NODE_RUN_FLAGS[@]}" "$image" /sbin/init >/dev/null
    fi
  done
  for node in "${SITENODES[@]}"; do
    wait_for "sitenodes: $node systemd" 90 sitenodes_booted "$node" \
      || die "sitenodes: systemd in $node says '$(sitenodes_state "$node")' (want running): docker logs $node"
  done
  # Controller-side files of the site (the MinIO CA, root credentials): 0700.
  mkdir -p "$LAB_DIR/site"; chmod 0700 "$LAB_DIR/site"
  printf 'SITENODES=%s\nSITE_DIR=%s\n' "${SITENODES[*]}" "$LAB_DIR/site" > "$LAB_DIR/env.d/sitenodes.env"
}

sitenodes_booted() {
  local state; state=$(sitenodes_state "$1")
  [[ $state == running || $state == degraded ]]
}

sitenodes_down() {
  local node
  for node in "${SITENODES[@]}"; do docker rm -f "$node" >/dev/null 2>&1 || true; done
  # What the site's runs left on the controller belongs to these nodes only.
  rm -rf "$LAB_DIR/site"; rm -f "$LAB_DIR/env.d/sitenodes.env"
}

sitenodes_status() {
  local node ip out=()
  for node in "${SITENODES[@]}"; do
    sitenodes_booted "$node" || { echo "$node not running"; return 1; }
    ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$node")
    out+=("$node $ip")
  done
  local IFS=,; echo "${out[*]}"
}
