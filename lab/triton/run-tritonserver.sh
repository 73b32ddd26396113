#!/usr/bin/env bash
# Run tritonserver from the lab's release tarball as a host process.
#
#   run-tritonserver.sh [TRITONSERVER ARGS...]
#
# The tarball is $TRITON_TARBALL, or the one published in $LAB_DIR/env.d/triton.env
# (lab.sh up triton). It is unpacked once, next to the tarball, into unpacked/
# (re-unpacked when the tarball's checksum changes). --backend-directory and
# --cache-directory default to the unpacked tree.
#
# TRITON_EXTRA_CA=<PEM file>: trust this CA too, for S3 over TLS. Triton's bundled
# libcurl reads only /etc/ssl/certs/ca-certificates.crt (SSL_CERT_FILE and
# CURL_CA_BUNDLE are ignored: triton-inference-server/server#4702), and the host's
# trust store is not to be touched. So a bundle (system CAs + that CA) is written to
# a private directory and tritonserver runs in its own mount namespace with that
# bundle bind-mounted over /etc/ssl/certs/ca-certificates.crt. Needs root.
#
# The script execs tritonserver (through unshare, which execs too): its pid is
# the server's, so signals sent to it reach the server.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LAB_DIR="${EDGEAI_LAB_DIR:-$(cd "$here/../.." && pwd)/.lab}"

if [[ -z ${TRITON_TARBALL:-} && -f $LAB_DIR/env.d/triton.env ]]; then
  TRITON_TARBALL=$(sed -n 's/^TRITON_TARBALL=//p' "$LAB_DIR/env.d/triton.env")
fi
[[ -n ${TRITON_TARBALL:-} && -f $TRITON_TARBALL ]] \
  || { echo "run-tritonserver: no Triton tarball (TRITON_TARBALL unset or missing): run lab/lab.sh up triton" >&2; exit 2; }

# Unpack once (under a lock, so concurrent launches share one tree).
dest="$(dirname "$TRITON_TARBALL")/unpacked"
sum=$(cut -d' ' -f1 "$TRITON_TARBALL.sha256" 2>/dev/null || sha256sum "$TRITON_TARBALL" | cut -d' ' -f1)
exec 9>"$dest.lock"
flock 9
if [[ ! -x $dest/tritonserver/bin/tritonserver || "$(cat "$dest/.sha256" 2>/dev/null)" != "$sum" ]]; then
  rm -rf "$dest" "$dest.tmp"
  mkdir -p "$dest.tmp"
  tar -C "$dest.tmp" -xzf "$TRITON_TARBALL"
  echo "$sum" > "$dest.tmp/.sha256"
  mv "$dest.tmp" "$dest"
fi
exec 9>&-
root="$dest/tritonserver"

# The binary finds lib/ through its RPATH ($ORIGIN/../lib); the python backend
# and its stub (backends/python) do not: they need LD_LIBRARY_PATH.
export LD_LIBRARY_PATH="$root/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# The python backend stub embeds the system's Python and finds its prefix
# through PATH: a virtualenv first on PATH (as under `make`) hands it the
# venv's numpy 2.x instead of the system numpy, and outputs come back with the
# wrong size ("output tensor shape does not match size of output"). Run the
# server with a node's plain environment.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
unset VIRTUAL_ENV PYTHONHOME PYTHONPATH
args=("$@")
[[ " $* " == *" --backend-directory"* ]] || args+=("--backend-directory=$root/backends")
[[ " $* " == *" --cache-directory"* ]] || args+=("--cache-directory=$root/caches")

if [[ -z ${TRITON_EXTRA_CA:-} ]]; then
  exec "$root/bin/tritonserver" "${args[@]}"
fi

system_bundle=/etc/ssl/certs/ca-certificates.crt
[[ -r $TRITON_EXTRA_CA ]] || { echo "run-tritonserver: TRITON_EXTRA_CA=$TRITON_EXTRA_CA is not readable" >&2; exit 2; }
[[ -f $system_bundle ]] || { echo "run-tritonserver: $system_bundle is missing (install ca-certificates)" >&2; exit 2; }
(( EUID == 0 )) || { echo "run-tritonserver: TRITON_EXTRA_CA needs root (a private mount namespace)" >&2; exit 2; }
private=$(mktemp -d "${TMPDIR:-/tmp}/triton-ca.XXXXXX")  # 0700
cat "$system_bundle" > "$private/ca-certificates.crt"
printf '\n' >> "$private/ca-certificates.crt"
cat "$TRITON_EXTRA_CA" >> "$private/ca-certificates.crt"
chmod 0644 "$private/ca-certificates.crt"
# Inside the new namespace: bind the bundle, drop the private copy (the mount
# keeps it alive), then become tritonserver. Nothing is visible to the host.
# The inner script's $1/$2 are its own positional arguments, not ours.
# shellcheck disable=SC2016
exec unshare --mount --propagation private -- /bin/sh -c '
  mount --bind "$1" /etc/ssl/certs/ca-certificates.crt || { rm -rf "$2"; exit 1; }
  rm -rf "$2"
  shift 2
  exec "$@"' sh "$private/ca-certificates.crt" "$private" "$root/bin/tritonserver" "${args[@]}"
