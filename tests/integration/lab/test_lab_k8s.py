"""Smoke test of the lab's Kubernetes: upstream control plane plus kwok nodes.

Needs ``bash lab/lab.sh up k8s kwok`` (``make lab-up``); fails loudly otherwise.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from kubernetes import client, config

from tests.integration.kube import absent, simulated_jetson_nodes, wait_for
from tests.labenv import LAB_DIR, LabNotUp, lab_env

pytestmark = pytest.mark.lab

GPU_SERVERS = {"gpu-0", "gpu-1"}
# The lab's own nodes: x86 GPU servers only, with four simulated GPUs in each machine. Jetsons come
# from the k3s role; the Jetson tests here register the shared fixture nodes (tests/integration/kube.py).
SIMULATED_GPUS = "lab.edgeai.io/simulated-nvidia-gpus"
JETSON_SELECTOR = {"edgeai.io/accelerator": "jetson"}
# kwok never pulls images: any reference will do, none is fetched.
IMAGE = "registry.invalid/edgeai/pause:3.10"
LOGS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")


def _log_tails(lines: int = 15) -> str:
    out = []
    for name in LOGS:
        path = Path(LAB_DIR) / "logs" / f"{name}.log"
        if path.is_file():
            tail = path.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {path} (last {len(tail)} lines)\n" + "\n".join(tail))
    return "\n".join(out)


# The lab's smoke test waits longer than the role tests and shows the servers' logs when it gives up.
_wait = partial(wait_for, timeout=90.0, detail=_log_tails)


@pytest.fixture(scope="module")
def api() -> client.ApiClient:
    try:
        env = lab_env()
    except LabNotUp as exc:
        pytest.fail(str(exc))
    kubeconfig = env.get("KUBECONFIG")
    if not kubeconfig or not Path(kubeconfig).is_file():
        pytest.fail(f"lab k8s part is not up (KUBECONFIG={kubeconfig!r}): run make lab-up")
    api_client = config.new_client_from_config(config_file=kubeconfig)
    try:
        client.VersionApi(api_client).get_code(_request_timeout=5)
    except Exception as exc:
        pytest.fail(f"Kubernetes API at {env.get('K8S_API')} does not answer ({exc}): run make lab-up\n{_log_tails()}")
    return api_client


@pytest.fixture(scope="module")
def jetsons(api: client.ApiClient) -> Iterator[set[str]]:
    """This module's own simulated Jetson nodes (a test fixture, not the lab's)."""
    with simulated_jetson_nodes(api) as names:
        yield names


@pytest.fixture(scope="module")
def namespace(api: client.ApiClient) -> Iterator[str]:
    core = client.CoreV1Api(api)
    name = f"lab-k8s-{uuid.uuid4().hex[:8]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    # Pods need the namespace's "default" ServiceAccount (made by the controllers).
    _wait(
        f"ServiceAccount default in {name}", lambda: not absent(core.read_namespaced_service_account, "default", name)
    )
    yield name
    core.delete_namespace(name, propagation_policy="Foreground")


def _pod_spec(gpu: bool) -> client.V1PodSpec:
    resources = client.V1ResourceRequirements(limits={"nvidia.com/gpu": "1"}) if gpu else None
    return client.V1PodSpec(
        node_selector=JETSON_SELECTOR,
        containers=[client.V1Container(name="app", image=IMAGE, resources=resources)],
        termination_grace_period_seconds=0,
    )


def _template(app: str, gpu: bool) -> client.V1PodTemplateSpec:
    return client.V1PodTemplateSpec(metadata=client.V1ObjectMeta(labels={"app": app}), spec=_pod_spec(gpu))


def _ready(node: client.V1Node) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])


def test_the_lab_makes_only_gpu_servers_no_jetson(api: client.ApiClient) -> None:
    """The lab pre-makes no Jetson node and labels none: that is the k3s role's job."""
    core = client.CoreV1Api(api)
    jetsons = core.list_node(label_selector="edgeai.io/accelerator=jetson").items
    fixtures = [n.metadata.name for n in jetsons if n.metadata.labels.get("edgeai.io/test-fixture")]
    assert [n.metadata.name for n in jetsons] == fixtures, "a Jetson node the lab made (not a test fixture)"


