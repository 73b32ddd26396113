#!/usr/bin/env bash
# Builds the lab's Go parts into $LAB_CACHE/bin/<name>-<version>/, once per
# version. Usage: build.sh [minio|mc|kwok|k8s|etcd|all]
. "$(dirname "$0")/lib.sh"

build_go_install() {  # name module version binary
  local name=$1 module=$2 version=$3 binary=$4
  local dest="$LAB_CACHE/bin/$name-$version"
  if [[ -x $dest/$binary ]]; then say "$name $version: cached"; return 0; fi
  say "$name $version: building from the Go module proxy (minutes on 2 cores)"
  local t=$SECONDS
  rm -rf "$dest.tmp"; mkdir -p "$dest.tmp"
  CGO_ENABLED=0 GOBIN="$dest.tmp" GOFLAGS=-trimpath go install "$module@$version"
  mv "$dest.tmp" "$dest"
  say "$name $version: built in $(( SECONDS - t ))s"
}

build_k8s() {
  local dest="$LAB_CACHE/bin/k8s-$K8S_VERSION"
  if [[ -x $dest/kube-apiserver && -x $dest/kube-controller-manager && -x $dest/kube-scheduler ]]; then
    say "kubernetes $K8S_VERSION: cached"; return 0
  fi
  say "kubernetes $K8S_VERSION: building kube-apiserver, kube-controller-manager, kube-scheduler (long on 2 cores)"
  local t=$SECONDS src="$LAB_CACHE/src/k8s-$K8S_VERSION"
  mkdir -p "$src"
  # k8s.io/kubernetes points its staging modules at ./staging; a consumer must
  # replace each with the published v0.x twin of the release.
  local minor="v0.${K8S_VERSION#v1.}"
  go mod download -json "k8s.io/kubernetes@$K8S_VERSION" > "$src/download.json"
  local gomod
  gomod=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["GoMod"])' "$src/download.json")
  {
    echo "module edgeai.local/k8sbuild"
    echo
    echo "go 1.24"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    grep -E '^\s*k8s.io/[a-z0-9-]+ => ./staging/' "$gomod" \
      | awk -v v="$minor" '{print "replace " $1 " => " $1 " " v}'
  } > "$src/go.mod"
  printf 'package main\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver/app"\n\t_ "k8s.io/kubernetes/cmd/kube-controller-manager/app"\n\t_ "k8s.io/kubernetes/cmd/kube-scheduler/app"\n)\n\nfunc main() {}\n' > "$src/tools.go"
  (cd "$src" && go mod tidy && rm -rf "$dest.tmp" && mkdir -p "$dest.tmp" \
    && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION" \
       -o "$dest.tmp/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler)
  mv "$dest.tmp" "$dest"
  say "kubernetes $K8S_VERSION: built in $(( SECONDS - t ))s"
}

# etcd's server/v3 go.mod carries replace directives, so `go install` refuses
# it: build it as a dependency of a throwaway module.
build_etcd() {
  local dest="$LAB_CACHE/bin/etcd-$ETCD_VERSION" src="$LAB_CACHE/src/etcd-$ETCD_VERSION" t=$SECONDS
  if [[ -x $dest/etcd ]]; then say "etcd $ETCD_VERSION: cached"; return 0; fi
  say "etcd $ETCD_VERSION: building from the Go module proxy (about a minute)"
  mkdir -p "$src"
  printf 'module edgeai.local/etcdbuild\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" > "$src/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3/etcdmain"\n' > "$src/tools.go"
  (cd "$src" && go mod tidy && rm -rf "$dest.tmp" && mkdir -p "$dest.tmp" \
    && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$dest.tmp/etcd" go.etcd.io/etcd/server/v3)
  mv "$dest.tmp" "$dest"
  say "etcd $ETCD_VERSION: built in $(( SECONDS - t ))s"
}

what=${1:-all}
case $what in
  minio) build_go_install minio github.com/minio/minio "$MINIO_VERSION" minio ;;
  mc)    build_go_install mc github.com/minio/mc "$MC_VERSION" mc ;;
  kwok)  build_go_install kwok sigs.k8s.io/kwok/cmd/kwok "$KWOK_VERSION" kwok ;;
  k8s)   build_k8s ;;
  etcd)  build_etcd ;;
  all)   build_go_install kwok sigs.k8s.io/kwok/cmd/kwok "$KWOK_VERSION" kwok
         build_go_install minio github.com/minio/minio "$MINIO_VERSION" minio
         build_go_install mc github.com/minio/mc "$MC_VERSION" mc
         build_k8s
         build_etcd ;;
  *) die "unknown part '$what' (minio|mc|kwok|k8s|etcd|all)" ;;
esac
