"""Bad input to every role: rejected before any change, with a message naming the variable.

Each case includes the role on a fresh node container with one bad variable (a
wrong type, a missing required value, an unknown choice, an insecure value).
All cases of all roles run in one ansible-playbook run: a marker task, then the
role in a block whose rescue records Ansible's message. The test then checks,
per case, that the role failed, that the message names the variable (and, where
the table says so, the fix), and that no task of that case reported a change.
Kubernetes-facing roles run their preflight against the lab's API (read-only).
"""

from __future__ import annotations

import json
import sys
from collections import Counter

import pytest
import yaml

from tests.labenv import REPO_ROOT
from tests.support import ansible
from tests.support.nodes import docker, start_node

pytestmark = pytest.mark.lab
BAD_ASSETS_DIR = REPO_ROOT / ".lab" / "badinput-assets"

# (role, case id, variables, words the message must contain)
CASES: list[tuple[str, str, dict, tuple[str, ...]]] = [
    ("node_base", "memory not a number", {"node_base_min_memory_mb": "lots"}, ("node_base_min_memory_mb", "int")),
    ("node_base", "packages not a list", {"node_base_packages": {"curl": 1}}, ("node_base_packages", "list")),
    ("node_base", "unsupported os family", {"node_base_supported_os_families": ["Windows"]}, ("supports Windows",)),
    ("node_base", "memory beyond the node", {"node_base_min_memory_mb": 10**9}, ("at least 1000000000",)),
    ("nfs_client", "packages a mapping", {"nfs_client_packages": {"nfs-common": 1}}, ("nfs_client_packages", "list")),
    ("nfs_client", "no mount helper", {"nfs_client_packages": ["netbase"]}, ("nfs_client_packages", "nfs-common")),
    (
        "nfs_server",
        "unknown implementation",
        {"nfs_server_implementation": "samba"},
        ("nfs_server_implementation", "kernel, ganesha"),
    ),
    ("nfs_server", "no client", {"nfs_server_export_clients": []}, ("nfs_server_export_clients",)),
    (
        "nfs_server",
        "relative export path",
        {"nfs_server_export_path": "srv/models", "nfs_server_export_clients": [{"host": "*"}]},
        ("nfs_server_export_path",),
    ),
    (
        "nfs_server",
        "mode not octal text",
        {"nfs_server_export_mode": "rwxr-xr-x", "nfs_server_export_clients": [{"host": "*"}]},
        ("nfs_server_export_mode",),
    ),
    ("nfs_provisioner", "no NFS server", {"nfs_provisioner_nfs_server": ""}, ("nfs_provisioner_nfs_server",)),
    (
        "nfs_provisioner",
        "namespace not a DNS label",
        {"nfs_provisioner_nfs_server": "192.0.2.1", "nfs_provisioner_namespace": "NFS_Prov"},
        ("nfs_provisioner_namespace", "DNS label"),
    ),
    (
        "nfs_provisioner",
        "wait not a number",
        {"nfs_provisioner_wait_timeout": "forever"},
        ("nfs_provisioner_wait_timeout", "int"),
    ),
    ("minio", "no mirror", {}, ("minio_download_base_url",)),
    (
        "minio",
        "short root password",
        {"minio_download_base_url": "http://192.0.2.1/minio", "minio_root_password": "minio"},
        ("minio_root_password", "8 to 40"),
    ),
    (
        "minio",
        "Triton user is root",
        {"minio_download_base_url": "http://192.0.2.1/minio", "minio_triton_access_key": "edgeai-root"},
        ("minio_triton_access_key", "not the root user"),
    ),
    (
        "minio",
        "bad bucket name",
        {"minio_download_base_url": "http://192.0.2.1/minio", "minio_bucket": "My_Models"},
        ("minio_bucket", "My_Models"),
    ),
    (
        "minio",
        "plain http URL",
        {"minio_download_base_url": "http://192.0.2.1/minio", "minio_url": "http://minio:9000"},
        ("minio_url", "https://"),
    ),
    ("minio", "port not a number", {"minio_port": "ninety"}, ("minio_port", "int")),
    ("minio", "unknown state", {"minio_state": "removed"}, ("minio_state", "present, absent")),
    ("minio", "purge not a boolean", {"minio_state": "absent", "minio_purge": "everything"}, ("minio_purge", "bool")),
    ("triton", "unknown state", {"triton_state": "stopped"}, ("triton_state", "present, absent")),
    ("nfs_server", "unknown state", {"nfs_server_state": "off"}, ("nfs_server_state", "present, absent")),
    (
        "nfs_provisioner",
        "unknown state",
        {"nfs_provisioner_state": "gone"},
        ("nfs_provisioner_state", "present, absent"),
    ),
    ("nvidia_gpu", "unknown provider", {"nvidia_gpu_provider": "nouveau"}, ("nvidia_gpu_provider", "gpu_operator")),
    ("nvidia_gpu", "empty node selector", {"nvidia_gpu_node_selector": {}}, ("nvidia_gpu_node_selector", "labels")),
    (
        "nvidia_gpu",
        "operator without its chart repository",
        {"nvidia_gpu_provider": "gpu_operator"},
        ("nvidia_gpu_operator_chart_repo_url", "Helm repository"),
    ),
    (
        "nvidia_gpu",
        "operator without Helm",
        {"nvidia_gpu_provider": "gpu_operator", "nvidia_gpu_operator_chart_repo_url": "https://charts.example.invalid"},
        ("helm does not run", "Helm 3", "nvidia_gpu_provider: device_plugin"),
    ),
    (
        "minio",
        "key without certificate",
        {"minio_download_base_url": "http://192.0.2.1/minio", "minio_tls_key_src": "/k.pem"},
        ("minio_tls_cert_src", "minio_tls_key_src"),
    ),
    # triton: the settings both Triton roles share, checked by itself and as their dependency.
    ("triton", "unknown control mode", {"triton_model_control_mode": "sometimes"}, ("triton_model_control_mode",)),
    (
        "triton",
        "port out of range",
        {"triton_model_repository": "/models", "triton_http_port": 70000},
        ("triton_http_port", "65535"),
    ),
    ("triton_host", "no model repository", {}, ("triton_model_repository",)),
    (
        "triton_host",
        "S3 without credentials",
        {"triton_model_repository": "s3://https://192.0.2.1:9000/models"},
        ("triton_s3_access_key", "minio_triton_access_key"),
    ),
    (
        "triton_host",
        "CA not on the controller",
        {"triton_model_repository": "/models", "triton_ca_cert_src": "/nonexistent/ca.pem"},
        ("triton_ca_cert_src", "/nonexistent/ca.pem"),
    ),
    (
        "triton_host",
        "no mirror for the tarball",
        {"triton_model_repository": "/models"},
        ("triton_host_download_base_url", "triton_host_tarball_sha256"),
    ),
    # triton_kubernetes: its own checks fail before any API call.
    (
        "triton_kubernetes",
        "no workload enabled",
        {"triton_kubernetes_deployment_enabled": False},
        ("triton_kubernetes_deployment_enabled", "triton_kubernetes_daemonset_enabled"),
    ),
    (
        "triton_kubernetes",
        "unknown Service type",
        {
            "triton_kubernetes_deployment_enabled": False,
            "triton_kubernetes_daemonset_enabled": True,
            "triton_kubernetes_service_type": "Ingress",
        },
        ("triton_kubernetes_service_type", "NodePort"),
    ),
    (
        "model_repository",
        "unknown store",
        {"model_repository_store": "ftp", "model_repository_models": [{"name": "linear", "example": "linear"}]},
        ("model_repository_store", "ftp"),
    ),
    (
        "model_repository",
        "model without a source",
        {
            "model_repository_store": "filesystem",
            "model_repository_dest_path": "/srv/m",
            "model_repository_models": [{"name": "x"}],
        },
        ("model_repository_models[0]",),
    ),
    (
        "model_repository",
        "S3 without credentials",
        {
            "model_repository_models": [{"name": "linear", "example": "linear"}],
            "model_repository_s3_endpoint": "https://192.0.2.1:9000",
            "model_repository_s3_bucket": "models",
        },
        ("model_repository_s3_access_key", "model_repository_s3_secret_key"),
    ),
    (
        "model_repository",
        "malformed sha256",
        {
            "model_repository_store": "filesystem",
            "model_repository_dest_path": "/srv/m",
            "model_repository_models": [{"name": "m", "url": "http://192.0.2.1/m.tar.gz", "sha256": "abc"}],
        },
        ("model_repository_models[0]", "sha256"),
    ),
    (
        "model_repository",
        "unknown data type",
        {
            "model_repository_store": "filesystem",
            "model_repository_dest_path": "/srv/m",
            "model_repository_models": [
                {
                    "name": "linear",
                    "example": "linear",
                    "config": {"backend": "python", "input": [{"name": "IN", "data_type": "FP33", "dims": [1]}]},
                }
            ],
        },
        ("FP33", "data type"),
    ),
    ("jetson", "not a Jetson", {}, ("jetson_allow_non_jetson",)),
    (
        "jetson",
        "unknown engine",
        {"jetson_container_engine": "podman"},
        ("jetson_container_engine", "docker, containerd"),
    ),
    ("jetson", "swap size not a number", {"jetson_swap_file_size_mb": "big"}, ("jetson_swap_file_size_mb", "int")),
    # k3s: "ungrouped" holds the test node, so it stands as the first server (or as an agent);
    # group k3s_server holds a server that is never contacted.
    ("k3s", "unknown state", {"k3s_state": "gone"}, ("k3s_state", "present, absent")),
    (
        "k3s",
        "the tutorial's token",
        {"k3s_server_group": "ungrouped", "k3s_token": "jetsonmate"},
        ("k3s_token", "published", "openssl rand"),
    ),
    ("k3s", "short token", {"k3s_server_group": "ungrouped", "k3s_token": "0123456789"}, ("k3s_token", "16")),
    (
        "k3s",
        "agents with no server",
        {"k3s_agent_group": "ungrouped", "k3s_server_group": "no_such_group"},
        ("k3s_server_group", "no host"),
    ),
    (
        "k3s",
        "server-only key for an agent",
        {"k3s_agent_group": "ungrouped", "k3s_agent_config": {"disable": ["traefik"]}},
        ("k3s_agent_config", "disable", "k3s_server_config"),
    ),
    (
        "k3s",
        "unquoted kubeconfig mode",
        {"k3s_server_group": "ungrouped", "k3s_write_kubeconfig_mode": 644},
        ("k3s_write_kubeconfig_mode", "quote"),
    ),
    (
        "k3s",
        "unsupported architecture",
        {"k3s_server_group": "ungrouped", "ansible_architecture": "ppc64le"},
        ("ppc64le", "k3s-arm64", "k3s-armhf"),
    ),
    (
        "k3s",
        "version not a release tag",
        {"k3s_server_group": "ungrouped", "k3s_version": "stable"},
        ("k3s_version", "v1.34.4+k3s1"),
    ),
    (
        "k3s",
        "air-gapped asset missing",
        {"k3s_server_group": "ungrouped", "k3s_artifact_src_dir": str(BAD_ASSETS_DIR / "empty")},
        ("does not exist on the controller",),
    ),
    (
        "k3s",
        "air-gapped checksum mismatch",
        {"k3s_server_group": "ungrouped", "k3s_artifact_src_dir": str(BAD_ASSETS_DIR / "mismatch")},
        ("has sha256", "Nothing was installed"),
    ),
    (
        "k3s",
        "air-gapped checksum missing",
        {"k3s_server_group": "ungrouped", "k3s_artifact_src_dir": str(BAD_ASSETS_DIR / "nosum")},
        ("has no line for k3s",),
    ),
    # rke2: as for k3s; group rke2_server holds a server that is never contacted.
    ("rke2", "unknown state", {"rke2_state": "gone"}, ("rke2_state", "present, absent")),
    (
        "rke2",
        "a popular role's default token",
        {"rke2_server_group": "ungrouped", "rke2_token": "defaultSecret12345"},
        ("rke2_token", "published", "openssl rand"),
    ),
    ("rke2", "short token", {"rke2_server_group": "ungrouped", "rke2_token": "0123456789"}, ("rke2_token", "16")),
    (
        "rke2",
        "agents with no server",
        {"rke2_agent_group": "ungrouped", "rke2_server_group": "no_such_group"},
        ("rke2_server_group", "no host", "9345"),
    ),
    (
        "rke2",
        "server-only key for an agent",
        {"rke2_agent_group": "ungrouped", "rke2_agent_config": {"cni": ["cilium"]}},
        ("rke2_agent_config", "cni", "rke2_server_config"),
    ),
    (
        "rke2",
        "unquoted kubeconfig mode",
        {"rke2_server_group": "ungrouped", "rke2_write_kubeconfig_mode": 644},
        ("rke2_write_kubeconfig_mode", "quote"),
    ),
    (
        "rke2",
        "no armhf release",
        {"rke2_server_group": "ungrouped", "ansible_architecture": "armv7l"},
        ("armv7l", "amd64", "arm64", "k3s"),
    ),
    (
        "rke2",
        "version not a release tag",
        {"rke2_server_group": "ungrouped", "rke2_version": "v1.34.4+k3s1"},
        ("rke2_version", "v1.34.4+rke2r1"),
    ),
    (
        "rke2",
        "air-gap image name with its architecture",
        {"rke2_server_group": "ungrouped", "rke2_airgap_images": ["rke2-images.linux-amd64.tar.zst"]},
        ("rke2_airgap_images", "rke2-images-core"),
    ),
    (
        "rke2",
        "air-gapped checksum mismatch",
        {"rke2_server_group": "ungrouped", "rke2_artifact_src_dir": str(BAD_ASSETS_DIR / "mismatch")},
        ("rke2.linux-amd64.tar.gz", "has sha256", "Nothing was installed"),
    ),
    # cluster_node (internal, shared by k3s and rke2): its argument spec holds before any task
    ("cluster_node", "unknown node type", {"cluster_node_type": "worker"}, ("cluster_node_type", "server, agent")),
    ("cluster_node", "timeout not a number", {"cluster_node_start_timeout": "soon"}, ("cluster_node_start_timeout",)),
    ("artifact", "no source", {"artifact_dest": "/tmp/artifact"}, ("artifact_url", "artifact_src")),
    (
        "artifact",
        "no checksum",
        {"artifact_dest": "/tmp/artifact", "artifact_url": "http://192.0.2.1/file"},
        ("artifact_sha256", "artifact_checksum_file_url"),
    ),
]


