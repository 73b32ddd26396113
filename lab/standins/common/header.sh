#!/bin/sh
# edgeai lab @DISPLAY@ STAND-IN (not @DISPLAY@): a self-extracting file shaped like the @NAME@ release binary.
# Like K3s and RKE2, it extracts its payload once into <data-dir>/data/<payload sha256>/ and runs
# from there; the payload is a Python program driving real etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and kwok. See lab/standins/@NAME@/README.md.
set -eu
standin_version='@VERSION@'
standin_commit='@COMMIT@'
standin_go='@GO@'
payload_sha='@PAYLOAD_SHA@'
header_size=@HEADER_SIZE@

case ${1:-} in
  --version|-v)
    printf '@NAME@ version %s (%s)\ngo version %s (edgeai lab stand-in)\n' "$standin_version" "$standin_commit" "$standin_go"
    exit 0 ;;
esac

# The data dir, found as K3s finds it: --data-dir/-d, STANDIN_ENV_DATA_DIR, data-dir in the config files.
data_dir='' prev='' cfg=${STANDIN_ENV_CONFIG_FILE:-}
for arg in "$@"; do
  case $prev in
    --data-dir|-data-dir|-d) data_dir=$arg ;;
    --config|-config|-c) [ -n "${STANDIN_ENV_CONFIG_FILE:-}" ] || cfg=$arg ;;
  esac
  case $arg in
    --data-dir=*|-data-dir=*|-d=*) data_dir=${arg#*=} ;;
    --config=*|-config=*|-c=*) [ -n "${STANDIN_ENV_CONFIG_FILE:-}" ] || cfg=${arg#*=} ;;
  esac
  prev=$arg
done
[ -n "$data_dir" ] || data_dir=${STANDIN_ENV_DATA_DIR:-}
if [ -z "$data_dir" ]; then
  cfg=${cfg:-/etc/rancher/@NAME@/config.yaml}
  for f in "$cfg" "$cfg".d/*.yaml "$cfg".d/*.yml "$cfg".d/*.YAML "$cfg".d/*.YML; do
    [ -r "$f" ] || continue
    v=$(sed -n 's/^data-dir:[[:space:]]*//p' "$f" | tail -n 1 | sed "s/[[:space:]]*#.*//; s/^[\"']//; s/[\"']\$//")
    [ -z "$v" ] || data_dir=$v
  done
fi
if [ -z "$data_dir" ]; then
  if [ "$(id -u)" = 0 ]; then data_dir=/var/lib/rancher/@NAME@; else data_dir=$HOME/.rancher/@NAME@; fi
fi

dir=$data_dir/data/$payload_sha
if [ ! -f "$dir/.extracted" ]; then
  mkdir -p "$data_dir/data"
  tmp=$(mktemp -d "$data_dir/data/.tmp-XXXXXX")
  if ! tail -c +$((header_size + 1)) "$0" | tar -x -f - -C "$tmp"; then
    rm -rf "$tmp"
    echo "@NAME@ stand-in: failed to extract the payload of $0 into $data_dir/data" >&2
    exit 1
  fi
  : > "$tmp/.extracted"
  # Atomic: another run that got there first leaves a complete directory; ours is dropped.
  mv -T "$tmp" "$dir" 2>/dev/null || rm -rf "$tmp"
  current=$(readlink "$data_dir/data/current" 2>/dev/null || true)
  if [ -n "$current" ] && [ "$current" != "$payload_sha" ]; then ln -sfn "$current" "$data_dir/data/previous"; fi
  ln -sfn "$payload_sha" "$data_dir/data/current"
fi
STANDIN_ARGV0=$0 STANDIN_DATA=$data_dir exec python3 -sE "$dir/standin/main.py" "$@"
