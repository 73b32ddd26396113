"""The triton_kubernetes role against the lab's cluster: objects, rollout, idempotence, check mode.

The role runs through ``ansible-playbook`` from the controller (localhost,
connection local) with the lab's kubeconfig, in a namespace unique to this run
(removed at the end, with the one cluster-scoped object the test makes: the
PersistentVolume behind the models claim).

What the lab cannot show: a Triton process in a Pod. kwok runs no container, so
the Pods become Running and Ready without pulling the image, and neither the S3
store nor the NFS export below is ever contacted (both are only written into
specs; 192.0.2.10 is TEST-NET-1). The test asserts what the control plane does:
the objects and fields the role applies, the scheduler placing the x86 replicas
on the amd64 GPU nodes and one Jetson Pod on each Jetson node, and rollouts.
"""

from __future__ import annotations

import base64
import random
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.integration.kube import (
    FIXTURE_JETSONS,
    Run,
    absent,
    api_client,
    delete,
    role_runner,
    simulated_jetson_nodes,
    wait_for,
)

pytestmark = pytest.mark.lab

S3_REPOSITORY = "s3://https://minio.example:9443/models"
NFS_SERVER = "192.0.2.10"
DEPLOYMENT = "triton"
DAEMONSET = "triton-jetson"
SERVICE = "triton"
SECRET = "aws-credentials"
CA_CONFIGMAP = "triton-ca-bundle"
PVC = "models-pvc"
CHECKSUM = "edgeai.io/config-checksum"
AMD64_NODES = {"gpu-0", "gpu-1"}
# The test's own simulated Jetson nodes (tests/integration/kube.py): the lab makes none.
JETSON_NODES = set(FIXTURE_JETSONS)
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


@dataclass
class Names:
    namespace: str
    volume: str
    node_ports: tuple[int, int, int]
    secret_key: str
    runtime_class: str


@pytest.fixture(scope="module")
def api(lab) -> client.ApiClient:
    return api_client(lab)


def _free_node_ports(core: client.CoreV1Api) -> tuple[int, int, int]:
    """Three node ports no Service holds now, away from the defaults (30800-30802) others use."""
    used = {
        port.node_port
        for svc in core.list_service_for_all_namespaces().items
        for port in svc.spec.ports or []
        if port.node_port
    }
    free = [p for p in range(31000, 32700) if p not in used]
    return tuple(sorted(random.sample(free, 3)))  # type: ignore[return-value]


@pytest.fixture(scope="module")
def jetsons(api) -> Iterator[set[str]]:
    with simulated_jetson_nodes(api) as nodes:
        yield nodes


@pytest.fixture(scope="module")
def names(api, jetsons) -> Iterator[Names]:
    suffix = uuid.uuid4().hex[:8]
    core = client.CoreV1Api(api)
    made = Names(
        namespace=f"triton-role-{suffix}",
        volume=f"triton-role-{suffix}-models",
        node_ports=_free_node_ports(core),
        secret_key=f"s3cret-{uuid.uuid4().hex}",
        runtime_class=f"edgeai-test-nvidia-{suffix}",
    )
    # what the NVIDIA toolkit's setup makes on a real RKE2/K3s GPU node (handler nvidia)
    node = client.NodeV1Api(api)
    runtime_class = client.V1RuntimeClass(metadata=client.V1ObjectMeta(name=made.runtime_class), handler="nvidia")
    node.create_runtime_class(runtime_class)
    yield made
    delete(node.delete_runtime_class, made.runtime_class)
    delete(core.delete_namespace, made.namespace)
    delete(core.delete_persistent_volume, made.volume)
    # the Pods hold every GPU of the lab nodes: the next test must find them free
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not absent(core.read_namespace, made.namespace):
        time.sleep(1)


def _role_vars(lab: dict[str, str], names: Names, **overrides: Any) -> dict[str, Any]:
    http, grpc, metrics = names.node_ports
    return {
        "triton_kubernetes_kubeconfig": lab["KUBECONFIG"],
        "triton_kubernetes_namespace": names.namespace,
        "triton_model_repository": S3_REPOSITORY,
        "triton_s3_access_key": "triton",
        "triton_s3_secret_key": names.secret_key,
        "triton_ca_cert_src": lab["LAB_CA"],
        "triton_load_models": ["linear", "labels"],
        "triton_kubernetes_deployment_replicas": 2,
        "triton_kubernetes_daemonset_enabled": True,
        "triton_kubernetes_http_node_port": http,
        "triton_kubernetes_grpc_node_port": grpc,
        "triton_kubernetes_metrics_node_port": metrics,
        "triton_wait_timeout": 120,
        # the GPU servers' usual taint, tolerated; the RuntimeClass the names fixture makes
        "triton_kubernetes_deployment_tolerations": [GPU_TOLERATION],
        "triton_kubernetes_deployment_runtime_class_name": names.runtime_class,
        **overrides,
    }


