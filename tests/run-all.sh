#!/usr/bin/env bash
# make test after lab-up: every gate, then every pytest test (unit,
# integration against the lab, Molecule scenarios), in two lanes side by side. All run even when one
# fails; the exit status says whether any failed. pytest's summary closes.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
BIN=.venv/bin
failed=()
step() {
  local name=$1; shift
  local t=$SECONDS
  echo "=== $name: $*"
  if "$@"; then echo "=== $name: ok ($(( SECONDS - t ))s)"
  else echo "=== $name: FAILED ($(( SECONDS - t ))s)"; failed+=("$name"); fi
}
step ruff-lint "$BIN/ruff" check .
step ruff-format "$BIN/ruff" format --check .
step ansible-lint "$BIN/ansible-lint" --profile production
step sanity bash tests/sanity/run.sh
if (( ${#failed[@]} )); then echo "=== gates FAILED: ${failed[*]}"; else echo "=== gates: all passed"; fi
read -ra extra <<< "${PYTEST_ARGS:-}"
# Two lanes side by side (tests/support/lanes.py): two pytest processes, the site's tests and
# everything else, each writing its log to .lab/logs/pytest-<lane>.log, printed when both are
# done. PYTEST_LANES=1 runs every test in this one process instead.
lane() {
  local name=$1 t=$SECONDS
  "$BIN/pytest" tests -p no:cacheprovider --lane "$name" --durations=15 "${extra[@]}" > "$logs/pytest-$name.log" 2>&1
  local rc=$?
  echo "$rc $(( SECONDS - t ))" > "$logs/pytest-$name.rc"
  return "$rc"
}
if [[ ${PYTEST_LANES:-2} == 1 ]]; then
  step pytest "$BIN/pytest" tests -p no:cacheprovider --durations=15 "${extra[@]}"
else
  logs=.lab/logs
  mkdir -p "$logs"
  t=$SECONDS
  echo "=== pytest: lanes site and nodes side by side (logs in $logs/pytest-<lane>.log)"
  lane site & site_pid=$!
  lane nodes & nodes_pid=$!
  wait "$site_pid"; wait "$nodes_pid"
  for name in site nodes; do
    read -r rc took < "$logs/pytest-$name.rc"
    echo "=== pytest lane $name: rc $rc (${took}s)"
    cat "$logs/pytest-$name.log"
    if [[ $rc != 0 ]]; then failed+=("pytest-$name"); fi
  done
  for name in site nodes; do
    read -r rc took < "$logs/pytest-$name.rc"
    echo "=== pytest lane $name: $( [[ $rc == 0 ]] && echo ok || echo FAILED ) (${took}s): $(tail -n 1 "$logs/pytest-$name.log")"
  done
  echo "=== pytest: both lanes done ($(( SECONDS - t ))s)"
fi
if (( ${#failed[@]} )); then echo "make test: FAILED steps: ${failed[*]}"; exit 1; fi
