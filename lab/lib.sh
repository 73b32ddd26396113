# shellcheck shell=bash
# Shared helpers for the lab scripts. Sourced, never run.
set -euo pipefail
LAB_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$LAB_SRC/.." && pwd)"
# shellcheck source=versions.env
. "$LAB_SRC/versions.env"
# Heavy builds live outside the repository, keyed by version.
LAB_CACHE="${EDGEAI_LAB_CACHE:-$HOME/.cache/edgeai-lab}"
# Runtime state (credentials, kubeconfig, logs, pids) of the running lab.
LAB_DIR="${EDGEAI_LAB_DIR:-$REPO_ROOT/.lab}"
mkdir -p "$LAB_CACHE" "$LAB_DIR/logs" "$LAB_DIR/run"
export PATH="/usr/local/go/bin:$PATH"

say() { printf '[lab %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf '[lab] ERROR: %s\n' "$*" >&2; exit 1; }

# wait_for DESCRIPTION SECONDS COMMAND...: poll until COMMAND succeeds.
wait_for() {
  local what=$1 limit=$2; shift 2
  local start=$SECONDS
  until "$@" >/dev/null 2>&1; do
    (( SECONDS - start >= limit )) && return 1
    sleep 1
  done
  say "$what ready after $(( SECONDS - start ))s"
}

# start_daemon NAME LOGFILE COMMAND...: start a background server in its own
# session, record its pid, log to LOGFILE. No-op when it already runs.
start_daemon() {
  local name=$1 log=$2; shift 2
  local pidfile="$LAB_DIR/run/$name.pid"
  if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    return 0
  fi
  setsid "$@" >>"$log" 2>&1 < /dev/null &
  echo $! > "$pidfile"
}

stop_daemon() {
  local name=$1 pidfile="$LAB_DIR/run/$1.pid"
  [[ -f $pidfile ]] || return 0
  local pid; pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

# require_port_free NAME PORT: before starting NAME, make sure nothing else
# (another lab checkout, a system service) listens on 127.0.0.1:PORT.
require_port_free() {
  local name=$1 port=$2 holder
  holder=$(ss -Hltnp "sport = :$port" 2>/dev/null | head -1)
  [[ -z $holder ]] || die "$name: port $port is already in use ($holder). Another lab (a second checkout?) or a service holds it: run 'make lab-down' there, or stop it."
}

daemon_running() {
  local pidfile="$LAB_DIR/run/$1.pid"
  [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

# The docker run flags of a systemd node container (lab/node-run-flags), into the array NODE_RUN_FLAGS.
# shellcheck disable=SC2034  # NODE_RUN_FLAGS is read by the parts that call this
node_run_flags() { mapfile -t NODE_RUN_FLAGS < <(grep -v -e '^#' -e '^$' "$LAB_SRC/node-run-flags"); }
