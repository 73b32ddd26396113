# shellcheck shell=bash
# Packing shared by the lab parts "k3s" and "rke2" (sourced by lab/parts/k3s.sh and rke2.sh, after
# lab/lib.sh). One program (standin/*.py) serves both stand-ins; VERSION.json's "flavour" (k3s |
# rke2) decides names, paths, ports and flags. A build is one self-extracting file: a /bin/sh header
# (header.sh), then an uncompressed tar of the stand-in (Python), a pure-Python PyYAML, and the
# lab's real etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok (+ its stage
# config) and kubectl.
STANDIN_COMMON="$LAB_SRC/standins/common"
STANDIN_CACHE="$LAB_CACHE/standins"
STANDIN_GO=go1.24.11
STANDIN_HEADER_SIZE=16384
# kwok's default stages, as the kwok part assembles them.
STANDIN_KWOK_STAGES=(node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml
  pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml)

standin_binaries() {
  local k8s="$LAB_CACHE/bin/k8s-$K8S_VERSION"
  printf '%s\n' "$k8s/kube-apiserver" "$k8s/kube-controller-manager" "$k8s/kube-scheduler" \
    "$LAB_CACHE/bin/etcd-$ETCD_VERSION/etcd" "$LAB_CACHE/bin/kwok-$KWOK_VERSION/kwok" \
    "$(readlink -f "$REPO_ROOT/.venv/bin/kubectl")"
}

# standin_key FLAVOUR: the key of a build: the shared sources, the flavour's own files (its README
# aside), its part, and the carried binaries' identities.
standin_key() {
  local flavour=$1
  {
    (cd "$STANDIN_COMMON" && find . -type f ! -name '*.pyc' -print0 | sort -z | xargs -0 sha256sum)
    (cd "$LAB_SRC/standins/$flavour" && find . -type f ! -name README.md -print0 | sort -z | xargs -0 -r sha256sum)
    sha256sum "$LAB_SRC/parts/$flavour.sh"
    standin_binaries | xargs stat -c '%n %s %Y'
    echo "$K8S_VERSION $ETCD_VERSION $KWOK_VERSION $STANDIN_GO"
  } | sha256sum | cut -c1-12
}

# standin_require FLAVOUR: the builds and tools a stand-in is packed from.
standin_require() {
  bash "$LAB_SRC/build.sh" k8s
  bash "$LAB_SRC/build.sh" etcd
  bash "$LAB_SRC/build.sh" kwok
  command -v zstd >/dev/null || die "$1: zstd missing: apt-get install zstd (make setup installs it)"
  [[ -x $REPO_ROOT/.venv/bin/kubectl ]] || die "$1: kubectl missing: $REPO_ROOT/.venv/bin/kubectl (make setup)"
}

_standin_kwok_stages() {  # OUT
  local moddir f
  moddir=$(go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])') \
    || die "stand-in: cannot fetch sigs.k8s.io/kwok@$KWOK_VERSION from the Go module proxy"
  for f in "${STANDIN_KWOK_STAGES[@]}"; do
    [[ -f $moddir/kustomize/stage/$f ]] || die "stand-in: kwok stage $f missing in $moddir"
    printf -- '---\n'; cat "$moddir/kustomize/stage/$f"
  done > "$1"
}

_standin_yaml_dir() {
  "$REPO_ROOT/.venv/bin/python" -c 'import os, yaml; print(os.path.dirname(yaml.__file__))' \
    || die "stand-in: PyYAML missing from $REPO_ROOT/.venv (make setup)"
}

