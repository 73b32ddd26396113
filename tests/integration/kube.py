"""Shared by the tests that run a cluster-facing role against the lab's Kubernetes API.

The role runs through ``ansible-playbook`` from the controller (localhost,
connection local); its variables go in a 0600 vars file, never on the command
line; the play's recap is parsed into a :class:`Run`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from tests.support import ansible


@dataclass
class Run:
    rc: int
    changed: int
    failed: int
    output: str


def api_client(lab: dict[str, str]) -> client.ApiClient:
    kubeconfig = lab.get("KUBECONFIG")
    if not kubeconfig or not Path(kubeconfig).is_file():
        pytest.fail(f"lab k8s part is not up (KUBECONFIG={kubeconfig!r}): run make lab-up")
    return config.new_client_from_config(config_file=kubeconfig)


def absent(read: Callable[..., Any], *args: str) -> bool:
    """Whether the API answers 404 for the object ``read(*args)`` reads."""
    try:
        read(*args)
    except ApiException as exc:
        if exc.status == 404:
            return True
        raise
    return False


def delete(remove: Callable[..., Any], *args: str) -> None:
    """Delete an object; one that is already gone is fine."""
    try:
        remove(*args)
    except ApiException as exc:
        if exc.status != 404:
            raise


def wait_for(
    what: str, predicate: Callable[[], Any], timeout: float = 60.0, detail: Callable[[], str] | None = None
) -> Any:
    """Poll ``predicate`` each second until it returns something true; fail naming ``what`` (and
    ``detail()``, such as the lab's log tails) when ``timeout`` runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(1)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}" + (f"\n{detail()}" if detail else ""))


def role_runner(
    work: Path, role: str, role_vars: Callable[..., dict[str, Any]], mask: Callable[[str], str] = lambda text: text
) -> Callable[..., Run]:
    """A function running ``role`` on localhost with ``role_vars(**overrides)`` and the given flags."""
    playbook = work / f"{role}.yml"
    playbook.write_text(
        f"- name: {role} on the lab cluster\n  hosts: localhost\n  connection: local\n  gather_facts: false\n"
        f"  roles:\n    - role: edgeai.inference.{role}\n"
    )
    env = ansible.environment()
    env.pop("KUBECONFIG", None)  # the role must use the kubeconfig it is given

    def run(*flags: str, **overrides: Any) -> Run:
        argv = [
            "-i",
            "localhost,",
            str(playbook),
            # interpreter discovery here finds a broken pyenv shim: name the interpreter
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            *flags,
        ]
        proc = ansible.run_playbook(argv, env=env, variables=role_vars(**overrides), timeout=600)
        output = proc.stdout + proc.stderr
        host = ansible.recap(output).get("localhost")
        assert host, f"no PLAY RECAP (rc {proc.returncode}):\n{mask(output)[-6000:]}"
        return Run(rc=proc.returncode, changed=host.changed, failed=host.failed, output=output)

    return run


# Jetson boards as a test's own simulated nodes: the lab makes no Jetson node (the k3s role joins
# real ones, and labels them), so a test of another role that needs Jetson-like nodes registers
# these itself, kwok keeps them Ready, and the test removes them afterwards.
FIXTURE_JETSONS = ("jetson-0", "jetson-1")


def _fixture_jetson(name: str) -> client.V1Node:
    # a real Jetson advertises no nvidia.com/gpu (no device plugin there): the runtime gives the iGPU
    resources = {"cpu": "8", "memory": "32Gi", "pods": "110"}
    return client.V1Node(
        metadata=client.V1ObjectMeta(
            name=name,
            annotations={"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            labels={
                "type": "kwok",
                "edgeai.io/test-fixture": "simulated-jetson",
                "kubernetes.io/arch": "arm64",
                "kubernetes.io/os": "linux",
                "kubernetes.io/hostname": name,
                "edgeai.io/accelerator": "jetson",
            },
        ),
        status=client.V1NodeStatus(
            capacity=resources,
            allocatable=resources,
            node_info=client.V1NodeSystemInfo(
                architecture="arm64",
                operating_system="linux",
                os_image="Ubuntu 22.04 (L4T, simulated by a test fixture)",
                machine_id=f"fixture-{name}",
                system_uuid=f"fixture-{name}",
                boot_id=f"fixture-{name}",
                kernel_version="5.15.148-tegra",
                container_runtime_version="kwok://simulated",
                kubelet_version="kwok-v0.8.0",
                kube_proxy_version="kwok-v0.8.0",
            ),
        ),
    )


@contextmanager
def simulated_jetson_nodes(api: client.ApiClient) -> Iterator[set[str]]:
    """Register the fixture Jetson nodes (kwok-managed), wait until they are Ready, remove them after."""
    core = client.CoreV1Api(api)
    for name in FIXTURE_JETSONS:
        try:
            core.create_node(_fixture_jetson(name))
        except ApiException as exc:
            if exc.status != 409:  # left by an interrupted run: reuse it
                raise

    def ready() -> bool:
        nodes = [core.read_node(name) for name in FIXTURE_JETSONS]
        return all(any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or []) for n in nodes)

    wait_for("the test's simulated Jetson nodes Ready (kwok)", ready, timeout=60)
    try:
        yield set(FIXTURE_JETSONS)
    finally:
        for name in FIXTURE_JETSONS:
            delete(core.delete_node, name)


# The lab's x86 GPU servers (lab/kwok/nodes.yaml): four simulated GPUs each, advertised only while
# a device plugin Pod runs there (the lab's device plugin stand-in).
LAB_GPU_NODES = ("gpu-0", "gpu-1")
LAB_GPUS_PER_NODE = 4


def allocatable_gpus(api: client.ApiClient, names: tuple[str, ...] = LAB_GPU_NODES) -> dict[str, int]:
    """nvidia.com/gpu in each Node's allocatable resources (0 where it is not there)."""
    core = client.CoreV1Api(api)
    return {n: int((core.read_node(n).status.allocatable or {}).get("nvidia.com/gpu", "0")) for n in names}


def site_gpus(api: client.ApiClient) -> None:
    """playbooks/gpu.yml on the lab's site (the device plugin, as site.yml deploys it; a no-op when
    it is there), then every lab GPU server advertising its GPUs."""
    from tests.integration.labsite import run_playbook  # the site's runner, imported here to keep kube.py light

    run = run_playbook("gpu.yml")
    assert run.returncode == 0, run.stdout[-4000:]
    want = dict.fromkeys(LAB_GPU_NODES, LAB_GPUS_PER_NODE)
    wait_for(f"the lab's GPU servers advertising {want}", lambda: allocatable_gpus(api) == want, timeout=60)
