#!/usr/bin/env bash
# make bench: the upload benchmark against the lab MinIO (bench/upload_bench.py)
# and the scale benchmark on node containers (bench/scale_bench.py), under
# Ansible's linear strategy (results bench/results/scale.*) and then under
# mitogen_linear (bench/results/scale-mitogen.*), and the site's no-op re-run
# (bench/site_bench.py, bench/results/site-noop.*). Pass "upload", "site" or
# "scale" to run one of them.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD:$PWD/.collections"
which=${1:-all}
if [[ $which == all || $which == upload ]]; then
  .venv/bin/python -m bench.upload_bench
  # many small files: what a one-file edit sends (the file and one manifest shard) beside mc mirror
  .venv/bin/python -m bench.upload_bench --large-files 0 --small-files 5000 --small-kib 1 --name upload-small-files
fi
if [[ $which == all || $which == site ]]; then .venv/bin/python -m bench.site_bench; fi
if [[ $which == all || $which == scale ]]; then
  .venv/bin/python -m bench.scale_bench
  .venv/bin/python -m bench.scale_bench --strategy mitogen --name scale-mitogen
fi