def test_ready_gpu_servers_the_lab_neither_labels_nor_gives_gpus(api: client.ApiClient) -> None:
    """The lab makes the machines (Ready, amd64, four simulated GPUs in each); a role labels them,
    and only a device plugin Pod Running on a node makes it advertise nvidia.com/gpu."""
    core = client.CoreV1Api(api)
    nodes = {n.metadata.name: n for n in core.list_node().items}
    assert set(nodes) >= GPU_SERVERS, f"lab nodes missing: {sorted(GPU_SERVERS - set(nodes))}"
    running = core.list_pod_for_all_namespaces(field_selector="status.phase=Running").items
    plugin_nodes = {p.spec.node_name for p in running if any("k8s-device-plugin" in c.image for c in p.spec.containers)}
    for name in sorted(GPU_SERVERS):
        node = nodes[name]
        assert _ready(node), f"node {name} is not Ready: {node.status.conditions}"
        labels = node.metadata.labels
        assert labels.get("kubernetes.io/arch") == "amd64", labels
        assert not [k for k in labels if k.startswith("edgeai.io/")], f"{name}: a label the lab set: {labels}"
        assert node.metadata.annotations.get(SIMULATED_GPUS) == "4", node.metadata.annotations
        gpus = int(node.status.allocatable.get("nvidia.com/gpu", "0"))
        # with the site's plugin there (an earlier test converged the site) four, else none
        assert gpus == (4 if name in plugin_nodes else 0), (name, gpus, sorted(plugin_nodes))


def test_a_gpu_request_on_jetsons_stays_pending(api: client.ApiClient, namespace: str, jetsons: set[str]) -> None:
    """Nothing advertises nvidia.com/gpu on a Jetson: a Pod that requests one is not scheduled there,
    and the scheduler says why (the triton_kubernetes role's Jetson DaemonSet requests none)."""
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    name = "gpu-infer"
    apps.create_namespaced_deployment(
        namespace,
        client.V1Deployment(
            metadata=client.V1ObjectMeta(name=name),
            spec=client.V1DeploymentSpec(
                replicas=1,
                selector=client.V1LabelSelector(match_labels={"app": name}),
                template=_template(name, gpu=True),
            ),
        ),
    )

    def unschedulable() -> list[str]:
        pods = core.list_namespaced_pod(namespace, label_selector=f"app={name}").items
        return [
            c.message
            for p in pods
            for c in p.status.conditions or []
            if c.type == "PodScheduled" and c.status == "False" and c.reason == "Unschedulable"
        ]

    _wait(f"the scheduler's reason for {namespace}/{name}", lambda: bool(unschedulable()))
    (message,) = unschedulable()
    assert "Insufficient nvidia.com/gpu" in message, message
    pods = core.list_namespaced_pod(namespace, label_selector=f"app={name}").items
    assert [p.spec.node_name for p in pods] == [None], [(p.metadata.name, p.spec.node_name) for p in pods]

    apps.delete_namespaced_deployment(name, namespace, propagation_policy="Foreground")
    _wait(
        f"pods of {name} gone",
        lambda: not core.list_namespaced_pod(namespace, label_selector=f"app={name}").items,
    )


def test_daemonset_one_pod_per_jetson(api: client.ApiClient, namespace: str, jetsons: set[str]) -> None:
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    name = "jetson-agent"
    apps.create_namespaced_daemon_set(
        namespace,
        client.V1DaemonSet(
            metadata=client.V1ObjectMeta(name=name),
            spec=client.V1DaemonSetSpec(
                selector=client.V1LabelSelector(match_labels={"app": name}),
                template=_template(name, gpu=False),
            ),
        ),
    )

    def rolled_out() -> bool:
        ds = apps.read_namespaced_daemon_set(name, namespace).status
        return ds.desired_number_scheduled == 2 and ds.number_ready == 2 and ds.number_available == 2

    _wait(f"DaemonSet {namespace}/{name} ready on 2 nodes", rolled_out)
    pods = core.list_namespaced_pod(namespace, label_selector=f"app={name}").items
    assert sorted(p.spec.node_name for p in pods) == sorted(jetsons), [
        (p.metadata.name, p.spec.node_name) for p in pods
    ]
    assert all(p.status.phase == "Running" for p in pods), [(p.metadata.name, p.status.phase) for p in pods]
