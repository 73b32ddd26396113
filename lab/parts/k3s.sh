# shellcheck shell=bash
# Part "k3s": the release-shaped K3s STAND-IN (lab/standins/k3s/README.md; the real K3s is refused
# by the Go module proxy), packed once per version in K3S_STANDIN_VERSIONS into
#   $LAB_CACHE/standins/k3s-<version>-<key>/{k3s,k3s-airgap-images-amd64.tar.zst,k3s-images.txt,VERSION}
# keyed by the stand-in's sources and the versions of the binaries it carries (rebuilt only when
# they change). `k3s` is the shared stand-in program (lab/standins/common, flavour k3s) as one
# self-extracting file. The "artifacts" part serves them at /k3s/<version>/ like GitHub release downloads.
# shellcheck source=../standins/common/pack.sh
. "$LAB_SRC/standins/common/pack.sh"
# What K3s v1.34 lists in k3s-images.txt (the stand-in's airgap tarball carries none of them).
K3S_IMAGES=(rancher/klipper-helm:v0.9.8-build20250709 rancher/klipper-lb:v0.4.13
  rancher/local-path-provisioner:v0.0.31 rancher/mirrored-coredns-coredns:1.12.3
  rancher/mirrored-library-busybox:1.36.1 rancher/mirrored-library-traefik:3.3.6
  rancher/mirrored-metrics-server:v0.8.0 rancher/mirrored-pause:3.6)

# _k3s_fill DIR VERSION: the assets of one release.
_k3s_fill() {
  standin_pack k3s "$2" "$1/k3s"
  standin_empty_images k3s "$2" "$1/k3s-airgap-images-amd64.tar.zst"
  printf '%s\n' "${K3S_IMAGES[@]}" > "$1/k3s-images.txt"
}

k3s_up() { standin_up k3s "$K3S_STANDIN_VERSIONS" k3s _k3s_fill; }

k3s_down() { rm -f "$LAB_DIR/env.d/k3s.env"; }

k3s_status() { standin_status k3s "$K3S_STANDIN_VERSIONS" k3s; }
