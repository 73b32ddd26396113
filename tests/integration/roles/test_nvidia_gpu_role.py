"""The nvidia_gpu role (the NVIDIA device plugin DaemonSet) against the lab's Kubernetes API.

The lab's x86 nodes gpu-0/1 are machines with four simulated GPUs each that advertise none: only
the device plugin's Pod, once Running on a node, makes the node report ``nvidia.com/gpu`` (the
lab's device plugin stand-in plays the plugin's registration with the kubelet,
lab/standins/gpu/report.py). So this proves, on a real API and scheduler: no plugin, no GPU; the
role's plugin, four per node; a node without it, a GPU Pod there stays Pending with the
scheduler's reason; a plugin that finds no GPU, the role fails naming the node and its Pod.

The site's own plugin is the one this test drives (same DaemonSet, kube-system): the test runs in
the site lane and puts it back as site.yml has it, checking that it did.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from kubernetes import client

from tests.integration.kube import (
    LAB_GPU_NODES,
    LAB_GPUS_PER_NODE,
    Run,
    absent,
    allocatable_gpus,
    api_client,
    delete,
    role_runner,
    simulated_jetson_nodes,
    site_gpus,
    wait_for,
)

pytestmark = pytest.mark.lab

NAMESPACE = "kube-system"
DAEMONSET = "nvidia-device-plugin-daemonset"
FOUR_EACH = dict.fromkeys(LAB_GPU_NODES, LAB_GPUS_PER_NODE)
NONE = dict.fromkeys(LAB_GPU_NODES, 0)
IMAGE = "registry.invalid/edgeai/pause:3.10"


@pytest.fixture(scope="module")
def api(lab) -> client.ApiClient:
    return api_client(lab)


@pytest.fixture(scope="module")
def run_role(lab, api, tmp_path_factory) -> Iterator:
    """The role with the lab site's variables (overridable); the site's plugin is back afterwards."""

    def role_vars(**overrides):
        return {
            "nvidia_gpu_kubeconfig": lab["KUBECONFIG"],
            "nvidia_gpu_node_selector": {"kubernetes.io/arch": "amd64"},
            "nvidia_gpu_runtime_class_name": "",
            "nvidia_gpu_wait_timeout": 120,
            "nvidia_gpu_advertise_timeout": 60,
            **overrides,
        }

    yield role_runner(tmp_path_factory.mktemp("nvidia_gpu"), "nvidia_gpu", role_vars)
    site_gpus(api)  # the site's plugin again, and both servers advertising four GPUs


def _daemonset(api: client.ApiClient) -> client.V1DaemonSet | None:
    apps = client.AppsV1Api(api)
    return (
        None
        if absent(apps.read_namespaced_daemon_set, DAEMONSET, NAMESPACE)
        else apps.read_namespaced_daemon_set(DAEMONSET, NAMESPACE)
    )


@pytest.fixture(scope="module")
def removed(api, run_role) -> Run:
    """state absent first: no plugin anywhere, so no node advertises a GPU."""
    run = run_role(nvidia_gpu_state="absent")
    assert run.rc == 0, run.output[-4000:]
    wait_for("no allocatable GPU on the lab's servers once the plugin is gone", lambda: allocatable_gpus(api) == NONE)
    return run


def test_without_the_plugin_no_node_advertises_a_gpu(api, removed, run_role):
    assert _daemonset(api) is None
    assert allocatable_gpus(api) == NONE
    again = run_role(nvidia_gpu_state="absent")
    assert again.rc == 0 and again.changed == 0, again.output[-4000:]


def test_check_mode_predicts_the_daemonset_and_applies_nothing(api, removed, run_role):
    check = run_role("--check", "--diff")
    assert check.rc == 0, check.output[-4000:]
    assert check.changed >= 1, check.output[-4000:]
    assert DAEMONSET in check.output, "the diff does not show the DaemonSet"
    assert _daemonset(api) is None, "check mode created the DaemonSet"
    assert allocatable_gpus(api) == NONE


def test_the_plugin_makes_four_gpus_per_server_and_a_rerun_changes_nothing(api, removed, run_role):
    first = run_role()
    assert first.rc == 0, first.output[-4000:]
    assert first.changed >= 1
    # the role itself waited until both servers advertise: no further wait here
    assert allocatable_gpus(api) == FOUR_EACH
    core = client.CoreV1Api(api)
    for name in LAB_GPU_NODES:
        capacity = core.read_node(name).status.capacity
        assert capacity.get("nvidia.com/gpu") == str(LAB_GPUS_PER_NODE), capacity
    pods = core.list_namespaced_pod(NAMESPACE, label_selector="app.kubernetes.io/name=nvidia-device-plugin").items
    assert sorted(p.spec.node_name for p in pods) == sorted(LAB_GPU_NODES)
    spec = pods[0].spec
    assert spec.priority_class_name == "system-node-critical"
    assert spec.volumes[0].host_path.path == "/var/lib/kubelet/device-plugins"
    assert spec.containers[0].image == "nvcr.io/nvidia/k8s-device-plugin:v0.17.1"
    assert spec.runtime_class_name is None  # the lab site sets none

    again = run_role()
    assert again.rc == 0 and again.changed == 0, again.output[-4000:]
    check = run_role("--check", "--diff")
    assert check.rc == 0 and check.changed == 0, check.output[-4000:]


def _gpu_pod(core: client.CoreV1Api, namespace: str, node: str) -> str:
    name = f"gpu-on-{node}"
    core.create_namespaced_pod(
        namespace,
        client.V1Pod(
            metadata=client.V1ObjectMeta(name=name),
            spec=client.V1PodSpec(
                node_selector={"kubernetes.io/hostname": node},
                containers=[
                    client.V1Container(
                        name="app", image=IMAGE, resources=client.V1ResourceRequirements(limits={"nvidia.com/gpu": "1"})
                    )
                ],
                termination_grace_period_seconds=0,
            ),
        ),
    )
    return name


def test_a_server_without_the_plugin_has_no_gpu_and_a_gpu_pod_there_stays_pending(api, removed, run_role):
    narrowed = run_role(nvidia_gpu_node_selector={"kubernetes.io/hostname": "gpu-0"})
    assert narrowed.rc == 0, narrowed.output[-4000:]
    wait_for("gpu-1 without allocatable GPUs once its plugin Pod is gone", lambda: allocatable_gpus(api)["gpu-1"] == 0)
    assert allocatable_gpus(api) == {"gpu-0": LAB_GPUS_PER_NODE, "gpu-1": 0}

    core = client.CoreV1Api(api)
    namespace = f"gpu-{uuid.uuid4().hex[:8]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    try:
        wait_for(
            f"ServiceAccount default in {namespace}",
            lambda: not absent(core.read_namespaced_service_account, "default", namespace),
        )
        served, starved = _gpu_pod(core, namespace, "gpu-0"), _gpu_pod(core, namespace, "gpu-1")

        def running() -> bool:
            return core.read_namespaced_pod(served, namespace).status.phase == "Running"

        wait_for(f"{served} Running on gpu-0", running)

        def reason() -> str:
            conditions = core.read_namespaced_pod(starved, namespace).status.conditions or []
            return next((c.message for c in conditions if c.type == "PodScheduled" and c.reason == "Unschedulable"), "")

        message = wait_for(f"the scheduler's reason for {starved}", reason)
        assert "Insufficient nvidia.com/gpu" in message, message
        assert core.read_namespaced_pod(starved, namespace).spec.node_name is None
    finally:
        delete(core.delete_namespace, namespace)


def test_a_plugin_that_finds_no_gpu_fails_naming_the_node_and_its_pod(api, removed, run_role):
    """A node the selector picks whose machine has no GPU (a fixture node; the simulated Jetsons are
    machines without an advertised GPU): the plugin runs there, nothing appears, the role says so."""
    with simulated_jetson_nodes(api) as jetsons:
        run = run_role(
            nvidia_gpu_node_selector={"kubernetes.io/hostname": "jetson-0"},
            nvidia_gpu_advertise_timeout=6,
        )
        assert run.rc != 0, run.output[-4000:]
        assert "these GPU nodes advertise no nvidia.com/gpu: jetson-0 (plugin Pod: nvidia-device-plugin-daemonset-" in (
            run.output
        ), run.output[-4000:]
        assert "Running" in run.output and "nvidia-smi" in run.output, run.output[-4000:]
        assert "jetson-1" not in run.output.split("advertise no nvidia.com/gpu:")[1].split(".")[0]
        assert jetsons


def test_bad_cluster_input_is_refused_before_anything_is_applied(api, removed, run_role):
    before = _daemonset(api)
    generation = before.metadata.generation if before else None

    nobody = run_role(nvidia_gpu_node_selector={"edgeai.io/accelerator": "none-such"})
    assert nobody.rc != 0 and nobody.changed == 0, nobody.output[-4000:]
    assert "no node of the cluster has the labels" in nobody.output, nobody.output[-4000:]
    assert "rke2_node_labels" in nobody.output

    no_class = run_role(nvidia_gpu_runtime_class_name="nvidia")
    assert no_class.rc != 0 and no_class.changed == 0, no_class.output[-4000:]
    assert "RuntimeClass nvidia (nvidia_gpu_runtime_class_name) does not exist" in no_class.output
    assert "NVIDIA Container Toolkit" in no_class.output

    after = _daemonset(api)
    assert (after.metadata.generation if after else None) == generation, "a refused run changed the DaemonSet"
