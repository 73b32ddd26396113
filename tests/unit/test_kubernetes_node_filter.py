"""Filters of the k3s role: node labels and taints as config.yaml values, release versions ordered."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.edgeai.inference.plugins.filter.kubernetes_node import (
    kubernetes_release_key,
    node_allocatable,
    node_label_flags,
    node_taint_flags,
)


def test_labels_become_sorted_key_value_flags():
    assert node_label_flags({"edgeai.io/site": "lab", "edgeai.io/accelerator": "jetson"}) == [
        "edgeai.io/accelerator=jetson",
        "edgeai.io/site=lab",
    ]
    assert node_label_flags({}) == []


def test_labels_must_be_a_mapping():
    with pytest.raises(AnsibleFilterError, match="mapping"):
        node_label_flags(["a=b"])


def test_taints_with_and_without_value():
    assert node_taint_flags(
        [{"key": "dedicated", "value": "jetson", "effect": "NoSchedule"}, {"key": "gpu", "effect": "NoExecute"}]
    ) == ["dedicated=jetson:NoSchedule", "gpu:NoExecute"]


@pytest.mark.parametrize(
    "taint", [{"key": "a", "effect": "Sometimes"}, {"value": "b", "effect": "NoSchedule"}, "a=b:NoSchedule"]
)
def test_taints_need_a_key_and_a_known_effect(taint):
    with pytest.raises(AnsibleFilterError, match="NoSchedule, PreferNoSchedule, NoExecute"):
        node_taint_flags([taint])


@pytest.mark.parametrize(
    ("older", "newer"),
    [
        ("v1.34.3+k3s1", "v1.34.4+k3s1"),
        ("v1.34.4+k3s1", "v1.34.4+k3s2"),
        ("v1.34.4-rc1+k3s1", "v1.34.4+k3s1"),
        ("v1.9.10+k3s1", "v1.10.0+k3s1"),
        ("v1.31.4+rke2r1", "v1.31.4+rke2r2"),
    ],
)
def test_release_keys_order_releases(older, newer):
    assert kubernetes_release_key(older) < kubernetes_release_key(newer)


@pytest.mark.parametrize("version", ["stable", "1.34.4", "v1.34.4", "v1.34.4+k3s", "latest"])
def test_release_key_refuses_other_strings(version):
    with pytest.raises(AnsibleFilterError, match="not a K3s or RKE2 release"):
        kubernetes_release_key(version)


def test_allocatable_extended_resource_per_node():
    nodes = [
        {"metadata": {"name": "gpu-0"}, "status": {"allocatable": {"cpu": "32", "nvidia.com/gpu": "4"}}},
        {"metadata": {"name": "gpu-1"}, "status": {"allocatable": {"cpu": "32"}}},
        {"metadata": {"name": "new"}},
    ]
    assert node_allocatable(nodes, "nvidia.com/gpu") == {"gpu-0": 4, "gpu-1": 0, "new": 0}
    assert node_allocatable([], "nvidia.com/gpu") == {}


def test_allocatable_refuses_what_is_not_nodes():
    with pytest.raises(AnsibleFilterError, match="list of Node"):
        node_allocatable({"gpu-0": 4}, "nvidia.com/gpu")
    with pytest.raises(AnsibleFilterError, match="not a count"):
        node_allocatable(
            [{"metadata": {"name": "x"}, "status": {"allocatable": {"nvidia.com/gpu": "4k"}}}], "nvidia.com/gpu"
        )
