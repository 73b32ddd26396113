# Copyright: edgeai.inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the cluster roles: node labels and taints as K3s/RKE2 flags, release versions ordered,
an extended resource each Node can allocate.

Documented in one YAML file per filter beside this file (<filter>.yml).
"""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
# vX.Y.Z[-rcN]+k3sN / +rke2rN
RELEASE = re.compile(r"^v(\d+)\.(\d+)\.(\d+)(?:-rc(\d+))?\+(?:k3s|rke2r)(\d+)$")


def node_label_flags(labels):
    """{key: value} as the node-label list: ["key=value", ...], sorted by key."""
    if not isinstance(labels, dict):
        raise AnsibleFilterError(f"node labels must be a mapping of key to value, got {type(labels).__name__}")
    return [f"{key}={'' if value is None else value}" for key, value in sorted(labels.items())]


def node_taint_flags(taints):
    """[{key, value, effect}] as the node-taint list: ["key=value:Effect", "key:Effect"]."""
    if not isinstance(taints, list):
        raise AnsibleFilterError("node taints must be a list of {key, value, effect} mappings")
    flags = []
    for taint in taints:
        if not isinstance(taint, dict) or not taint.get("key") or taint.get("effect") not in TAINT_EFFECTS:
            raise AnsibleFilterError(f"node taint {taint!r} needs a key and an effect among {', '.join(TAINT_EFFECTS)}")
        value = taint.get("value")
        flags.append(f"{taint['key']}{'' if value in (None, '') else '=' + str(value)}:{taint['effect']}")
    return flags


def kubernetes_release_key(version):
    """Sortable tuple of a K3s/RKE2 release (major, minor, patch, final-or-rc, build)."""
    match = RELEASE.match(str(version).strip())
    if not match:
        raise AnsibleFilterError(
            f"'{version}' is not a K3s or RKE2 release version (vX.Y.Z+k3sN, vX.Y.Z+rke2rN, optionally -rcN)"
        )
    major, minor, patch, rc, build = match.groups()
    # A release sorts after its release candidates.
    return [int(major), int(minor), int(patch), 10**6 if rc is None else int(rc), int(build)]


def node_allocatable(nodes, resource):
    """{node name: int} of ``resource`` in each Node's status.allocatable (0 where it is absent)."""
    if not isinstance(nodes, list):
        raise AnsibleFilterError("node_allocatable needs a list of Node objects (k8s_info's resources)")
    counts = {}
    for node in nodes:
        if not isinstance(node, dict) or not isinstance(node.get("metadata"), dict) or "name" not in node["metadata"]:
            raise AnsibleFilterError(f"node_allocatable: {node!r:.80} is not a Node object")
        value = str(((node.get("status") or {}).get("allocatable") or {}).get(resource, "0"))
        try:
            counts[node["metadata"]["name"]] = int(value)
        except ValueError:
            name = node["metadata"]["name"]
            raise AnsibleFilterError(f"node_allocatable: {resource} of {name} is {value!r}, not a count") from None
    return counts


class FilterModule:
    def filters(self):
        return {
            "node_label_flags": node_label_flags,
            "node_taint_flags": node_taint_flags,
            "kubernetes_release_key": kubernetes_release_key,
            "node_allocatable": node_allocatable,
        }
