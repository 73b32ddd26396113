# shellcheck shell=bash
# Lab part "k8s": an upstream Kubernetes control plane on loopback.
#   etcd $ETCD_VERSION                127.0.0.1:2379 (peer 2380), data in $LAB_DIR/etcd
#   kube-apiserver                  https://127.0.0.1:6443
#   kube-controller-manager         127.0.0.1:10257 (healthz only)
#   kube-scheduler                  127.0.0.1:10259 (healthz only)
# Binaries: $LAB_CACHE/bin/k8s-$K8S_VERSION/ (lab/build.sh k8s) and
# $LAB_CACHE/bin/etcd-$ETCD_VERSION/etcd (lab/build.sh etcd, ~1 min). PKI, kubeconfigs:
# $LAB_DIR/kube. No kubelet: nodes are simulated by the "kwok" part.
# Sourced by lab/lab.sh after lib.sh.

K8S_DIR="$LAB_DIR/kube"
K8S_PKI="$K8S_DIR/pki"
K8S_BIN="$LAB_CACHE/bin/k8s-$K8S_VERSION"
K8S_API="https://127.0.0.1:6443"
K8S_KUBECONFIG="$K8S_DIR/kubeconfig"
K8S_ETCD_DATA="$LAB_DIR/etcd"
K8S_ETCD_BIN="${ETCD_BIN:-$LAB_CACHE/bin/etcd-$ETCD_VERSION/etcd}"
K8S_ENV="$LAB_DIR/env.d/k8s.env"
K8S_DAEMONS=(etcd kube-apiserver kube-controller-manager kube-scheduler)

_k8s_etcd_healthy() { curl -sf --max-time 2 http://127.0.0.1:2379/health | grep -q '"health":"true"'; }
_k8s_api_ready() {
  curl -sf --max-time 3 --cacert "$K8S_PKI/ca.crt" --cert "$K8S_PKI/admin.crt" \
    --key "$K8S_PKI/admin.key" "$K8S_API/readyz" >/dev/null
}
_k8s_healthz() { curl -skf --max-time 2 "https://127.0.0.1:$1/healthz" >/dev/null; }

# _k8s_cert NAME SUBJECT [SAN]: key + certificate signed by the lab CA.
_k8s_cert() {
  local name=$1 subj=$2 san=${3:-} ext
  [[ -s $K8S_PKI/$name.crt && -s $K8S_PKI/$name.key ]] && return 0
  ext=$(mktemp)
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [[ -n $san ]]; then
      echo "extendedKeyUsage=serverAuth"
      echo "subjectAltName=$san"
    else
      echo "extendedKeyUsage=clientAuth"
    fi
  } > "$ext"
  (umask 077; openssl genrsa -out "$K8S_PKI/$name.key" 2048 2>/dev/null)
  openssl req -new -key "$K8S_PKI/$name.key" -subj "$subj" -out "$K8S_PKI/$name.csr"
  openssl x509 -req -in "$K8S_PKI/$name.csr" -CA "$K8S_PKI/ca.crt" -CAkey "$K8S_PKI/ca.key" \
    -CAcreateserial -days 825 -sha256 -extfile "$ext" -out "$K8S_PKI/$name.crt" 2>/dev/null
  rm -f "$ext" "$K8S_PKI/$name.csr"
}

