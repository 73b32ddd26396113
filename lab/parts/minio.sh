# shellcheck shell=bash
# Part: MinIO built from its Go module at a pinned version, run twice on
# loopback: plain HTTP (:9000) and TLS with the lab CA's certificate (:9443).
# Root credentials are generated once and kept in a 0600 file; they reach the
# servers through the environment, never through process arguments.
MINIO_BIN="$LAB_CACHE/bin/minio-$MINIO_VERSION/minio"
MC_BIN="$LAB_CACHE/bin/mc-$MC_VERSION/mc"
MINIO_CREDS="$LAB_DIR/minio/root-credentials.env"

minio_ready() { curl -fsS "$1/minio/health/ready" --cacert "$LAB_DIR/pki/ca.crt" >/dev/null 2>&1; }

minio_start_one() {  # name address data-dir [certs-dir]
  local name=$1 addr=$2 data=$3 certs=${4:-}
  local args=(server "$data" --address "$addr" --console-address "127.0.0.1:$(( ${addr##*:} + 1 ))")
  [[ -n $certs ]] && args+=(--certs-dir "$certs")
  daemon_running "$name" || require_port_free "$name" "${addr##*:}"
  # shellcheck disable=SC1090
  ( set -a; . "$MINIO_CREDS"; set +a; export MINIO_BROWSER=off MINIO_UPDATE=off MINIO_PROMETHEUS_AUTH_TYPE=public
    start_daemon "$name" "$LAB_DIR/logs/$name.log" "$MINIO_BIN" "${args[@]}" )
}

minio_up() {
  bash "$LAB_SRC/build.sh" minio
  bash "$LAB_SRC/build.sh" mc
  [[ -s $LAB_DIR/pki/server.crt ]] || die "minio: the lab CA is missing: run lab.sh up pki first"
  mkdir -p "$LAB_DIR/minio/data-plain" "$LAB_DIR/minio/data-tls" "$LAB_DIR/minio/certs/CAs"
  chmod 0700 "$LAB_DIR/minio"
  if [[ ! -s $MINIO_CREDS ]]; then
    (umask 077
     printf 'MINIO_ROOT_USER=labroot-%s\nMINIO_ROOT_PASSWORD=%s\n' \
       "$(openssl rand -hex 4)" "$(openssl rand -base64 30 | tr -d '/+=')" > "$MINIO_CREDS")
  fi
  chmod 0600 "$MINIO_CREDS"
  install -m 0644 "$LAB_DIR/pki/server.crt" "$LAB_DIR/minio/certs/public.crt"
  install -m 0600 "$LAB_DIR/pki/server.key" "$LAB_DIR/minio/certs/private.key"
  install -m 0644 "$LAB_DIR/pki/ca.crt" "$LAB_DIR/minio/certs/CAs/lab-ca.crt"
  minio_start_one minio-plain 127.0.0.1:9000 "$LAB_DIR/minio/data-plain"
  minio_start_one minio-tls 127.0.0.1:9443 "$LAB_DIR/minio/data-tls" "$LAB_DIR/minio/certs"
  wait_for "minio (plain)" 60 minio_ready http://127.0.0.1:9000 \
    || die "minio did not become ready on :9000: see $LAB_DIR/logs/minio-plain.log"
  wait_for "minio (TLS)" 60 minio_ready https://127.0.0.1:9443 \
    || die "minio did not become ready on :9443: see $LAB_DIR/logs/minio-tls.log"
  cat > "$LAB_DIR/env.d/minio.env" <<ENV
MINIO_ENDPOINT=http://127.0.0.1:9000
MINIO_TLS_ENDPOINT=https://127.0.0.1:9443
MINIO_ROOT_CREDENTIALS=$MINIO_CREDS
MINIO_BIN=$MINIO_BIN
MC_BIN=$MC_BIN
ENV
}

minio_down() {
  stop_daemon minio-tls; stop_daemon minio-plain
  rm -rf "$LAB_DIR/minio"; rm -f "$LAB_DIR/env.d/minio.env"
}

minio_status() {
  minio_ready http://127.0.0.1:9000 || { echo "plain :9000 not ready"; return 1; }
  minio_ready https://127.0.0.1:9443 || { echo "TLS :9443 not ready"; return 1; }
  echo "plain 127.0.0.1:9000, TLS 127.0.0.1:9443"
}
