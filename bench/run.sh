#!/usr/bin/env bash
# make bench: upload benchmark against the lab MinIO (see bench/upload_bench.py).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m bench.upload_bench "$@"
