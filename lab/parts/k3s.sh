# shellcheck shell=bash
# Part "k3s": the release-shaped K3s STAND-IN (lab/standins/k3s; the real K3s is refused by the Go
# module proxy), packed once per version in K3S_STANDIN_VERSIONS into
#   $LAB_CACHE/standins/k3s-<version>-<key>/{k3s,k3s-airgap-images-amd64.tar.zst,k3s-images.txt,VERSION}
# keyed by the stand-in's sources and the versions of the binaries it carries (rebuilt only when
# they change). `k3s` is one self-extracting file: a /bin/sh header, then an uncompressed tar of
# the stand-in (Python), a pure-Python PyYAML, and the lab's real etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kwok (+ its stage config) and kubectl.
# The "artifacts" part serves them at /k3s/<version>/ like GitHub release downloads.
K3S_STANDIN_SRC="$LAB_SRC/standins/k3s"
K3S_STANDIN_CACHE="$LAB_CACHE/standins"
K3S_ENV="$LAB_DIR/env.d/k3s.env"
K3S_STANDIN_GO=go1.24.11
K3S_HEADER_SIZE=16384
# kwok's default stages, as the kwok part assembles them.
K3S_KWOK_STAGES=(node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml
  pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml)
# What K3s v1.34 lists in k3s-images.txt (the stand-in's airgap tarball carries none of them).
K3S_IMAGES=(docker.io/rancher/klipper-helm:v0.9.8-build20250709 docker.io/rancher/klipper-lb:v0.4.13
  docker.io/rancher/local-path-provisioner:v0.0.31 docker.io/rancher/mirrored-coredns-coredns:1.12.3
  docker.io/rancher/mirrored-library-busybox:1.36.1 docker.io/rancher/mirrored-library-traefik:3.3.6
  docker.io/rancher/mirrored-metrics-server:v0.8.0 docker.io/rancher/mirrored-pause:3.6)

_k3s_binaries() {
  local k8s="$LAB_CACHE/bin/k8s-$K8S_VERSION"
  printf '%s\n' "$k8s/kube-apiserver" "$k8s/kube-controller-manager" "$k8s/kube-scheduler" \
    "$LAB_CACHE/bin/etcd-$ETCD_VERSION/etcd" "$LAB_CACHE/bin/kwok-$KWOK_VERSION/kwok" \
    "$(readlink -f "$REPO_ROOT/.venv/bin/kubectl")"
}

# Key of a build: the stand-in's sources, this file, and the binaries' identities.
_k3s_key() {
  {
    (cd "$K3S_STANDIN_SRC" && find . -type f ! -name '*.pyc' ! -name README.md -print0 | sort -z | xargs -0 sha256sum)
    sha256sum "$LAB_SRC/parts/k3s.sh"
    _k3s_binaries | xargs stat -c '%n %s %Y'
    echo "$K8S_VERSION $ETCD_VERSION $KWOK_VERSION $K3S_STANDIN_GO"
  } | sha256sum | cut -c1-12
}

_k3s_kwok_stages() {  # OUT
  local moddir f
  moddir=$(go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])') \
    || die "k3s: cannot fetch sigs.k8s.io/kwok@$KWOK_VERSION from the Go module proxy"
  for f in "${K3S_KWOK_STAGES[@]}"; do
    [[ -f $moddir/kustomize/stage/$f ]] || die "k3s: kwok stage $f missing in $moddir"
    printf -- '---\n'; cat "$moddir/kustomize/stage/$f"
  done > "$1"
}

_k3s_yaml_dir() {
  "$REPO_ROOT/.venv/bin/python" -c 'import os, yaml; print(os.path.dirname(yaml.__file__))' \
    || die "k3s: PyYAML missing from $REPO_ROOT/.venv (make setup)"
}

