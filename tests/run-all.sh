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
# Two lanes side by side (tests/support/lanes.py): the site's and everything else.
# PYTEST_WORKERS=0 runs them one after the other in this process.
workers=${PYTEST_WORKERS:-2}
lanes=(-n "$workers" --dist loadgroup)
(( workers == 0 )) && lanes=(-p no:xdist)
step pytest "$BIN/pytest" tests -p no:cacheprovider "${lanes[@]}" --durations=15 "${extra[@]}"
if (( ${#failed[@]} )); then echo "make test: FAILED steps: ${failed[*]}"; exit 1; fi