# standin_pack FLAVOUR VERSION OUT: the self-extracting binary of FLAVOUR at VERSION, written to OUT
# (mode 0755); sets STANDIN_PAYLOAD_SHA.
standin_pack() {
  local flavour=$1 version=$2 out=$3 stage commit yaml_dir f sha len
  mkdir -p "$STANDIN_CACHE"
  stage=$(mktemp -d "$STANDIN_CACHE/.stage-XXXXXX")
  mkdir -p "$stage/standin/yaml" "$stage/bin" "$stage/kwok"
  cp "$STANDIN_COMMON"/standin/*.py "$stage/standin/"
  commit=$(printf '%s' "$version" | sha256sum | cut -c1-8)
  printf '{"flavour": "%s", "version": "%s", "commit": "%s", "go": "%s", "kubernetes": "%s", "stand_in": true}\n' \
    "$flavour" "$version" "$commit" "$STANDIN_GO" "$K8S_VERSION" > "$stage/standin/VERSION.json"
  yaml_dir=$(_standin_yaml_dir)
  # Pure-Python PyYAML only: the nodes have no python3-yaml and no C extension.
  cp "$yaml_dir"/*.py "$stage/standin/yaml/"
  for f in "$yaml_dir"/../[Pp][Yy][Yy][Aa][Mm][Ll]-*.dist-info/{LICENSE,licenses/LICENSE}; do
    [[ -f $f ]] && cp "$f" "$stage/standin/yaml/LICENSE"
  done
  while read -r f; do
    [[ -x $f ]] || die "$flavour: $f missing: run 'bash lab/build.sh k8s', 'bash lab/build.sh etcd', 'bash lab/build.sh kwok' (or make setup for kubectl)"
    ln "$f" "$stage/bin/$(basename "$f")" 2>/dev/null || cp "$f" "$stage/bin/"
  done < <(standin_binaries)
  _standin_kwok_stages "$stage/kwok/stages.yaml"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$stage.tar" -C "$stage" .
  sha=$(sha256sum "$stage.tar" | cut -d' ' -f1)
  sed -e "s/@VERSION@/$version/" -e "s/@COMMIT@/$commit/" -e "s/@GO@/$STANDIN_GO/" \
    -e "s/@PAYLOAD_SHA@/$sha/" -e "s/@HEADER_SIZE@/$STANDIN_HEADER_SIZE/" -e "s/@NAME@/$flavour/g" \
    -e "s/STANDIN_ENV_/${flavour^^}_/g" -e "s/@DISPLAY@/$(standin_display "$flavour")/g" \
    "$STANDIN_COMMON/header.sh" > "$stage.hdr"
  len=$(wc -c < "$stage.hdr")
  (( len < STANDIN_HEADER_SIZE )) || die "$flavour: header.sh is $len bytes, over $STANDIN_HEADER_SIZE"
  {
    cat "$stage.hdr"
    head -c $(( STANDIN_HEADER_SIZE - len - 1 )) /dev/zero | tr '\0' '#'
    echo
    cat "$stage.tar"
  } > "$out"
  chmod 0755 "$out"
  rm -rf "$stage" "$stage.tar" "$stage.hdr"
  STANDIN_PAYLOAD_SHA=$sha
}

standin_display() { case $1 in k3s) echo K3s ;; rke2) echo RKE2 ;; *) echo "$1" ;; esac; }

# standin_empty_images FLAVOUR VERSION OUT: a zstd docker-save-shaped archive holding no image (no
# registry here to take images from).
standin_empty_images() {
  local flavour=$1 version=$2 out=$3 dir
  dir=$(mktemp -d "$STANDIN_CACHE/.images-XXXXXX")
  chmod 0755 "$dir"
  echo '[]' > "$dir/manifest.json"
  printf 'edgeai lab %s stand-in %s: an images archive with no images (no registry here).\n' \
    "$(standin_display "$flavour")" "$version" > "$dir/README.stand-in"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf - -C "$dir" . | zstd -q -19 -o "$out"
  rm -rf "$dir"
}

# standin_build FLAVOUR VERSION ASSET FILL: the build of VERSION, in STANDIN_BUILT. Cached while ASSET
# is there; else FILL DIR VERSION writes the build's files into DIR, a temporary directory that then
# takes the build's place.
standin_build() {
  local flavour=$1 version=$2 asset=$3 fill=$4 dir t=$SECONDS
  dir="$STANDIN_CACHE/$flavour-${version//+/-}-$(standin_key "$flavour")"
  STANDIN_BUILT=$dir
  if [[ -s $dir/$asset ]]; then say "$flavour stand-in $version: cached ($dir)"; return 0; fi
  say "$flavour stand-in $version: packing (binaries of Kubernetes $K8S_VERSION, etcd $ETCD_VERSION, kwok $KWOK_VERSION)"
  rm -rf "$dir.tmp"; mkdir -p "$dir.tmp"
  "$fill" "$dir.tmp" "$version"
  echo "$version" > "$dir.tmp/VERSION"
  rm -rf "$dir"
  mv "$dir.tmp" "$dir"
  say "$flavour stand-in $version: packed in $(( SECONDS - t ))s ($asset $(du -h "$dir/$asset" | cut -f1), payload $STANDIN_PAYLOAD_SHA)"
}

# standin_up FLAVOUR VERSIONS ASSET FILL: every version built (standin_build), older builds removed,
# the builds published in env.d/<flavour>.env for the artifacts part.
standin_up() {
  local flavour=$1 versions=$2 asset=$3 fill=$4 version builds=()
  standin_require "$flavour"
  for version in $versions; do
    standin_build "$flavour" "$version" "$asset" "$fill"
    builds+=("$STANDIN_BUILT")
  done
  standin_prune "$flavour" "${builds[@]}"
  standin_publish_env "$flavour" "$versions" "${builds[@]}"
  say "$flavour: stand-in versions $versions ready (served by the artifacts part at /$flavour/<version>/)"
}

# standin_prune FLAVOUR BUILD...: remove FLAVOUR's builds other than BUILD... (each is ~400 MB or more).
standin_prune() {
  local flavour=$1 d; shift
  for d in "$STANDIN_CACHE/$flavour"-*; do
    [[ -d $d ]] || continue
    [[ " $* " == *" $d "* ]] || { say "$flavour: removing stale build $d"; rm -rf "$d"; }
  done
}

# standin_publish_env FLAVOUR VERSIONS BUILD...: env.d/<flavour>.env with <FLAVOUR>_STANDIN_VERSIONS
# (comma-separated) and <FLAVOUR>_STANDIN_BUILDS (the build directories the artifacts part serves).
standin_publish_env() {
  local flavour=$1 versions=$2 env="$LAB_DIR/env.d/$1.env"; shift 2
  local up=${flavour^^}
  {
    echo "${up}_STANDIN_VERSIONS=${versions// /,}"
    echo "${up}_STANDIN_BUILDS=$(IFS=,; echo "$*")"
  } > "$env.tmp"
  mv "$env.tmp" "$env"
}

# standin_status FLAVOUR VERSIONS ASSET: whether every version is packed (ASSET in its build) and published.
standin_status() {
  local flavour=$1 versions=$2 asset=$3 version d
  for version in $versions; do
    d=$(find "$STANDIN_CACHE" -maxdepth 1 -name "$flavour-${version//+/-}-*" 2>/dev/null | head -1)
    [[ -n $d && -e $d/$asset ]] || { echo "stand-in $version not packed"; return 1; }
  done
  [[ -s $LAB_DIR/env.d/$flavour.env ]] || { echo "not published (env.d/$flavour.env missing)"; return 1; }
  echo "stand-in $versions in $STANDIN_CACHE"
}