def bad_assets() -> None:
    """Controller folders of the air-gapped k3s and rke2 cases: no asset; a wrong sum; no line for the asset."""
    for case in ("empty", "mismatch", "nosum"):
        (BAD_ASSETS_DIR / case).mkdir(parents=True, exist_ok=True)
    for case in ("mismatch", "nosum"):
        (BAD_ASSETS_DIR / case / "k3s").write_text("#!/bin/sh\necho not k3s\n")
    (BAD_ASSETS_DIR / "mismatch" / "rke2.linux-amd64.tar.gz").write_text("not an RKE2 bundle\n")
    (BAD_ASSETS_DIR / "empty" / "sha256sum-amd64.txt").write_text(f"{'0' * 64}  k3s\n")
    (BAD_ASSETS_DIR / "mismatch" / "sha256sum-amd64.txt").write_text(
        f"{'0' * 64}  k3s\n{'0' * 64}  rke2.linux-amd64.tar.gz\n"
    )
    (BAD_ASSETS_DIR / "nosum" / "sha256sum-amd64.txt").write_text(f"{'0' * 64}  k3s-arm64\n")


def playbook() -> list[dict]:
    tasks: list[dict] = [{"name": "Bad input results", "ansible.builtin.set_fact": {"bad_input": {}}}]
    for role, case, variables, _words in CASES:
        key = f"{role}: {case}"
        tasks.append({"name": f"CASE {key}", "ansible.builtin.debug": {"msg": key}})
        tasks.append(
            {
                "name": f"Run {key}",
                "block": [
                    {
                        "name": f"Role {key}",
                        "ansible.builtin.include_role": {"name": f"edgeai.inference.{role}"},
                        "vars": variables,
                    }
                ],
                "rescue": [
                    {
                        "name": f"Record {key}",
                        "ansible.builtin.set_fact": {
                            "bad_input": "{{ bad_input | combine({"
                            + json.dumps(key)
                            + ": (ansible_failed_result.msg | default('')) ~ ' ' ~ "
                            # a loop task fails with "One or more items failed": add each item's message
                            + "(ansible_failed_result.results | default([]) | selectattr('failed', 'defined') "
                            + "| selectattr('failed') | map(attribute='msg') | join('; '))}) }}"
                        },
                    }
                ],
            }
        )
    tasks.append({"name": "Report", "ansible.builtin.debug": {"var": "bad_input"}})
    return [{"name": "Bad input", "hosts": "node", "become": True, "gather_facts": True, "tasks": tasks}]


