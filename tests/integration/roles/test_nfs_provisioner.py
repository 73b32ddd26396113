"""nfs_provisioner against the lab's Kubernetes: the objects, idempotence, check mode.

The role runs through ``ansible-playbook`` from the controller (localhost,
connection local) with the lab's kubeconfig, in namespaces and under
cluster-scoped names unique to this run, all removed at the end.

What the lab cannot show: a bound claim. kwok runs no container, so the
provisioner never mounts the export nor creates a PersistentVolume, and
models-pvc stays Pending. The test asserts the part the control plane does:
the PV controller hands the claim to the provisioner the StorageClass names.
The NFS server address below is TEST-NET-1 and is only written into specs;
nothing here connects to it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest
from kubernetes import client

from tests.integration.kube import Run, absent, api_client, delete, role_runner, simulated_jetson_nodes, wait_for

pytestmark = pytest.mark.lab

NFS_SERVER = "192.0.2.10"
NFS_PATH = "/srv/nfs/models"
IMAGE = "registry.k8s.io/sig-storage/nfs-subdir-external-provisioner:v4.0.2"
DEPLOYMENT = "nfs-client-provisioner"
SERVICE_ACCOUNT = "nfs-client-provisioner"
LEADER_ROLE = "leader-locking-nfs-client-provisioner"
PVC = "models-pvc"


@dataclass
class Names:
    suffix: str
    namespace: str
    pvc_namespace: str
    storage_class: str
    provisioner: str
    cluster_role: str


@pytest.fixture(scope="module")
def api(lab) -> client.ApiClient:
    return api_client(lab)


@pytest.fixture(scope="module")
def names(api) -> Iterator[Names]:
    suffix = uuid.uuid4().hex[:8]
    namespace = f"nfs-prov-{suffix}"
    made = Names(
        suffix=suffix,
        namespace=namespace,
        pvc_namespace=f"nfs-models-{suffix}",
        storage_class=f"nfs-client-{suffix}",
        provisioner=f"edgeai.io/nfs-{suffix}",
        cluster_role=f"edgeai:nfs-client-provisioner:{namespace}",
    )
    yield made
    core, rbac, storage = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api), client.StorageV1Api(api)
    for ns in (made.namespace, made.pvc_namespace):
        delete(core.delete_namespace, ns)
    delete(storage.delete_storage_class, made.storage_class)
    delete(rbac.delete_cluster_role_binding, made.cluster_role)
    delete(rbac.delete_cluster_role, made.cluster_role)


def _role_vars(lab: dict[str, str], names: Names, **overrides: Any) -> dict[str, Any]:
    return {
        "nfs_provisioner_kubeconfig": lab["KUBECONFIG"],
        "nfs_provisioner_namespace": names.namespace,
        "nfs_provisioner_pvc_namespace": names.pvc_namespace,
        "nfs_provisioner_nfs_server": NFS_SERVER,
        "nfs_provisioner_nfs_path": NFS_PATH,
        "nfs_provisioner_provisioner_name": names.provisioner,
        "nfs_provisioner_storage_class_name": names.storage_class,
        "nfs_provisioner_pvc_size": "1Gi",
        "nfs_provisioner_wait_timeout": 120,
        **overrides,
    }


@pytest.fixture(scope="module")
def run_role(lab, names, tmp_path_factory) -> Callable[..., Run]:
    return role_runner(tmp_path_factory.mktemp("nfs-provisioner"), "nfs_provisioner", partial(_role_vars, lab, names))


@pytest.fixture(scope="module")
def fresh_check(run_role, names) -> Run:
    """Check mode before anything exists: run first, on names no object has."""
    return run_role("--check", "--diff")


@pytest.fixture(scope="module")
def converged(fresh_check, run_role) -> Run:
    result = run_role()
    assert result.rc == 0 and result.failed == 0, result.output[-6000:]
    return result


def test_check_mode_on_a_fresh_cluster_predicts_changes_and_creates_nothing(api, names, fresh_check):
    assert fresh_check.rc == 0 and fresh_check.failed == 0, fresh_check.output[-6000:]
    assert fresh_check.changed > 0, fresh_check.output[-4000:]
    core, rbac, storage = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api), client.StorageV1Api(api)
    assert absent(core.read_namespace, names.namespace)
    assert absent(core.read_namespace, names.pvc_namespace)
    assert absent(storage.read_storage_class, names.storage_class)
    assert absent(rbac.read_cluster_role, names.cluster_role)
    assert absent(rbac.read_cluster_role_binding, names.cluster_role)


def test_first_run_changes_what_check_mode_predicted(fresh_check, converged):
    assert converged.changed == fresh_check.changed, (fresh_check.output[-3000:], converged.output[-3000:])


def test_storage_class(api, names, converged):
    sc = client.StorageV1Api(api).read_storage_class(names.storage_class)
    assert sc.provisioner == names.provisioner
    assert sc.reclaim_policy == "Delete"
    assert sc.parameters == {"archiveOnDelete": "true", "pathPattern": "${.PVC.namespace}-${.PVC.name}"}
    assert sc.volume_binding_mode == "Immediate"
    assert sc.metadata.annotations["storageclass.kubernetes.io/is-default-class"] == "false"


def test_models_claim(api, names, converged):
    pvc = client.CoreV1Api(api).read_namespaced_persistent_volume_claim(PVC, names.pvc_namespace)
    assert pvc.spec.access_modes == ["ReadWriteMany"]
    assert pvc.spec.storage_class_name == names.storage_class
    assert pvc.spec.resources.requests == {"storage": "1Gi"}


def test_deployment_available_with_the_export(api, names, converged):
    dep = client.AppsV1Api(api).read_namespaced_deployment(DEPLOYMENT, names.namespace)
    conditions = {c.type: c.status for c in dep.status.conditions or []}
    assert conditions.get("Available") == "True", dep.status
    assert dep.status.available_replicas == 1
    assert dep.spec.strategy.type == "Recreate"
    pod = dep.spec.template.spec
    assert pod.service_account_name == SERVICE_ACCOUNT
    (container,) = pod.containers
    assert container.image == IMAGE
    env = {e.name: e.value for e in container.env}
    assert env == {"PROVISIONER_NAME": names.provisioner, "NFS_SERVER": NFS_SERVER, "NFS_PATH": NFS_PATH}
    assert [(m.name, m.mount_path) for m in container.volume_mounts] == [("nfs-client-root", "/persistentvolumes")]
    (volume,) = pod.volumes
    assert (volume.name, volume.nfs.server, volume.nfs.path) == ("nfs-client-root", NFS_SERVER, NFS_PATH)


def test_rbac(api, names, converged):
    core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
    core.read_namespaced_service_account(SERVICE_ACCOUNT, names.namespace)
    subject = (SERVICE_ACCOUNT, names.namespace)

    cluster_role = rbac.read_cluster_role(names.cluster_role)
    verbs = {(rule.api_groups[0], res): set(rule.verbs) for rule in cluster_role.rules for res in rule.resources}
    assert {"create", "delete"} <= verbs[("", "persistentvolumes")]
    assert "update" in verbs[("", "persistentvolumeclaims")]
    assert "watch" in verbs[("storage.k8s.io", "storageclasses")]
    assert "create" in verbs[("", "events")]
    binding = rbac.read_cluster_role_binding(names.cluster_role)
    assert (binding.role_ref.kind, binding.role_ref.name) == ("ClusterRole", names.cluster_role)
    assert [(s.name, s.namespace) for s in binding.subjects] == [subject]

    role = rbac.read_namespaced_role(LEADER_ROLE, names.namespace)
    leader = {(rule.api_groups[0], res): set(rule.verbs) for rule in role.rules for res in rule.resources}
    assert {"get", "create", "update"} <= leader[("", "endpoints")]
    assert {"get", "create", "update"} <= leader[("coordination.k8s.io", "leases")]
    role_binding = rbac.read_namespaced_role_binding(LEADER_ROLE, names.namespace)
    assert (role_binding.role_ref.kind, role_binding.role_ref.name) == ("Role", LEADER_ROLE)
    assert [(s.name, s.namespace) for s in role_binding.subjects] == [subject]


def test_claim_goes_to_the_provisioner_but_cannot_bind_here(api, names, converged):
    """The PV controller hands the claim to the StorageClass's provisioner; binding needs a real one."""
    core = client.CoreV1Api(api)

    def handed_over():
        pvc = core.read_namespaced_persistent_volume_claim(PVC, names.pvc_namespace)
        annotations = pvc.metadata.annotations or {}
        return pvc if annotations.get("volume.kubernetes.io/storage-provisioner") == names.provisioner else None

    pvc = wait_for(f"claim {names.pvc_namespace}/{PVC} handed to {names.provisioner}", handed_over)
    # What the lab cannot show: kwok runs no provisioner process, so no volume is made.
    assert pvc.status.phase == "Pending", pvc.status


