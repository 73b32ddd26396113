# shellcheck shell=bash
# Lab part "kwok": simulated nodes for the "k8s" part's control plane.
# kwok ($LAB_CACHE/bin/kwok-$KWOK_VERSION/kwok, built by lab/build.sh kwok) plays
# the kubelet of every Node annotated kwok.x-k8s.io/node=fake: nodes turn Ready
# (leases renewed), pods bound to them turn Running/Ready. The nodes are
# lab/kwok/nodes.yaml: gpu-0/1 (amd64 machines with four simulated GPUs each, annotation
# lab.edgeai.io/simulated-nvidia-gpus), advertising no nvidia.com/gpu and carrying no role's label;
# no Jetson node, the k3s role joins those. Beside kwok runs the device plugin's STAND-IN
# (lab/standins/gpu/report.py): a Node gets nvidia.com/gpu only while a device plugin Pod that
# a role deployed is Running there. Stages: kwok's own defaults (the set kwokctl uses: node/fast,
# node/heartbeat-with-lease, pod/fast), read from the pinned kwok module in the
# Go module cache, not copied into this repository. Needs the "k8s" part up.

KWOK_BIN="$LAB_CACHE/bin/kwok-$KWOK_VERSION/kwok"
KWOK_NODES_FILE="$LAB_SRC/kwok/nodes.yaml"
KWOK_STAGES_FILE="$LAB_DIR/kwok/stages.yaml"
KWOK_STAGE_SOURCES=(node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml
  pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml)

# Assemble the stage configuration from the pinned module's kustomize/stage/.
_kwok_stages() {
  local moddir
  moddir=$(go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])') \
    || die "kwok: cannot fetch sigs.k8s.io/kwok@$KWOK_VERSION from the Go module proxy"
  mkdir -p "$(dirname "$KWOK_STAGES_FILE")"
  local f
  for f in "${KWOK_STAGE_SOURCES[@]}"; do
    [[ -f $moddir/kustomize/stage/$f ]] || die "kwok: $f missing in $moddir (kwok changed its layout?)"
    printf -- '---\n'; cat "$moddir/kustomize/stage/$f"
  done > "$KWOK_STAGES_FILE.tmp"
  mv "$KWOK_STAGES_FILE.tmp" "$KWOK_STAGES_FILE"
}
KWOK_ENV="$LAB_DIR/env.d/kwok.env"
GPU_REPORT="$LAB_SRC/standins/gpu/report.py"
KWOK_NODES=(gpu-0 gpu-1)

_kwok_kubectl() { "$REPO_ROOT/.venv/bin/kubectl" --kubeconfig="$LAB_DIR/kube/kubeconfig" --request-timeout=10s "$@"; }

# Number of lab nodes whose Ready condition is True.
_kwok_ready_count() {
  _kwok_kubectl get nodes "${KWOK_NODES[@]}" \
    -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' 2>/dev/null \
    | grep -c '^True$' || true
}
_kwok_all_ready() { [[ $(_kwok_ready_count) == "${#KWOK_NODES[@]}" ]]; }

kwok_up() {
  [[ -x $REPO_ROOT/.venv/bin/kubectl ]] || die "kubectl missing: $REPO_ROOT/.venv/bin/kubectl (make venv)"
  k8s_status >/dev/null 2>&1 || die "the k8s part is not up: run 'bash lab/lab.sh up k8s' first"
  bash "$LAB_SRC/build.sh" kwok
  # A control plane rebuilt since kwok started means new credentials: restart it.
  local sum; sum=$(sha256sum < "$LAB_DIR/kube/kubeconfig")
  if daemon_running kwok && [[ $(cat "$LAB_DIR/run/kwok.kubeconfig.sum" 2>/dev/null) != "$sum" ]]; then
    say "kwok: control plane changed, restarting"; stop_daemon kwok; stop_daemon gpu-report
  fi
  if ! daemon_running kwok; then
    echo "$sum" > "$LAB_DIR/run/kwok.kubeconfig.sum"
    _kwok_stages
    say "kwok: starting (log $LAB_DIR/logs/kwok.log)"
    start_daemon kwok "$LAB_DIR/logs/kwok.log" \
      "$KWOK_BIN" --kubeconfig="$LAB_DIR/kube/kubeconfig" \
        --config="$KWOK_STAGES_FILE" \
        --manage-all-nodes=false \
        --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
        --node-lease-duration-seconds=40 \
        --cidr=10.244.0.0/16 --node-ip=10.245.0.1
    sleep 1
    daemon_running kwok || { tail -n 30 "$LAB_DIR/logs/kwok.log" >&2; die "kwok exited (log: $LAB_DIR/logs/kwok.log)"; }
  fi
  if ! _kwok_all_ready; then
    _kwok_kubectl apply -f "$KWOK_NODES_FILE" >/dev/null
    if ! wait_for "kwok: ${#KWOK_NODES[@]} Ready nodes" 60 _kwok_all_ready; then
      _kwok_kubectl get nodes -o wide >&2 || true
      tail -n 30 "$LAB_DIR/logs/kwok.log" >&2 || true
      die "kwok nodes not Ready after 60s (log: $LAB_DIR/logs/kwok.log)"
    fi
  fi
  # The device plugin's stand-in (restarted with kwok, so with a changed control plane too).
  if ! daemon_running gpu-report; then
    say "kwok: starting the device plugin's stand-in (log $LAB_DIR/logs/gpu-report.log)"
    start_daemon gpu-report "$LAB_DIR/logs/gpu-report.log" \
      "$REPO_ROOT/.venv/bin/python" "$GPU_REPORT" --kubeconfig="$LAB_DIR/kube/kubeconfig"
    sleep 1
    daemon_running gpu-report || { tail -n 20 "$LAB_DIR/logs/gpu-report.log" >&2; die "the device plugin's stand-in exited"; }
  fi
  local tmp="$KWOK_ENV.tmp"
  {
    echo "KWOK_VERSION=$KWOK_VERSION"
    echo "KWOK_NODES=$(IFS=,; echo "${KWOK_NODES[*]}")"
  } > "$tmp"
  mv "$tmp" "$KWOK_ENV"
  say "kwok: nodes ${KWOK_NODES[*]} Ready"
}

kwok_down() {
  # Remove the simulated nodes while the API still answers (part state), then kwok.
  if [[ -s $LAB_DIR/kube/kubeconfig ]] && k8s_status >/dev/null 2>&1; then
    _kwok_kubectl delete node "${KWOK_NODES[@]}" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  fi
  stop_daemon gpu-report
  stop_daemon kwok
  local pid
  for pid in $(pgrep -f -- "^$KWOK_BIN " || true); do kill -TERM "$pid" 2>/dev/null || true; done
  rm -f "$KWOK_ENV" "$LAB_DIR/run/kwok.kubeconfig.sum"
  rm -rf "$(dirname "$KWOK_STAGES_FILE")"
}

kwok_status() {
  daemon_running kwok || { echo "kwok not running"; return 1; }
  daemon_running gpu-report || { echo "kwok running, the device plugin's stand-in not"; return 1; }
  local n; n=$(_kwok_ready_count)
  [[ $n == "${#KWOK_NODES[@]}" ]] || { echo "kwok running, $n/${#KWOK_NODES[@]} nodes Ready"; return 1; }
  echo "kwok $KWOK_VERSION, ${#KWOK_NODES[@]}/${#KWOK_NODES[@]} nodes Ready (${KWOK_NODES[*]})"
}
