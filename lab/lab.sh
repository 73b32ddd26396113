#!/usr/bin/env bash
# The lab of real parts: lab.sh up | down | status [PART...]
#
# Each part is lab/parts/<part>.sh defining <part>_up, <part>_down and
# <part>_status. A part publishes what clients need (endpoints, paths) as
# KEY=VALUE lines in $LAB_DIR/env.d/<part>.env; tests read those files.
# up is idempotent; down leaves no process, container or mount behind.
. "$(dirname "$0")/lib.sh"

PARTS=(docker nodeimage pki minio k8s kwok triton k3s rke2 artifacts sitenodes)

cmd=${1:-status}; shift || true
selected=("$@"); [[ ${#selected[@]} -gt 0 ]] || selected=("${PARTS[@]}")
for p in "${selected[@]}"; do
  [[ -f $LAB_SRC/parts/$p.sh ]] || die "unknown lab part '$p' (parts: ${PARTS[*]})"
  # shellcheck source=/dev/null
  . "$LAB_SRC/parts/$p.sh"
done

case $cmd in
  up)
    t0=$SECONDS
    for p in "${selected[@]}"; do
      t=$SECONDS; say "== $p: up"
      "${p}_up"
      say "== $p: up in $(( SECONDS - t ))s"
    done
    say "lab up in $(( SECONDS - t0 ))s; state in $LAB_DIR, logs in $LAB_DIR/logs"
    ;;
  down)
    for (( i=${#selected[@]}-1; i>=0; i-- )); do
      p=${selected[$i]}; say "== $p: down"; "${p}_down" || say "$p: down reported an error"
    done
    if [[ $# -eq 0 ]]; then
      # The whole lab is down: prove it left nothing behind.
      left=$(pgrep -af -- "$LAB_DIR|$LAB_CACHE" | grep -v -e "lab.sh" -e pgrep || true)
      mounts=$(grep -F -- "$LAB_DIR" /proc/mounts || true)
      containers=$( (docker ps -aq --filter label=edgeai.lab=1 2>/dev/null) || true)
      if [[ -n $left$mounts$containers ]]; then
        printf 'left behind:\n%s\n%s\n%s\n' "$left" "$mounts" "$containers" >&2
        die "lab down left processes, mounts or containers behind (listed above)"
      fi
      say "lab down: no lab process, container or mount left"
    fi
    ;;
  status)
    rc=0
    for p in "${selected[@]}"; do
      if out=$("${p}_status" 2>&1); then printf '%-10s OK    %s\n' "$p" "$out"
      else printf '%-10s DOWN  %s\n' "$p" "$out"; rc=1; fi
    done
    exit $rc
    ;;
  *) die "usage: lab.sh up|down|status [PART...]" ;;
esac