@pytest.fixture(scope="module")
def outcome(lab, tmp_path_factory):
    # module scope: one node for every case, so not the function-scoped node_factory
    name = start_node(lab["NODE_IMAGE"], "badinput")
    bad_assets()
    work = tmp_path_factory.mktemp("badinput")
    try:
        (work / "play.yml").write_text(yaml.safe_dump(playbook(), sort_keys=False))
        inventory = {
            "all": {
                "hosts": {"node": {"ansible_connection": "community.docker.docker", "ansible_host": name}},
                "children": {
                    "k3s_server": {"hosts": {"k3s-never-contacted": {"ansible_host": "192.0.2.1"}}},
                    "rke2_server": {"hosts": {"rke2-never-contacted": {"ansible_host": "192.0.2.2"}}},
                },
                "vars": {
                    "ansible_python_interpreter": "/usr/bin/python3",
                    "nfs_provisioner_kubeconfig": lab["KUBECONFIG"],
                },
            }
        }
        (work / "hosts.yml").write_text(yaml.safe_dump(inventory))
        env = ansible.environment(json_output=True, ANSIBLE_LOCALHOST_WARNING="0")
        argv = [
            "-i",
            str(work / "hosts.yml"),
            str(work / "play.yml"),
            "-e",
            f"ansible_playbook_python={sys.executable}",
        ]
        proc = ansible.run_playbook(argv, env=env, timeout=1200)
        report = ansible.json_report(proc)
    finally:
        docker("rm", "-f", name, check=False)
    tasks = report["plays"][0]["tasks"]
    changed_by_case: dict[str, list[str]] = {}
    current = None
    for task in tasks:
        title = task["task"]["name"]
        if title.startswith("CASE "):
            current = title[len("CASE ") :]
            changed_by_case[current] = []
        elif current and task["hosts"].get("node", {}).get("changed"):
            changed_by_case[current].append(title)
    final = next(t for t in tasks if t["task"]["name"] == "Report")["hosts"]["node"]["bad_input"]
    return final, changed_by_case


@pytest.mark.parametrize(("role", "case", "variables", "words"), CASES, ids=[f"{case[0]}: {case[1]}" for case in CASES])
def test_bad_input_is_rejected_before_any_change(outcome, role, case, variables, words):
    messages, changed = outcome
    key = f"{role}: {case}"
    assert key in messages, f"{key}: the role accepted {variables}"
    message = messages[key]
    for word in words:
        assert word in message, f"{key}: message does not name {word!r}: {message}"
    assert changed[key] == [], f"{key}: changed something before refusing: {changed[key]}"


def test_every_role_has_bad_input_cases():
    roles = sorted(p.name for p in (REPO_ROOT / "roles").iterdir() if p.is_dir())
    counts = Counter(case[0] for case in CASES)
    print("bad-input cases per role:", dict(sorted(counts.items())))
    assert [r for r in roles if counts[r] < 2] == []
