# shellcheck shell=bash
# Part: an artifact server shaped like upstream release downloads, so install
# roles exercise their real download-and-verify path:
#   /<product>/<version>/<file>  and  /<product>/<version>/sha256sum-<arch>.txt
# Served on loopback and on the Docker bridge gateway (for node containers).
ARTIFACTS_DIR="$LAB_DIR/artifacts"
ARTIFACTS_PORT=8088

# The gateway node containers use to reach the host (docker0's address).
artifacts_bridge_ip() { ip -4 -o addr show docker0 2>/dev/null | awk '{print $4}' | cut -d/ -f1 | head -1; }

artifacts_publish() {  # product version file...
  local product=$1 version=$2; shift 2
  local dir="$ARTIFACTS_DIR/$product/$version"
  mkdir -p "$dir"
  local f
  for f in "$@"; do ln -f "$f" "$dir/$(basename "$f")" 2>/dev/null || cp -f "$f" "$dir/"; done
  local sums=() name
  for f in "$dir"/*; do
    name=$(basename "$f"); [[ $name == sha256sum-* ]] || sums+=("$name")
  done
  (cd "$dir" && sha256sum -- "${sums[@]}" > sha256sum-amd64.txt)
}

# artifacts_standins PRODUCT ASSET...: publish every build of PRODUCT's stand-in (the directories in
# <PRODUCT>_STANDIN_BUILDS, published by its part) at /<product>/<version>/; false when there is none.
artifacts_standins() {
  local product=$1 builds dir dirs=() files f; shift
  builds=$(artifacts_get "${product^^}_STANDIN_BUILDS")
  [[ -n $builds ]] && IFS=, read -ra dirs <<< "$builds"
  for dir in "${dirs[@]}"; do
    files=()
    for f in "$@"; do
      [[ -s $dir/$f ]] || die "artifacts: $product stand-in build $dir lacks $f: run lab.sh up $product"
      files+=("$dir/$f")
    done
    artifacts_publish "$product" "$(cat "$dir/VERSION")" "${files[@]}"
  done
  (( ${#dirs[@]} ))
}

# A value another part published in env.d.
artifacts_get() { cat "$LAB_DIR"/env.d/*.env 2>/dev/null | sed -n "s/^$1=//p" | tail -1; }

artifacts_up() {
  rm -rf "$ARTIFACTS_DIR"; mkdir -p "$ARTIFACTS_DIR"
  local minio_bin mc_bin triton_tgz
  minio_bin=$(artifacts_get MINIO_BIN); mc_bin=$(artifacts_get MC_BIN); triton_tgz=$(artifacts_get TRITON_TARBALL)
  [[ -x $minio_bin ]] || die "artifacts: MinIO binary missing: run lab.sh up minio first"
  artifacts_publish minio "$MINIO_VERSION" "$minio_bin" "$mc_bin"
  local k8s_dir="$LAB_CACHE/bin/k8s-$K8S_VERSION"
  [[ -d $k8s_dir ]] && artifacts_publish kubernetes "$K8S_VERSION" "$k8s_dir"/kube-*
  if [[ -n $triton_tgz && -s $triton_tgz ]]; then
    artifacts_publish tritonserver "$(artifacts_get TRITON_VERSION)" "$triton_tgz"
  fi
  # K3s and RKE2 cannot be had here (refused by the Go module proxy): the k3s and rke2 parts'
  # stand-ins are served in their place, at /k3s/<version>/ and /rke2/<version>/ with the
  # releases' asset names.
  local served=() product
  artifacts_standins k3s k3s k3s-airgap-images-amd64.tar.zst k3s-images.txt && served+=(k3s)
  artifacts_standins rke2 rke2.linux-amd64 rke2.linux-amd64.tar.gz rke2-images.linux-amd64.tar.zst \
    rke2-images.linux-amd64.txt rke2-images-core.linux-amd64.tar.zst rke2-images-core.linux-amd64.txt && served+=(rke2)
  local ip; ip=$(artifacts_bridge_ip)
  daemon_running artifacts-lo || require_port_free artifacts "$ARTIFACTS_PORT"
  start_daemon artifacts-lo "$LAB_DIR/logs/artifacts.log" \
    python3 -m http.server --bind 127.0.0.1 --directory "$ARTIFACTS_DIR" "$ARTIFACTS_PORT"
  if [[ -n $ip ]]; then
    start_daemon artifacts-bridge "$LAB_DIR/logs/artifacts.log" \
      python3 -m http.server --bind "$ip" --directory "$ARTIFACTS_DIR" "$ARTIFACTS_PORT"
  fi
  wait_for "artifact server" 20 curl -fsS "http://127.0.0.1:$ARTIFACTS_PORT/minio/$MINIO_VERSION/sha256sum-amd64.txt" \
    || die "artifact server not answering: see $LAB_DIR/logs/artifacts.log"
  {
    echo "ARTIFACTS_URL=http://127.0.0.1:$ARTIFACTS_PORT"
    [[ -n $ip ]] && echo "ARTIFACTS_NODE_URL=http://$ip:$ARTIFACTS_PORT"
    echo "ARTIFACTS_DIR=$ARTIFACTS_DIR"
    for product in "${served[@]}"; do
      echo "${product^^}_STANDIN_URL=http://127.0.0.1:$ARTIFACTS_PORT/$product"
      if [[ -n $ip ]]; then echo "${product^^}_STANDIN_NODE_URL=http://$ip:$ARTIFACTS_PORT/$product"; fi
    done
  } > "$LAB_DIR/env.d/artifacts.env"
}

artifacts_down() {
  stop_daemon artifacts-bridge; stop_daemon artifacts-lo
  rm -rf "$ARTIFACTS_DIR"; rm -f "$LAB_DIR/env.d/artifacts.env"
}

artifacts_status() {
  curl -fsS "http://127.0.0.1:$ARTIFACTS_PORT/" >/dev/null 2>&1 || { echo "not answering on :$ARTIFACTS_PORT"; return 1; }
  echo "http://127.0.0.1:$ARTIFACTS_PORT ($(find "$ARTIFACTS_DIR" -name 'sha256sum-*' | wc -l) releases)"
}
