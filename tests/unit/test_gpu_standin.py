"""The lab's device plugin stand-in decides as the kubelet's device manager does (pure functions)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lab" / "standins" / "common"))

from standin import gpus

PLUGIN_IMAGE = "nvcr.io/nvidia/k8s-device-plugin:v0.17.1"


def pod(node="gpu-0", image=PLUGIN_IMAGE, phase="Running", ready="True", host_path=gpus.PLUGIN_SOCKET_DIR, **meta):
    return {
        "metadata": {"namespace": "kube-system", "name": f"plugin-{node}", **meta},
        "spec": {
            "nodeName": node,
            "containers": [
                {"image": image, "volumeMounts": [{"name": "dp", "mountPath": gpus.PLUGIN_SOCKET_DIR}]},
            ],
            "volumes": [{"name": "dp", "hostPath": {"path": host_path}}],
        },
        "status": {"phase": phase, "conditions": [{"type": "Ready", "status": ready}]},
    }


def node(gpus_annotation="4", capacity=None, allocatable=None):
    annotations = {gpus.HARDWARE_ANNOTATION: gpus_annotation} if gpus_annotation is not None else {}
    return {
        "metadata": {"name": "gpu-0", "annotations": annotations},
        "status": {"capacity": dict(capacity or {"cpu": "32"}), "allocatable": dict(allocatable or {"cpu": "32"})},
    }


def test_a_running_ready_plugin_pod_registers():
    assert gpus.plugins_by_node([pod()]) == {"gpu-0": ["kube-system/plugin-gpu-0"]}
    assert gpus.is_registered_plugin(pod(image="nvidia/k8s-device-plugin@sha256:" + "0" * 64))


@pytest.mark.parametrize(
    "changes",
    [
        {"phase": "Pending"},
        {"ready": "False"},
        {"image": "registry.invalid/edgeai/pause:3.10"},
        {"image": "nvcr.io/nvidia/k8s-device-plugin-fake:v1"},
        {"host_path": "/var/lib/kubelet"},
        {"deletionTimestamp": "2026-12-03T00:00:00Z"},
    ],
)
def test_anything_else_is_no_registration(changes):
    assert not gpus.is_registered_plugin(pod(**changes))


def test_registration_advertises_the_machines_gpus():
    patch = gpus.status_patch(node(), ["kube-system/plugin-gpu-0"])
    assert patch == {"status": {"capacity": {"nvidia.com/gpu": "4"}, "allocatable": {"nvidia.com/gpu": "4"}}}
    done = node(capacity={"nvidia.com/gpu": "4"}, allocatable={"nvidia.com/gpu": "4"})
    assert gpus.status_patch(done, ["kube-system/plugin-gpu-0"]) is None


def test_no_registration_no_gpu_and_a_gone_plugin_leaves_capacity_with_nothing_allocatable():
    assert gpus.status_patch(node(), []) is None
    gone = gpus.status_patch(node(capacity={"nvidia.com/gpu": "4"}, allocatable={"nvidia.com/gpu": "4"}), [])
    assert gone == {"status": {"capacity": {"nvidia.com/gpu": "4"}, "allocatable": {"nvidia.com/gpu": "0"}}}


@pytest.mark.parametrize("annotation", [None, "0", "many"])
def test_a_machine_without_gpus_gets_none_even_with_the_plugin(annotation):
    assert gpus.status_patch(node(gpus_annotation=annotation), ["kube-system/plugin-gpu-0"]) is None


class Recorder:
    """Records the merge patches report() sends (the API side is proven by test_nvidia_gpu_role)."""

    def __init__(self):
        self.patches = []

    def merge_patch(self, path, body):
        self.patches.append((path, body))


def test_report_patches_the_node_status_once_and_says_why():
    kube = Recorder()
    line = gpus.report(kube, node(), ["kube-system/nvidia-device-plugin-abc"])
    four = {gpus.RESOURCE: "4"}
    assert kube.patches == [("/api/v1/nodes/gpu-0/status", {"status": {"capacity": four, "allocatable": four}})]
    assert line.startswith("gpu-0: plugin Pod kube-system/nvidia-device-plugin-abc registered")
    assert line.endswith(f"allocatable {gpus.RESOURCE}=4")
    # already reported: nothing sent, nothing to log
    done = node(capacity={gpus.RESOURCE: "4"}, allocatable={gpus.RESOURCE: "4"})
    assert gpus.report(kube, done, ["kube-system/nvidia-device-plugin-abc"]) is None and len(kube.patches) == 1