@pytest.fixture(scope="module")
def run_role(lab, names, tmp_path_factory) -> Callable[..., Run]:
    # the secret travels in a 0600 vars file, never on the command line
    return role_runner(
        tmp_path_factory.mktemp("triton-role"),
        "triton_kubernetes",
        partial(_role_vars, lab, names),
        lambda o: _tail(o, names),
    )


def _tail(output: str, names: Names, size: int = 6000) -> str:
    """The end of a play's output, for an assertion message, with the secret masked should it be there."""
    return output.replace(names.secret_key, "<SECRET>")[-size:]


def _no_secret(run: Run, secret: str) -> None:
    encoded = base64.b64encode(secret.encode()).decode()
    assert secret not in run.output, "the S3 secret key is in the play output"
    assert encoded not in run.output, "the S3 secret key (base64) is in the play output"


def _gpu_holders(core: client.CoreV1Api, namespace: str) -> list[str]:
    """Pods outside this test's namespace that hold the last free GPU of a lab node: they would
    leave ours Pending. (The x86 nodes have four GPUs each, so the site's own Triton leaves room.)"""
    allocatable = {
        n.metadata.name: int(n.status.allocatable.get("nvidia.com/gpu", "0"))
        for n in core.list_node().items
        if n.metadata.name in AMD64_NODES | JETSON_NODES
    }
    holders: dict[str, list[str]] = {node: [] for node in allocatable}
    for pod in core.list_pod_for_all_namespaces().items:
        if pod.metadata.namespace == namespace or pod.status.phase in ("Succeeded", "Failed"):
            continue
        if pod.spec.node_name not in holders:
            continue
        for container in pod.spec.containers:
            limits = (container.resources and container.resources.limits) or {}
            if "nvidia.com/gpu" in limits:
                holders[pod.spec.node_name].append(f"{pod.metadata.namespace}/{pod.metadata.name}")
    return [f"{node}: {pods}" for node, pods in holders.items() if pods and len(pods) >= allocatable[node]]


@pytest.fixture(scope="module")
def fresh_check(api, names, run_role) -> Run:
    """Check mode before anything exists: the namespace is absent."""
    return run_role("--check", "--diff")


@pytest.fixture(scope="module")
def models_claim(api, names, fresh_check, lab_gpus) -> None:
    """The claim the DaemonSet mounts, bound to a static volume (nfs_provisioner's job on a real site)."""
    core = client.CoreV1Api(api)
    holders = _gpu_holders(core, names.namespace)
    if holders:
        pytest.fail(f"lab GPUs are taken, the Triton Pods could not be scheduled: {holders}")
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=names.namespace)))
    core.create_persistent_volume(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": names.volume},
            "spec": {
                "capacity": {"storage": "1Gi"},
                "accessModes": ["ReadWriteMany"],
                "persistentVolumeReclaimPolicy": "Retain",
                "storageClassName": "",
                "claimRef": {"namespace": names.namespace, "name": PVC},
                "nfs": {"server": NFS_SERVER, "path": "/srv/nfs/models"},
            },
        }
    )
    core.create_namespaced_persistent_volume_claim(
        names.namespace,
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": PVC},
            "spec": {
                "accessModes": ["ReadWriteMany"],
                "storageClassName": "",
                "volumeName": names.volume,
                "resources": {"requests": {"storage": "1Gi"}},
            },
        },
    )
    wait_for(
        f"claim {names.namespace}/{PVC} bound",
        lambda: core.read_namespaced_persistent_volume_claim(PVC, names.namespace).status.phase == "Bound",
    )


@pytest.fixture(scope="module")
def converged(names, models_claim, run_role) -> Run:
    result = run_role("-v")
    assert result.rc == 0 and result.failed == 0, _tail(result.output, names)
    return result


