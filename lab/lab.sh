#!/usr/bin/env bash
# The lab of real parts: lab.sh up | down | status [PART...]
#
# Each part is lab/parts/<part>.sh defining <part>_up, <part>_down and
# <part>_status. A part publishes what clients need (endpoints, paths) as
# KEY=VALUE lines in $LAB_DIR/env.d/<part>.env; tests read those files.
# up is idempotent; down leaves no process, container or mount behind.
. "$(dirname "$0")/lib.sh"

PARTS=(docker nodeimage pki minio k8s kwok triton artifacts)

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
