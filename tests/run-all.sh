#!/usr/bin/env bash
# make test after setup: the lab up (lab/lab.sh up), every gate, then every pytest test (unit,
# integration against the lab, Molecule scenarios), in two lanes side by side. All run even when one
# fails; the exit status says whether any failed. pytest's summary closes.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
BIN=.venv/bin
logs=.lab/logs
mkdir -p "$logs"
rm -f "$logs"/steps.tsv "$logs"/junit-*.xml
failed=()
# One line per step in $logs/steps.tsv: the table tests/support/durations.py prints at the end.
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >> "$logs/steps.tsv"; }
step() {
  local name=$1; shift
  local t=$SECONDS
  echo "=== $name: $*"
  if "$@"; then echo "=== $name: ok ($(( SECONDS - t ))s)"; record "$name" $(( SECONDS - t )) ok
  else echo "=== $name: FAILED ($(( SECONDS - t ))s)"; record "$name" $(( SECONDS - t )) FAILED; failed+=("$name"); fi
}
step lab-up bash lab/lab.sh up
if (( ${#failed[@]} )); then echo "make test: the lab did not come up (above): no test can run"; exit 1; fi
step ruff-lint "$BIN/ruff" check .
step ruff-format "$BIN/ruff" format --check .
# ansible-lint and ansible-test sanity side by side (one core each), their output in order after.
gate() {
  local name=$1; shift
  local t=$SECONDS
  "$@" > "$logs/gate-$name.log" 2>&1
  echo "$? $(( SECONDS - t ))" > "$logs/gate-$name.rc"
}
gate ansible-lint "$BIN/ansible-lint" --profile production & lint_pid=$!
gate sanity bash tests/sanity/run.sh & sanity_pid=$!
wait "$lint_pid"; wait "$sanity_pid"
for name in ansible-lint sanity; do
  read -r rc took < "$logs/gate-$name.rc"
  echo "=== $name:"
  cat "$logs/gate-$name.log"
  if [[ $rc == 0 ]]; then echo "=== $name: ok (${took}s)"; record "$name" "$took" ok
  else echo "=== $name: FAILED (${took}s)"; record "$name" "$took" FAILED; failed+=("$name"); fi
done
if (( ${#failed[@]} )); then echo "=== gates FAILED: ${failed[*]}"; else echo "=== gates: all passed"; fi
read -ra extra <<< "${PYTEST_ARGS:-}"
# Two lanes side by side (tests/support/lanes.py): two pytest processes, the site's tests and
# everything else, each writing its log to .lab/logs/pytest-<lane>.log, printed when both are
# done. PYTEST_LANES=1 runs every test in this one process instead.
lane() {
  local name=$1 t=$SECONDS
  "$BIN/pytest" tests -p no:cacheprovider --lane "$name" --durations=15 --junitxml="$logs/junit-$name.xml" \
    "${extra[@]}" > "$logs/pytest-$name.log" 2>&1
  local rc=$?
  echo "$rc $(( SECONDS - t ))" > "$logs/pytest-$name.rc"
  record "pytest lane $name" $(( SECONDS - t )) "$( [[ $rc == 0 ]] && echo ok || echo FAILED )"
  return "$rc"
}
if [[ ${PYTEST_LANES:-2} == 1 ]]; then
  step pytest "$BIN/pytest" tests -p no:cacheprovider --durations=15 --junitxml="$logs/junit-all.xml" "${extra[@]}"
else
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
"$BIN/python" -m tests.support.durations "$logs"
if (( ${#failed[@]} )); then echo "make test: FAILED steps: ${failed[*]}"; exit 1; fi