def test_check_mode_on_a_fresh_cluster_passes_and_creates_nothing(api, names, fresh_check):
    assert fresh_check.rc == 0 and fresh_check.failed == 0, _tail(fresh_check.output, names)
    assert fresh_check.changed > 0, _tail(fresh_check.output, names)  # at least the namespace
    with pytest.raises(ApiException) as absent:
        client.CoreV1Api(api).read_namespace(names.namespace)
    assert absent.value.status == 404
    _no_secret(fresh_check, names.secret_key)


def test_converge_prints_no_secret(names, converged):
    assert converged.changed > 0
    _no_secret(converged, names.secret_key)


def test_secret_and_ca_bundle(api, lab, names, converged):
    core = client.CoreV1Api(api)
    secret = core.read_namespaced_secret(SECRET, names.namespace)
    data = {k: base64.b64decode(v).decode() for k, v in secret.data.items()}
    assert data == {
        "AWS_ACCESS_KEY_ID": "triton",
        "AWS_SECRET_ACCESS_KEY": names.secret_key,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    # plain create/patch: no copy of the credentials in a last-applied annotation
    assert not (secret.metadata.annotations or {}), secret.metadata.annotations
    bundle = core.read_namespaced_config_map(CA_CONFIGMAP, names.namespace).data["ca-certificates.crt"]
    lab_ca = Path(lab["LAB_CA"]).read_text().strip()
    assert lab_ca in bundle
    system = Path("/etc/ssl/certs/ca-certificates.crt").read_text().strip()
    assert bundle.startswith(system.splitlines()[0]) and bundle.count("BEGIN CERTIFICATE") > 100


def _container(workload) -> Any:
    (container,) = workload.spec.template.spec.containers
    return container


def _assert_probes(container) -> None:
    assert (container.startup_probe.http_get.path, container.startup_probe.http_get.port) == ("/v2/health/live", "http")
    assert container.startup_probe.failure_threshold == 60
    assert (container.liveness_probe.http_get.path, container.liveness_probe.http_get.port) == (
        "/v2/health/live",
        "http",
    )
    assert (container.readiness_probe.http_get.path, container.readiness_probe.http_get.port) == (
        "/v2/health/ready",
        "http",
    )
    assert {(p.name, p.container_port) for p in container.ports} == {("http", 8000), ("grpc", 8001), ("metrics", 8002)}


def test_deployment_fields(api, names, converged):
    dep = client.AppsV1Api(api).read_namespaced_deployment(DEPLOYMENT, names.namespace)
    assert dep.spec.replicas == 2
    assert (dep.spec.strategy.rolling_update.max_surge, dep.spec.strategy.rolling_update.max_unavailable) == (0, 1)
    pod = dep.spec.template.spec
    assert pod.node_selector == {"kubernetes.io/arch": "amd64"}
    container = _container(dep)
    assert container.image == "nvcr.io/nvidia/tritonserver:24.04-py3"
    assert container.command == ["tritonserver"]
    assert container.args == [
        f"--model-repository={S3_REPOSITORY}",
        "--model-control-mode=explicit",
        "--load-model=linear",
        "--load-model=labels",
        "--http-port=8000",
        "--grpc-port=8001",
        "--metrics-port=8002",
    ]
    assert not any(names.secret_key in arg for arg in container.args)
    env = {e.name: (e.value_from.secret_key_ref.name, e.value_from.secret_key_ref.key) for e in container.env}
    assert env == {key: (SECRET, key) for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    assert container.resources.limits["nvidia.com/gpu"] == "1"
    assert dep.spec.template.spec.runtime_class_name == names.runtime_class
    assert [t.to_dict() for t in dep.spec.template.spec.tolerations] == [
        {**GPU_TOLERATION, "toleration_seconds": None, "value": None}
    ]
    _assert_probes(container)
    mounts = {m.name: m for m in container.volume_mounts}
    ca = mounts["ca-bundle"]
    assert (ca.mount_path, ca.sub_path, ca.read_only) == (
        "/etc/ssl/certs/ca-certificates.crt",
        "ca-certificates.crt",
        True,
    )
    assert mounts["dshm"].mount_path == "/dev/shm"
    volumes = {v.name: v for v in pod.volumes}
    assert volumes["ca-bundle"].config_map.name == CA_CONFIGMAP
    assert volumes["dshm"].empty_dir.medium == "Memory"
    assert "models" not in volumes  # S3 repository: no claim
    assert re.fullmatch(r"[0-9a-f]{64}", dep.spec.template.metadata.annotations[CHECKSUM])


def test_deployment_available_on_the_amd64_gpu_nodes(api, names, converged):
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    dep = apps.read_namespaced_deployment(DEPLOYMENT, names.namespace)
    conditions = {c.type: c.status for c in dep.status.conditions or []}
    assert conditions.get("Available") == "True", dep.status
    assert dep.status.available_replicas == 2 and dep.status.updated_replicas == 2, dep.status
    pods = core.list_namespaced_pod(names.namespace, label_selector="app.kubernetes.io/component=deployment").items
    running = [p for p in pods if p.status.phase == "Running" and not p.metadata.deletion_timestamp]
    assert {p.spec.node_name for p in running} == AMD64_NODES, [(p.metadata.name, p.spec.node_name) for p in pods]


def test_daemonset_fields_and_one_ready_pod_per_jetson(api, names, converged):
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    ds = apps.read_namespaced_daemon_set(DAEMONSET, names.namespace)
    pod = ds.spec.template.spec
    assert pod.node_selector == {"edgeai.io/accelerator": "jetson"}
    container = _container(ds)
    assert container.image == "nvcr.io/nvidia/tritonserver:24.04-py3-igpu"
    assert container.args[:2] == ["--model-repository=/models", "--min-supported-compute-capability=5.3"]
    assert "--load-model=linear" in container.args
    assert not container.env  # the claim needs no credentials
    # nothing advertises nvidia.com/gpu on a Jetson: the default runtime nvidia gives the iGPU
    assert "nvidia.com/gpu" not in (container.resources.limits or {}), container.resources
    assert pod.runtime_class_name is None and pod.tolerations is None
    _assert_probes(container)
    mounts = {m.name: m for m in container.volume_mounts}
    assert (mounts["models"].mount_path, mounts["models"].read_only) == ("/models", True)
    volumes = {v.name: v for v in pod.volumes}
    assert volumes["models"].persistent_volume_claim.claim_name == PVC
    assert ds.status.desired_number_scheduled == 2 and ds.status.number_ready == 2, ds.status
    pods = core.list_namespaced_pod(names.namespace, label_selector="app.kubernetes.io/component=daemonset").items
    ready = [
        p.spec.node_name
        for p in pods
        if p.status.phase == "Running" and any(c.type == "Ready" and c.status == "True" for c in p.status.conditions)
    ]
    assert sorted(ready) == sorted(JETSON_NODES), [(p.metadata.name, p.spec.node_name, p.status.phase) for p in pods]


def test_node_port_service(api, names, converged):
    svc = client.CoreV1Api(api).read_namespaced_service(SERVICE, names.namespace)
    assert svc.spec.type == "NodePort"
    assert svc.spec.selector == {"app.kubernetes.io/name": "triton", "app.kubernetes.io/instance": "triton"}
    ports = {p.name: (p.port, p.target_port, p.node_port) for p in svc.spec.ports}
    http, grpc, metrics = names.node_ports
    assert ports == {"http": (8000, "http", http), "grpc": (8001, "grpc", grpc), "metrics": (8002, "metrics", metrics)}


def test_rerun_changes_nothing(names, run_role, converged):
    again = run_role()
    assert again.rc == 0 and again.failed == 0, _tail(again.output, names)
    assert again.changed == 0, _tail(again.output, names)


def test_check_mode_on_the_converged_cluster_predicts_no_change(names, run_role, converged):
    check = run_role("--check", "--diff")
    assert check.rc == 0 and check.failed == 0, _tail(check.output, names)
    assert check.changed == 0, _tail(check.output, names)


def test_a_changed_credential_is_predicted_then_rolls_the_deployment(api, names, run_role, converged):
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    before = apps.read_namespaced_deployment(DEPLOYMENT, names.namespace)
    jetson_before = apps.read_namespaced_daemon_set(DAEMONSET, names.namespace).metadata.generation
    rotated = f"rotated-{uuid.uuid4().hex}"

    check = run_role("--check", "--diff", "-v", triton_s3_secret_key=rotated)
    assert check.rc == 0 and check.failed == 0, _tail(check.output, names)
    assert check.changed == 2, _tail(check.output, names)  # the Secret and the Deployment's pod template
    _no_secret(check, rotated)
    _no_secret(check, names.secret_key)
    unchanged = apps.read_namespaced_deployment(DEPLOYMENT, names.namespace)
    assert unchanged.metadata.generation == before.metadata.generation
    stored = core.read_namespaced_secret(SECRET, names.namespace).data["AWS_SECRET_ACCESS_KEY"]
    assert base64.b64decode(stored).decode() == names.secret_key

    real = run_role("-v", triton_s3_secret_key=rotated)
    assert real.rc == 0 and real.failed == 0, _tail(real.output, names)
    assert real.changed == 2, _tail(real.output, names)
    _no_secret(real, rotated)
    after = apps.read_namespaced_deployment(DEPLOYMENT, names.namespace)
    assert after.metadata.generation == before.metadata.generation + 1
    assert after.spec.template.metadata.annotations[CHECKSUM] != before.spec.template.metadata.annotations[CHECKSUM]
    # the role waited for the rollout: every replica runs the new template and is available
    assert (after.status.updated_replicas, after.status.available_replicas, after.status.replicas) == (2, 2, 2)
    stored = core.read_namespaced_secret(SECRET, names.namespace).data["AWS_SECRET_ACCESS_KEY"]
    assert base64.b64decode(stored).decode() == rotated
    # the Jetson Pods read no credential: not rolled
    assert apps.read_namespaced_daemon_set(DAEMONSET, names.namespace).metadata.generation == jetson_before

    names.secret_key = rotated  # what the cluster holds now, for the tests after this one
    again = run_role()
    assert again.rc == 0 and again.changed == 0, _tail(again.output, names)


def test_a_changed_variable_rolls_the_daemonset(api, names, run_role, converged):
    apps = client.AppsV1Api(api)
    before = apps.read_namespaced_daemon_set(DAEMONSET, names.namespace)
    changed = run_role(triton_kubernetes_daemonset_min_compute_capability="7.2")
    assert changed.rc == 0 and changed.changed == 1, _tail(changed.output, names)
    after = apps.read_namespaced_daemon_set(DAEMONSET, names.namespace)
    assert after.metadata.generation == before.metadata.generation + 1
    assert "--min-supported-compute-capability=7.2" in _container(after).args
    assert after.status.updated_number_scheduled == 2 and after.status.number_ready == 2, after.status


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        (
            {"triton_kubernetes_deployment_enabled": False, "triton_kubernetes_daemonset_enabled": False},
            "neither workload is enabled",
        ),
        ({"triton_s3_secret_key": ""}, "triton_s3_secret_key"),
        ({"triton_model_repository": ""}, "triton_model_repository"),
        ({"triton_model_control_mode": "poll"}, "triton_load_models"),
        ({"triton_model_control_mode": "sometimes", "triton_load_models": []}, "triton_model_control_mode"),
        ({"triton_http_port": 70000}, "triton_http_port"),
        ({"triton_kubernetes_http_node_port": 8000}, "triton_kubernetes_http_node_port"),
        # one rule, one message: the variable, its value, the fix
        ({"triton_kubernetes_namespace": "Edge_AI"}, "triton_kubernetes_namespace is 'Edge_AI': give a DNS label"),
        (
            {"triton_kubernetes_deployment_replicas": -1},
            "triton_kubernetes_deployment_replicas is '-1': give a number of replicas",
        ),
    ],
)
def test_preflight_refuses_bad_settings_naming_the_variable(names, run_role, overrides, named):
    refused = run_role(**overrides)
    assert refused.rc != 0 and refused.failed == 1, _tail(refused.output, names)
    assert refused.changed == 0
    assert named in refused.output, _tail(refused.output, names)
    _no_secret(refused, names.secret_key)


def test_a_rollout_that_cannot_finish_names_what_the_pods_say(names, run_role, converged):
    """Last in this file (it leaves the Deployment mid-roll for the teardown): a GPU request no lab node
    can meet leaves the new replica Pending, and the role fails within triton_wait_timeout naming the
    Pod and the scheduler's reason, not only the timeout."""
    greedy = {"requests": {"cpu": "100m", "memory": "1Gi"}, "limits": {"memory": "2Gi", "nvidia.com/gpu": 64}}
    failed = run_role(triton_kubernetes_deployment_resources=greedy, triton_wait_timeout=20)
    assert failed.rc != 0 and failed.failed == 1, _tail(failed.output, names)
    said = " ".join(failed.output.split())  # the YAML callback folds long messages
    assert f"The Deployment {names.namespace}/{DEPLOYMENT} did not roll out within 20 s" in said, _tail(said, names)
    assert "Pending (Unschedulable:" in said, _tail(said, names)
    assert "Insufficient nvidia.com/gpu" in said, _tail(said, names)
