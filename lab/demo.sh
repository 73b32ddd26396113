#!/usr/bin/env bash
# make demo (after lab-up): the lab's status, then Triton from the lab's
# release tarball serving the lab models from MinIO over TLS, and a real
# inference answer. The full stack through site.yml replaces the second step
# once the roles exist.
set -euo pipefail
cd "$(dirname "$0")/.."
bash lab/lab.sh status
exec .venv/bin/python lab/demo.py
