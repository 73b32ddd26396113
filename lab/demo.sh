#!/usr/bin/env bash
# make demo (after lab-up): the whole stack through the collection's own
# playbooks against inventories/lab. site.yml converges the lab's site nodes
# (MinIO over TLS with a read-only Triton user, Triton as a host service from
# the release tarball) and the lab cluster (Triton Deployment on the simulated
# GPU nodes), publishes the models; verify.yml proves every endpoint with real
# inferences; a second site.yml run must change nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
. lab/lib.sh
export EDGEAI_LAB_DIR="$LAB_DIR" ANSIBLE_CONFIG="$REPO_ROOT/ansible.cfg" ANSIBLE_NOCOLOR=1
PLAYBOOK=.venv/bin/ansible-playbook
bash lab/lab.sh status

# play NAME PLAYBOOK: run it, full output to a log; print the recap (and the
# tail of the log when it fails).
play() {
  local name=$1 playbook=$2 log="$LAB_DIR/logs/demo-$1.log" t=$SECONDS
  say "demo: ansible-playbook -i inventories/lab playbooks/$playbook  (log: $log)"
  if ! "$PLAYBOOK" -i inventories/lab "playbooks/$playbook" >"$log" 2>&1; then
    tail -60 "$log" >&2
    die "demo: $playbook failed after $(( SECONDS - t ))s: see $log"
  fi
  say "demo: $playbook passed in $(( SECONDS - t ))s"
  sed -n '/^PLAY RECAP/,/^$/p' "$log" | grep -E '^[a-z0-9-]+ +:' | sed 's/^/demo:   /'
}

play site-1 site.yml
play verify verify.yml
# The table and the answers verify.yml printed (the msg lines of its report task).
sed -n '/One line per endpoint/,/^TASK/p' "$LAB_DIR/logs/demo-verify.log" \
  | sed -n 's/^ *- "\{0,1\}\(.*\)"\{0,1\}$/\1/p' | sed 's/^/demo:   /'
# Triton on the lab cluster: the Deployment's Pod on a simulated x86 GPU node (kwok runs no
# container, so these endpoints do not answer; the host service above does).
kubectl=("$REPO_ROOT/.venv/bin/kubectl" --kubeconfig="$LAB_DIR/kube/kubeconfig" -n edgeai)
{ "${kubectl[@]}" get deployment,service; "${kubectl[@]}" get pods -o wide; } 2>&1 | cut -c1-110 | sed 's/^/demo:   /'
play site-2 site.yml
if grep -E '^[a-z0-9-]+ +:.*changed=[1-9]' "$LAB_DIR/logs/demo-site-2.log" >/dev/null; then
  die "demo: the second site.yml run changed something (see $LAB_DIR/logs/demo-site-2.log): not idempotent"
fi
say "demo: second site.yml run: changed=0 on every host"