# _k3s_build VERSION: sets K3S_BUILT to the build directory.
_k3s_build() {
  local version=$1 key dir stage sha commit yaml_dir f
  key=$(_k3s_key)
  dir="$K3S_STANDIN_CACHE/k3s-${version//+/-}-$key"
  K3S_BUILT=$dir
  if [[ -x $dir/k3s ]]; then say "k3s stand-in $version: cached ($dir)"; return 0; fi
  say "k3s stand-in $version: packing (binaries of Kubernetes $K8S_VERSION, etcd $ETCD_VERSION, kwok $KWOK_VERSION)"
  local t=$SECONDS
  mkdir -p "$K3S_STANDIN_CACHE"
  stage=$(mktemp -d "$K3S_STANDIN_CACHE/.stage-XXXXXX")
  mkdir -p "$stage/standin/yaml" "$stage/bin" "$stage/kwok"
  cp "$K3S_STANDIN_SRC"/standin/*.py "$stage/standin/"
  commit=$(printf '%s' "$version" | sha256sum | cut -c1-8)
  printf '{"version": "%s", "commit": "%s", "go": "%s", "kubernetes": "%s", "stand_in": true}\n' \
    "$version" "$commit" "$K3S_STANDIN_GO" "$K8S_VERSION" > "$stage/standin/VERSION.json"
  yaml_dir=$(_k3s_yaml_dir)
  # Pure-Python PyYAML only: the nodes have no python3-yaml and no C extension.
  cp "$yaml_dir"/*.py "$stage/standin/yaml/"
  for f in "$yaml_dir"/../[Pp][Yy][Yy][Aa][Mm][Ll]-*.dist-info/{LICENSE,licenses/LICENSE}; do
    [[ -f $f ]] && cp "$f" "$stage/standin/yaml/LICENSE"
  done
  while read -r f; do
    [[ -x $f ]] || die "k3s: $f missing: run 'bash lab/build.sh k8s', 'bash lab/build.sh etcd', 'bash lab/build.sh kwok' (or make setup for kubectl)"
    ln "$f" "$stage/bin/$(basename "$f")" 2>/dev/null || cp "$f" "$stage/bin/"
  done < <(_k3s_binaries)
  _k3s_kwok_stages "$stage/kwok/stages.yaml"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$stage.tar" -C "$stage" .
  sha=$(sha256sum "$stage.tar" | cut -d' ' -f1)
  sed -e "s/@VERSION@/$version/" -e "s/@COMMIT@/$commit/" -e "s/@GO@/$K3S_STANDIN_GO/" \
    -e "s/@PAYLOAD_SHA@/$sha/" -e "s/@HEADER_SIZE@/$K3S_HEADER_SIZE/" "$K3S_STANDIN_SRC/header.sh" > "$stage.hdr"
  local len; len=$(wc -c < "$stage.hdr")
  (( len < K3S_HEADER_SIZE )) || die "k3s: header.sh is $len bytes, over $K3S_HEADER_SIZE"
  rm -rf "$dir.tmp"; mkdir -p "$dir.tmp"
  {
    cat "$stage.hdr"
    head -c $(( K3S_HEADER_SIZE - len - 1 )) /dev/zero | tr '\0' '#'
    echo
    cat "$stage.tar"
  } > "$dir.tmp/k3s"
  chmod 0755 "$dir.tmp/k3s"
  # The airgap images tarball: a docker-save-shaped archive holding no image.
  mkdir -p "$stage/airgap"
  echo '[]' > "$stage/airgap/manifest.json"
  printf 'edgeai lab K3s stand-in %s: an airgap images archive with no images (no registry here).\n' "$version" \
    > "$stage/airgap/README.stand-in"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf - -C "$stage/airgap" . \
    | zstd -q -19 -o "$dir.tmp/k3s-airgap-images-amd64.tar.zst"
  printf '%s\n' "${K3S_IMAGES[@]}" > "$dir.tmp/k3s-images.txt"
  echo "$version" > "$dir.tmp/VERSION"
  rm -rf "$stage" "$stage.tar" "$stage.hdr" "$dir"
  mv "$dir.tmp" "$dir"
  say "k3s stand-in $version: packed in $(( SECONDS - t ))s ($(du -h "$dir/k3s" | cut -f1), payload $sha)"
}

k3s_up() {
  bash "$LAB_SRC/build.sh" k8s
  bash "$LAB_SRC/build.sh" etcd
  bash "$LAB_SRC/build.sh" kwok
  command -v zstd >/dev/null || die "k3s: zstd missing: apt-get install zstd (make setup installs it)"
  [[ -x $REPO_ROOT/.venv/bin/kubectl ]] || die "k3s: kubectl missing: $REPO_ROOT/.venv/bin/kubectl (make setup)"
  local version builds=() keep=() d
  for version in $K3S_STANDIN_VERSIONS; do
    _k3s_build "$version"
    builds+=("$K3S_BUILT"); keep+=("$K3S_BUILT")
  done
  # Older builds (sources changed since) are removed: each build is ~400 MB.
  for d in "$K3S_STANDIN_CACHE"/k3s-*; do
    [[ -d $d ]] || continue
    [[ " ${keep[*]} " == *" $d "* ]] || { say "k3s: removing stale build $d"; rm -rf "$d"; }
  done
  local tmp="$K3S_ENV.tmp"
  {
    echo "K3S_STANDIN_VERSIONS=$(IFS=,; echo "${K3S_STANDIN_VERSIONS// /,}")"
    echo "K3S_STANDIN_BUILDS=$(IFS=,; echo "${builds[*]}")"
  } > "$tmp"
  mv "$tmp" "$K3S_ENV"
  say "k3s: stand-in versions $K3S_STANDIN_VERSIONS ready (served by the artifacts part at /k3s/<version>/)"
}

k3s_down() { rm -f "$K3S_ENV"; }

k3s_status() {
  local version d
  for version in $K3S_STANDIN_VERSIONS; do
    d=$(find "$K3S_STANDIN_CACHE" -maxdepth 1 -name "k3s-${version//+/-}-*" 2>/dev/null | head -1)
    [[ -n $d && -x $d/k3s ]] || { echo "stand-in $version not packed"; return 1; }
  done
  [[ -s $K3S_ENV ]] || { echo "not published (env.d/k3s.env missing)"; return 1; }
  echo "stand-in $K3S_STANDIN_VERSIONS in $K3S_STANDIN_CACHE"
}
