#!/bin/sh
# rke2-uninstall.sh of the edgeai lab RKE2 STAND-IN (not RKE2): what RKE2's tarball uninstaller
# removes, in its order: rke2-killall.sh, the units disabled and removed (from the install prefix
# and /etc/systemd/system), the binaries, share/rke2, then /etc/rancher/rke2, /etc/rancher/node,
# /etc/cni, /opt/cni/bin, /var/lib/kubelet and the data dir. Nothing of the stand-in is left.
set -u
if [ "$(id -u)" -ne 0 ]; then
  echo "$(basename "$0"): must be run as root" >&2
  exit 1
fi
RKE2_DATA_DIR=${RKE2_DATA_DIR:-/var/lib/rancher/rke2}
# The prefix the tarball was unpacked into: this script is <prefix>/bin/rke2-uninstall.sh.
INSTALL_RKE2_ROOT=${INSTALL_RKE2_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}

if [ -x "$INSTALL_RKE2_ROOT/bin/rke2-killall.sh" ]; then
  "$INSTALL_RKE2_ROOT/bin/rke2-killall.sh"
fi

if command -v systemctl >/dev/null 2>&1; then
  systemctl disable rke2-server.service rke2-agent.service >/dev/null 2>&1 || true
  systemctl reset-failed rke2-server.service rke2-agent.service >/dev/null 2>&1 || true
fi
for type in server agent; do
  rm -f "$INSTALL_RKE2_ROOT/lib/systemd/system/rke2-$type.service" \
    "$INSTALL_RKE2_ROOT/lib/systemd/system/rke2-$type.env" \
    "/etc/systemd/system/rke2-$type.service" "/etc/systemd/system/rke2-$type.env"
  rm -rf "/etc/systemd/system/rke2-$type.service.d"
done
if command -v systemctl >/dev/null 2>&1; then
  systemctl daemon-reload >/dev/null 2>&1 || true
fi

rm -f "$INSTALL_RKE2_ROOT/bin/rke2" "$INSTALL_RKE2_ROOT/bin/rke2-killall.sh"
rm -rf "$INSTALL_RKE2_ROOT/share/rke2"
rm -rf /etc/rancher/rke2 /etc/rancher/node /etc/cni /opt/cni/bin /var/lib/kubelet "$RKE2_DATA_DIR" \
  /var/lib/rancher/rke2
rm -f /etc/fapolicyd/rules.d/80-rke2.rules
# The parents, when nothing else (a K3s, another tool) still uses them.
rmdir /etc/rancher /var/lib/rancher 2>/dev/null || true
rm -f "$0"
