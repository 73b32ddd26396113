#!/usr/bin/env bash
# make setup: everything a fresh Debian 12 machine needs, idempotent.
#  - Debian packages (Docker engine, debootstrap, etcd, NFS userspace tools)
#  - uv, then .venv built exactly from uv.lock
#  - the repository linked in place as the collection edgeai.inference
. "$(dirname "$0")/lib.sh"

# libpython3.11 and python3-numpy: the Triton python backend stub runs on the system Python.
# zstd: the K3s and RKE2 stand-ins' images archives (k3s-airgap-images-amd64.tar.zst, ...).
# pigz: the RKE2 stand-in's bundle (rke2.linux-amd64.tar.gz, ~430 MB before gzip) on every core.
DEBIAN_PACKAGES=(docker.io debootstrap etcd-server libnfs-utils openssl curl git rsync time iptables
  iproute2 libpython3.11 python3-numpy zstd pigz)
missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if (( ${#missing[@]} )); then
  say "setup: installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The lab starts its own engine; Debian's units must not compete for it.
  systemctl disable --now docker.service docker.socket etcd.service >/dev/null 2>&1 || true
fi
command -v go >/dev/null || die "Go toolchain not found: install Go >= 1.24 (the lab builds MinIO, mc, kwok and Kubernetes from the Go module proxy)"

if ! command -v uv >/dev/null; then
  say "setup: installing uv from PyPI"
  python3 -m pip install --quiet 'uv>=0.5'
fi
say "setup: syncing .venv from uv.lock"
# --compile-bytecode: every package's .pyc written once here. Without it, where
# PYTHONDONTWRITEBYTECODE is set (as on the lab machine), every module run compiled its imports
# again: the kubernetes client's 1,900 files for each kubernetes.core task, over half the
# controller's CPU in a site.yml no-op (py-spy, 2026-12-03). Up-to-date files are skipped.
(cd "$REPO_ROOT" && uv sync --frozen --quiet --compile-bytecode)

link="$REPO_ROOT/.collections/ansible_collections/edgeai/inference"
if [[ "$(readlink "$link" 2>/dev/null)" != "$REPO_ROOT" ]]; then
  mkdir -p "$(dirname "$link")"
  ln -sfn "$REPO_ROOT" "$link"
fi
say "setup: done (collection edgeai.inference -> $REPO_ROOT)"
