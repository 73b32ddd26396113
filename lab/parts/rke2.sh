# shellcheck shell=bash
# Part "rke2": the release-shaped RKE2 STAND-IN (lab/standins/rke2/README.md; the Go module proxy
# refuses github.com/rancher/rke2 and no registry has it), packed once per version in
# RKE2_STANDIN_VERSIONS into
#   $LAB_CACHE/standins/rke2-<version>-<key>/{rke2.linux-amd64, rke2.linux-amd64.tar.gz,
#     rke2-images.linux-amd64.tar.zst, rke2-images.linux-amd64.txt, rke2-images-core.linux-amd64.tar.zst,
#     rke2-images-core.linux-amd64.txt, VERSION}
# keyed like the k3s part's builds (rebuilt only when the sources or the carried binaries change).
# bin/rke2 is the shared stand-in program (lab/standins/common, flavour rke2); the tarball has the
# release bundle's layout. The "artifacts" part serves them at /rke2/<version>/.
# shellcheck source=../standins/common/pack.sh
. "$LAB_SRC/standins/common/pack.sh"
RKE2_BUNDLE_SRC="$LAB_SRC/standins/rke2/bundle"
# The bundle's files, in the release tarball's layout (no ./ prefix, no directory entries).
RKE2_BUNDLE_FILES=(bin/rke2 bin/rke2-killall.sh bin/rke2-uninstall.sh
  lib/systemd/system/rke2-agent.env lib/systemd/system/rke2-agent.service
  lib/systemd/system/rke2-server.env lib/systemd/system/rke2-server.service
  share/rke2/LICENSE.txt share/rke2/rke2-cis-sysctl.conf)
# Image names of a v1.34 release (tags approximate; the stand-in's archives carry none of them).
# @TAG@ is the version with - for +, as RKE2's image tags write it.
RKE2_IMAGES_CORE=(rancher/hardened-addon-resizer:1.8.23-build20251015 rancher/hardened-cluster-autoscaler:v1.10.2-build20251015
  rancher/hardened-coredns:v1.13.1-build20251015 rancher/hardened-dns-node-cache:1.26.7-build20251015
  rancher/hardened-etcd:v3.6.5-k3s1-build20251017 rancher/hardened-k8s-metrics-server:v0.8.0-build20251015
  rancher/hardened-kubernetes:@TAG@-build20260115 rancher/klipper-helm:v0.9.10-build20251111
  rancher/klipper-lb:v0.4.13 rancher/mirrored-pause:3.6
  rancher/mirrored-ingress-nginx-kube-webhook-certgen:v1.6.4 rancher/nginx-ingress-controller:v1.13.4-hardened1
  rancher/mirrored-sig-storage-snapshot-controller:v8.2.0 rancher/rke2-runtime:@TAG@)
RKE2_IMAGES_CANAL=(rancher/hardened-calico:v3.30.3-build20251015 rancher/hardened-flannel:v0.27.4-build20251015)

# What gzip the ~430 MB bundle gets: pigz when there, else gzip; fast either way.
_rke2_gzip() { if command -v pigz >/dev/null; then pigz -1 -n; else gzip -1 -n; fi; }

# _rke2_fill DIR VERSION: the assets of one release: the bare binary, the bundle, the images.
_rke2_fill() {
  local dir=$1 version=$2 bundle="$1/bundle" tag=${2//+/-} type other
  mkdir -p "$bundle/bin" "$bundle/lib/systemd/system" "$bundle/share/rke2"
  standin_pack rke2 "$version" "$dir/rke2.linux-amd64"
  ln "$dir/rke2.linux-amd64" "$bundle/bin/rke2"
  install -m 0755 "$RKE2_BUNDLE_SRC/rke2-killall.sh" "$RKE2_BUNDLE_SRC/rke2-uninstall.sh" "$bundle/bin/"
  for type in server agent; do
    other=agent; [[ $type == agent ]] && other=server
    sed -e "s/@TYPE@/$type/g" -e "s/@OTHER@/$other/g" "$RKE2_BUNDLE_SRC/rke2.service.in" \
      > "$bundle/lib/systemd/system/rke2-$type.service"
    echo "HOME=/root" > "$bundle/lib/systemd/system/rke2-$type.env"
  done
  chmod 0644 "$bundle"/lib/systemd/system/*
  install -m 0644 "$RKE2_BUNDLE_SRC/LICENSE.txt" "$RKE2_BUNDLE_SRC/rke2-cis-sysctl.conf" "$bundle/share/rke2/"
  tar --owner=0 --group=0 --numeric-owner --mtime=@0 -cf - -C "$bundle" "${RKE2_BUNDLE_FILES[@]}" \
    | _rke2_gzip > "$dir/rke2.linux-amd64.tar.gz"
  rm -rf "$bundle"
  standin_empty_images rke2 "$version" "$dir/rke2-images-core.linux-amd64.tar.zst"
  printf '%s\n' "${RKE2_IMAGES_CORE[@]//@TAG@/$tag}" > "$dir/rke2-images-core.linux-amd64.txt"
  standin_empty_images rke2 "$version" "$dir/rke2-images.linux-amd64.tar.zst"
  printf '%s\n' "${RKE2_IMAGES_CORE[@]//@TAG@/$tag}" "${RKE2_IMAGES_CANAL[@]}" > "$dir/rke2-images.linux-amd64.txt"
}

rke2_up() { standin_up rke2 "$RKE2_STANDIN_VERSIONS" rke2.linux-amd64.tar.gz _rke2_fill; }

rke2_down() { rm -f "$LAB_DIR/env.d/rke2.env"; }

rke2_status() { standin_status rke2 "$RKE2_STANDIN_VERSIONS" rke2.linux-amd64.tar.gz; }