_k8s_pki() {
  mkdir -p "$K8S_PKI"; chmod 0700 "$K8S_DIR" "$K8S_PKI"
  if [[ ! -s $K8S_PKI/ca.crt || ! -s $K8S_PKI/ca.key ]]; then
    say "k8s: generating PKI in $K8S_PKI"
    (umask 077; openssl genrsa -out "$K8S_PKI/ca.key" 2048 2>/dev/null)
    openssl req -x509 -new -key "$K8S_PKI/ca.key" -subj "/CN=edgeai-lab-kubernetes-ca" -days 3650 -sha256 \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
      -out "$K8S_PKI/ca.crt"
  fi
  _k8s_cert apiserver "/CN=kube-apiserver" \
    "IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  _k8s_cert admin "/O=system:masters/CN=kubernetes-admin"
  _k8s_cert controller-manager "/CN=system:kube-controller-manager"
  _k8s_cert scheduler "/CN=system:kube-scheduler"
  if [[ ! -s $K8S_PKI/sa.key ]]; then
    (umask 077; openssl genrsa -out "$K8S_PKI/sa.key" 2048 2>/dev/null)
    openssl rsa -in "$K8S_PKI/sa.key" -pubout -out "$K8S_PKI/sa.pub" 2>/dev/null
  fi
  chmod 0600 "$K8S_PKI"/*.key
}

# _k8s_kubeconfig FILE CERTNAME USER
_k8s_kubeconfig() {
  local file=$1 cert=$2 user=$3
  [[ -s $file ]] && return 0
  (umask 077; cat > "$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: edgeai-lab
  cluster:
    server: $K8S_API
    certificate-authority-data: $(base64 -w0 < "$K8S_PKI/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 < "$K8S_PKI/$cert.crt")
    client-key-data: $(base64 -w0 < "$K8S_PKI/$cert.key")
contexts:
- name: edgeai-lab
  context:
    cluster: edgeai-lab
    user: $user
current-context: edgeai-lab
EOF
  )
  chmod 0600 "$file"
}

# _k8s_ensure NAME HEALTHCHECK LIMIT COMMAND...: start NAME unless it runs and
# is healthy; wait until healthy.
_k8s_ensure() {
  local name=$1 check=$2 limit=$3; shift 3
  # $check is a command and its arguments ("_k8s_healthz 10257"): split on purpose.
  # shellcheck disable=SC2086
  if daemon_running "$name" && $check; then return 0; fi
  if daemon_running "$name"; then
    # Running but not (yet) healthy: give it a chance before restarting.
    # shellcheck disable=SC2086
    wait_for "$name" 20 $check && return 0
    say "k8s: $name unhealthy, restarting"; stop_daemon "$name"
  fi
  case $name in
    etcd) require_port_free etcd 2379 ;;
    kube-apiserver) require_port_free kube-apiserver 6443 ;;
    kube-controller-manager) require_port_free kube-controller-manager 10257 ;;
    kube-scheduler) require_port_free kube-scheduler 10259 ;;
  esac
  say "k8s: starting $name (log $LAB_DIR/logs/$name.log)"
  start_daemon "$name" "$LAB_DIR/logs/$name.log" "$@"
  # shellcheck disable=SC2086
  if ! wait_for "$name" "$limit" $check; then
    tail -n 30 "$LAB_DIR/logs/$name.log" >&2 || true
    die "$name did not become healthy in ${limit}s (log: $LAB_DIR/logs/$name.log)"
  fi
}

k8s_up() {
  bash "$LAB_SRC/build.sh" k8s
  [[ -n ${ETCD_BIN:-} ]] || bash "$LAB_SRC/build.sh" etcd
  [[ -x $K8S_ETCD_BIN ]] || die "etcd not found at $K8S_ETCD_BIN"
  command -v openssl >/dev/null || die "openssl missing: apt-get install openssl"
  mkdir -p "$K8S_DIR" "$LAB_DIR/env.d" "$LAB_DIR/logs"
  _k8s_pki
  _k8s_kubeconfig "$K8S_KUBECONFIG" admin kubernetes-admin
  _k8s_kubeconfig "$K8S_DIR/controller-manager.kubeconfig" controller-manager system:kube-controller-manager
  _k8s_kubeconfig "$K8S_DIR/scheduler.kubeconfig" scheduler system:kube-scheduler

  mkdir -p "$K8S_ETCD_DATA"; chmod 0700 "$K8S_ETCD_DATA"
  _k8s_ensure etcd _k8s_etcd_healthy 60 \
    "$K8S_ETCD_BIN" --name lab --data-dir "$K8S_ETCD_DATA" \
      --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
      --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
      --initial-cluster lab=http://127.0.0.1:2380 --initial-cluster-state new \
      --logger zap --log-outputs stderr

  _k8s_ensure kube-apiserver _k8s_api_ready 180 \
    "$K8S_BIN/kube-apiserver" \
      --etcd-servers=http://127.0.0.1:2379 \
      --bind-address=127.0.0.1 --secure-port=6443 --advertise-address=127.0.0.1 \
      --endpoint-reconciler-type=none \
      --service-cluster-ip-range=10.0.0.0/24 \
      --client-ca-file="$K8S_PKI/ca.crt" \
      --tls-cert-file="$K8S_PKI/apiserver.crt" --tls-private-key-file="$K8S_PKI/apiserver.key" \
      --service-account-issuer=https://kubernetes.default.svc.cluster.local \
      --service-account-key-file="$K8S_PKI/sa.pub" \
      --service-account-signing-key-file="$K8S_PKI/sa.key" \
      --authorization-mode=RBAC --anonymous-auth=true \
      --allow-privileged=true --profiling=false

  _k8s_ensure kube-controller-manager "_k8s_healthz 10257" 90 \
    "$K8S_BIN/kube-controller-manager" \
      --kubeconfig="$K8S_DIR/controller-manager.kubeconfig" \
      --authentication-kubeconfig="$K8S_DIR/controller-manager.kubeconfig" \
      --authorization-kubeconfig="$K8S_DIR/controller-manager.kubeconfig" \
      --bind-address=127.0.0.1 --secure-port=10257 --leader-elect=false \
      --service-account-private-key-file="$K8S_PKI/sa.key" --root-ca-file="$K8S_PKI/ca.crt" \
      --use-service-account-credentials=true \
      --cluster-signing-cert-file="$K8S_PKI/ca.crt" --cluster-signing-key-file="$K8S_PKI/ca.key" \
      --service-cluster-ip-range=10.0.0.0/24 --profiling=false

  _k8s_ensure kube-scheduler "_k8s_healthz 10259" 90 \
    "$K8S_BIN/kube-scheduler" \
      --kubeconfig="$K8S_DIR/scheduler.kubeconfig" \
      --authentication-kubeconfig="$K8S_DIR/scheduler.kubeconfig" \
      --authorization-kubeconfig="$K8S_DIR/scheduler.kubeconfig" \
      --bind-address=127.0.0.1 --secure-port=10259 --leader-elect=false --profiling=false

  # The "default" ServiceAccount appears once the controllers run: pods need it.
  wait_for "k8s: default ServiceAccount" 60 \
    "$REPO_ROOT/.venv/bin/kubectl" --kubeconfig="$K8S_KUBECONFIG" -n default get serviceaccount default \
    || die "controller-manager created no ServiceAccount (log: $LAB_DIR/logs/kube-controller-manager.log)"

  local tmp="$K8S_ENV.tmp"
  cat > "$tmp" <<EOF
KUBECONFIG=$K8S_KUBECONFIG
K8S_API=$K8S_API
K8S_VERSION=$K8S_VERSION
K8S_CA_FILE=$K8S_PKI/ca.crt
EOF
  mv "$tmp" "$K8S_ENV"
  say "k8s: $K8S_VERSION ready at $K8S_API (KUBECONFIG=$K8S_KUBECONFIG)"
}

k8s_down() {
  local i
  for (( i=${#K8S_DAEMONS[@]}-1; i>=0; i-- )); do stop_daemon "${K8S_DAEMONS[$i]}"; done
  # A daemon whose pid file was lost would survive stop_daemon: catch leftovers
  # started from this lab's binaries or data directory (by pid, not by name).
  local pid
  for pid in $(pgrep -f -- "$K8S_BIN/kube-|--data-dir $K8S_ETCD_DATA" || true); do
    kill -TERM "$pid" 2>/dev/null || true
  done
  rm -rf "$K8S_ETCD_DATA" "$K8S_DIR" "$K8S_ENV"
}

k8s_status() {
  local d down=()
  for d in "${K8S_DAEMONS[@]}"; do daemon_running "$d" || down+=("$d"); done
  if (( ${#down[@]} )); then echo "not running: ${down[*]}"; return 1; fi
  _k8s_etcd_healthy || { echo "etcd unhealthy"; return 1; }
  _k8s_api_ready || { echo "apiserver not ready at $K8S_API"; return 1; }
  _k8s_healthz 10257 || { echo "controller-manager unhealthy"; return 1; }
  _k8s_healthz 10259 || { echo "scheduler unhealthy"; return 1; }
  echo "$K8S_VERSION at $K8S_API, KUBECONFIG=$K8S_KUBECONFIG"
}
