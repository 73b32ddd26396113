#!/bin/sh
# rke2-killall.sh of the edgeai lab RKE2 STAND-IN (not RKE2): stops rke2-server and rke2-agent and
# every process the stand-in started (its main python3 process and the etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and kwok it runs from <data-dir>/data/), then removes
# the static pod manifests as RKE2's script does. The stand-in mounts nothing and creates no
# network interface or iptables rule, so there is none to clean up.
set -u
if [ "$(id -u)" -ne 0 ]; then
  echo "$(basename "$0"): must be run as root" >&2
  exit 1
fi
RKE2_DATA_DIR=${RKE2_DATA_DIR:-/var/lib/rancher/rke2}

if command -v systemctl >/dev/null 2>&1; then
  systemctl stop rke2-server.service rke2-agent.service >/dev/null 2>&1 || true
fi

# Processes whose binary or command line lies under the stand-in's extraction directory.
standin_pids() {
  for proc in /proc/[0-9]*; do
    pid=${proc#/proc/}
    [ "$pid" = "$$" ] && continue
    exe=$(readlink "$proc/exe" 2>/dev/null) || continue
    case $exe in
      "$RKE2_DATA_DIR"/data/*) echo "$pid"; continue ;;
    esac
    cmd=$(tr '\0' ' ' < "$proc/cmdline" 2>/dev/null) || continue
    case $cmd in
      *"$RKE2_DATA_DIR/data/"*) echo "$pid" ;;
    esac
  done
}

pids=$(standin_pids)
if [ -n "$pids" ]; then
  # shellcheck disable=SC2086 # one word per pid
  kill -TERM $pids 2>/dev/null || true
  tries=0
  while [ $tries -lt 50 ]; do
    pids=$(standin_pids)
    [ -z "$pids" ] && break
    sleep 0.2
    tries=$((tries + 1))
  done
  # shellcheck disable=SC2086
  [ -n "$pids" ] && kill -KILL $pids 2>/dev/null
fi
rm -rf "$RKE2_DATA_DIR/agent/pod-manifests"
exit 0