def test_rerun_changes_nothing(run_role, converged):
    again = run_role()
    assert again.rc == 0 and again.failed == 0, again.output[-6000:]
    assert again.changed == 0, again.output[-6000:]


def test_check_mode_on_the_converged_cluster_predicts_no_change(run_role, converged):
    check = run_role("--check", "--diff")
    assert check.rc == 0 and check.failed == 0, check.output[-6000:]
    assert check.changed == 0, check.output[-6000:]


def test_check_mode_predicts_a_changed_variable_and_applies_nothing(api, names, run_role, converged):
    newer = IMAGE.replace("v4.0.2", "v4.0.3")
    check = run_role("--check", "--diff", nfs_provisioner_image=newer, nfs_provisioner_storage_class_default=True)
    assert check.rc == 0 and check.failed == 0, check.output[-6000:]
    assert check.changed == 2, check.output[-6000:]  # the Deployment task and the StorageClass task
    assert newer in check.output, check.output[-6000:]
    dep = client.AppsV1Api(api).read_namespaced_deployment(DEPLOYMENT, names.namespace)
    assert dep.spec.template.spec.containers[0].image == IMAGE
    sc = client.StorageV1Api(api).read_storage_class(names.storage_class)
    assert sc.metadata.annotations["storageclass.kubernetes.io/is-default-class"] == "false"


def test_preflight_refuses_a_claim_size_the_api_would_reject(api, names, run_role, converged):
    refused = run_role(nfs_provisioner_pvc_size="2Gi")
    assert refused.rc != 0 and refused.failed == 1, refused.output[-6000:]
    assert "nfs_provisioner_pvc_name" in refused.output and "2Gi" in refused.output, refused.output[-6000:]
    assert refused.changed == 0, refused.output[-6000:]
    pvc = client.CoreV1Api(api).read_namespaced_persistent_volume_claim(PVC, names.pvc_namespace)
    assert pvc.spec.resources.requests == {"storage": "1Gi"}


def test_a_dropped_node_selector_is_removed_from_the_cluster(api, names, run_role, converged):
    """Client-side apply merges three ways: emptying a variable removes the field, not just stops setting it."""
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    arm64 = {"kubernetes.io/arch": "arm64"}
    # the lab makes no Jetson node: the test registers its own arm64 fixture nodes (kwok) for the pin
    with simulated_jetson_nodes(api) as jetsons:
        pinned = run_role(nfs_provisioner_node_selector=arm64)
        assert pinned.rc == 0 and pinned.changed == 1, pinned.output[-6000:]
        assert apps.read_namespaced_deployment(DEPLOYMENT, names.namespace).spec.template.spec.node_selector == arm64

        def placed() -> list[str]:
            pods = core.list_namespaced_pod(names.namespace, label_selector="app.kubernetes.io/name").items
            return [
                p.spec.node_name
                for p in pods
                if p.status.phase == "Running" and not p.metadata.deletion_timestamp and p.spec.node_selector == arm64
            ]

        # the replica of the new template runs on an arm64 (Jetson) kwok node
        nodes = wait_for("the provisioner Pod on an arm64 node", placed)
        assert len(nodes) == 1 and nodes[0] in jetsons, nodes

        unpinned = run_role()
        assert unpinned.rc == 0 and unpinned.changed == 1, unpinned.output[-6000:]
        assert apps.read_namespaced_deployment(DEPLOYMENT, names.namespace).spec.template.spec.node_selector is None


def test_state_absent_predicts_removes_everything_and_a_rerun_changes_nothing(api, names, run_role, converged):
    """Last in this file: it removes what the tests above converged (playbooks/reset.yml runs it so)."""
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    rbac, storage = client.RbacAuthorizationV1Api(api), client.StorageV1Api(api)
    check = run_role("--check", "--diff", nfs_provisioner_state="absent")
    assert check.rc == 0 and check.changed == 2, check.output[-6000:]
    assert not absent(apps.read_namespaced_deployment, DEPLOYMENT, names.namespace), "check mode deleted it"

    gone = run_role(nfs_provisioner_state="absent")
    assert gone.rc == 0 and gone.changed == check.changed, gone.output[-6000:]
    assert absent(core.read_namespaced_persistent_volume_claim, PVC, names.pvc_namespace)
    assert absent(core.read_namespace, names.namespace)
    assert absent(storage.read_storage_class, names.storage_class)
    assert absent(rbac.read_cluster_role, names.cluster_role)
    assert absent(rbac.read_cluster_role_binding, names.cluster_role)
    # the claim's own namespace is not the provisioner's to delete
    assert not absent(core.read_namespace, names.pvc_namespace)

    again = run_role(nfs_provisioner_state="absent")
    assert again.rc == 0 and again.changed == 0, again.output[-6000:]
