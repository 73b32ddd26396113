"""upgrade.yml and reset.yml on the lab's site, each followed back to a converged site.

Each test starts from the converged site (tests/support/site.py) and leaves it
converged with the inventory's settings, restoring only what it changed and checking
that it did: the upgrade tests change Triton alone, so triton.yml brings it back; the
reset tests remove the whole stack, so site.yml does.
"""

from __future__ import annotations

import pytest
from kubernetes import client

from tests.integration.kube import absent, api_client
from tests.integration.labsite import recap, run_playbook
from tests.labenv import LAB_DIR
from tests.support.nodes import docker, node_path_exists

pytestmark = pytest.mark.lab

MINIO_NODE = "edgeai-lab-minio"
TRITON_NODE = "edgeai-lab-triton"
NEW_IMAGE = "nvcr.io/nvidia/tritonserver:24.05-py3"
# A setting of the host service that changes its unit, so the upgrade restarts it.
NEW_ARGS = '{"triton_extra_args": ["--log-info=true"]}'
CONFIRM = ("-e", "edgeai_reset_confirm=yes")


def unit_text(node: str, unit: str) -> str:
    return docker("exec", node, "cat", f"/etc/systemd/system/{unit}", check=False).stdout


def deployment_image(apps: client.AppsV1Api) -> str:
    return apps.read_namespaced_deployment("triton", "edgeai").spec.template.spec.containers[0].image


def changed(output: str) -> dict[str, int]:
    return {host: r[1] for host, r in recap(output).items()}


def assert_answers(output: str) -> None:
    """verify.yml's table, as upgrade.yml prints it last: both models answer right."""
    assert "linear -> [3.0, 5.0, -6.0]" in output, output[-4000:]
    assert 'labels -> ["setosa", "virginica"]' in output, output[-4000:]


@pytest.mark.timeout(1800)
def test_upgrade_rolls_each_part_proves_it_and_a_rerun_changes_nothing(converged_site):
    apps = client.AppsV1Api(api_client(converged_site))
    old_image = deployment_image(apps)
    assert old_image != NEW_IMAGE

    up = run_playbook("upgrade.yml", "-e", f"triton_kubernetes_deployment_image={NEW_IMAGE}", "-e", NEW_ARGS)
    assert up.returncode == 0, up.stdout[-6000:]
    summary = changed(up.stdout)
    assert summary["localhost"] >= 1 and summary[TRITON_NODE] >= 1, summary
    assert summary[MINIO_NODE] == 0, summary
    # the precheck ran before anything changed, the probe after the host's upgrade, verify last
    plays = [line for line in up.stdout.splitlines() if line.startswith("PLAY [")]
    # the site's choices are checked first (playbooks/choices.yml, again in the imported verify.yml)
    assert plays[0].startswith("PLAY [Site choices]"), plays
    plays = [play for play in plays if not play.startswith("PLAY [Site choices]")]
    assert plays[0].startswith("PLAY [Probe every Triton endpoint]"), plays
    assert plays[-1].startswith("PLAY [Report]"), plays
    assert "TASK [Probe the upgraded endpoint]" in up.stdout
    assert_answers(up.stdout)
    assert deployment_image(apps) == NEW_IMAGE
    deployment = apps.read_namespaced_deployment("triton", "edgeai")
    assert deployment.status.updated_replicas == deployment.status.available_replicas == deployment.spec.replicas
    assert "--log-info=true" in unit_text(TRITON_NODE, "tritonserver.service")

    again = run_playbook("upgrade.yml", "-e", f"triton_kubernetes_deployment_image={NEW_IMAGE}", "-e", NEW_ARGS)
    assert again.returncode == 0, again.stdout[-6000:]
    assert all(n == 0 for n in changed(again.stdout).values()), changed(again.stdout)

    # back to the inventory's settings: the upgrade changed Triton alone (MinIO's node: 0 above)
    back = run_playbook("triton.yml")
    assert back.returncode == 0, back.stdout[-6000:]
    assert deployment_image(apps) == old_image
    assert "--log-info=true" not in unit_text(TRITON_NODE, "tritonserver.service")


@pytest.mark.timeout(900)
def test_upgrade_refuses_an_unhealthy_site_before_touching_it(converged_site):
    apps = client.AppsV1Api(api_client(converged_site))
    image = deployment_image(apps)
    docker("exec", TRITON_NODE, "systemctl", "stop", "tritonserver")
    try:
        up = run_playbook(
            "upgrade.yml", "-e", f"triton_kubernetes_deployment_image={NEW_IMAGE}", "-e", "edgeai_verify_timeout=5"
        )
        assert up.returncode != 0
        assert "Triton endpoints failed" in up.stdout and ":8000" in up.stdout, up.stdout[-4000:]
        assert all(n == 0 for n in changed(up.stdout).values()), changed(up.stdout)
        # the failed precheck ended the run: no play after it started
        assert "PLAY [Model store, one host at a time]" not in up.stdout, up.stdout[-4000:]
        assert deployment_image(apps) == image
    finally:
        docker("exec", TRITON_NODE, "systemctl", "start", "tritonserver")
    proof = run_playbook("verify.yml")
    assert proof.returncode == 0, proof.stdout[-4000:]


@pytest.mark.timeout(900)
def test_a_host_that_fails_its_upgrade_stops_the_roll_before_the_cluster(converged_site):
    apps = client.AppsV1Api(api_client(converged_site))
    image = deployment_image(apps)
    broken = '{"triton_extra_args": ["--no-such-flag"], "triton_wait_timeout": 20}'
    up = run_playbook("upgrade.yml", "-e", f"triton_kubernetes_deployment_image={NEW_IMAGE}", "-e", broken)
    assert up.returncode != 0
    assert recap(up.stdout)[TRITON_NODE][3] == 1, up.stdout[-4000:]
    assert "was not ready within 20s" in up.stdout, up.stdout[-4000:]
    assert "PLAY [Triton on the cluster, rolled by its update strategy]" not in up.stdout, up.stdout[-4000:]
    assert deployment_image(apps) == image

    # the fix is a re-run with good settings: triton.yml (the part that failed), the inventory's own
    back = run_playbook("triton.yml")
    assert back.returncode == 0, back.stdout[-6000:]
    proof = run_playbook("verify.yml")
    assert proof.returncode == 0, proof.stdout[-4000:]


def assert_removed(lab: dict[str, str]) -> None:
    """What reset.yml removes, on the nodes and on the cluster."""
    core = client.CoreV1Api(api_client(lab))
    assert absent(core.read_namespace, "edgeai"), "the Triton namespace is still there"
    apps = client.AppsV1Api(api_client(lab))
    assert absent(apps.read_namespaced_daemon_set, "nvidia-device-plugin-daemonset", "kube-system"), "the GPU plugin"
    for path in ("/etc/systemd/system/tritonserver.service", "/etc/default/tritonserver", "/opt/tritonserver"):
        assert not node_path_exists(TRITON_NODE, path), path
    assert docker("exec", TRITON_NODE, "id", "triton", check=False).returncode != 0
    for path in ("/etc/systemd/system/minio.service", "/etc/default/minio", "/usr/local/bin/minio"):
        assert not node_path_exists(MINIO_NODE, path), path
    for node, unit in ((TRITON_NODE, "tritonserver"), (MINIO_NODE, "minio")):
        state = docker("exec", node, "systemctl", "is-active", unit, check=False).stdout.strip()
        assert state in ("inactive", "unknown"), (node, unit, state)


@pytest.mark.timeout(1800)
def test_reset_asks_first_predicts_removes_keeps_the_data_and_site_brings_it_back(converged_site):
    refused = run_playbook("reset.yml")
    assert refused.returncode != 0
    assert "-e edgeai_reset_confirm=yes" in refused.stdout, refused.stdout[-3000:]
    assert set(recap(refused.stdout)) == {"localhost"}, "hosts were touched before the confirmation"

    check = run_playbook("reset.yml", *CONFIRM, "--check", "--diff")
    assert check.returncode == 0, check.stdout[-6000:]
    predicted = changed(check.stdout)
    assert node_path_exists(TRITON_NODE, "/etc/systemd/system/tritonserver.service"), "check mode removed something"

    reset = run_playbook("reset.yml", *CONFIRM)
    assert reset.returncode == 0, reset.stdout[-6000:]
    assert changed(reset.stdout) == predicted
    assert all(n >= 1 for n in predicted.values()), predicted
    assert_removed(converged_site)
    # kept: the stored models, MinIO's credentials and TLS material
    assert node_path_exists(MINIO_NODE, "/var/lib/minio/data/models/linear/config.pbtxt")
    assert node_path_exists(MINIO_NODE, "/etc/minio/credentials.json")

    again = run_playbook("reset.yml", *CONFIRM)
    assert again.returncode == 0, again.stdout[-6000:]
    assert all(n == 0 for n in changed(again.stdout).values()), changed(again.stdout)

    back = run_playbook("site.yml")
    assert back.returncode == 0, back.stdout[-6000:]
    proof = run_playbook("verify.yml")
    assert proof.returncode == 0, proof.stdout[-4000:]
    assert_answers(proof.stdout)


@pytest.mark.timeout(1800)
def test_reset_purge_removes_the_data_and_secrets_and_site_starts_afresh(converged_site):
    purge = ("-e", "edgeai_reset_purge=true")
    ca_before = docker("exec", MINIO_NODE, "cat", "/etc/minio/certs/CAs/ca.crt").stdout.strip()
    assert ca_before in docker("exec", MINIO_NODE, "cat", "/etc/ssl/certs/ca-certificates.crt").stdout

    reset = run_playbook("reset.yml", *CONFIRM, *purge)
    assert reset.returncode == 0, reset.stdout[-6000:]
    assert_removed(converged_site)
    for path in ("/var/lib/minio/data", "/etc/minio", "/usr/local/share/ca-certificates/edgeai-minio-ca.crt"):
        assert not node_path_exists(MINIO_NODE, path), path
    # the node no longer trusts the purged CA: it left the system bundle too
    assert ca_before not in docker("exec", MINIO_NODE, "cat", "/etc/ssl/certs/ca-certificates.crt").stdout
    assert docker("exec", MINIO_NODE, "id", "minio", check=False).returncode != 0
    # and the controller's copies of the CA and the root credentials
    for name in ("minio-ca.crt", "minio-root.env"):
        assert not (LAB_DIR / "site" / name).exists(), name

    again = run_playbook("reset.yml", *CONFIRM, *purge)
    assert again.returncode == 0, again.stdout[-6000:]
    assert all(n == 0 for n in changed(again.stdout).values()), changed(again.stdout)

    fresh = run_playbook("site.yml")
    assert fresh.returncode == 0, fresh.stdout[-6000:]
    assert node_path_exists(MINIO_NODE, "/var/lib/minio/data/models/linear/config.pbtxt")
    proof = run_playbook("verify.yml")
    assert proof.returncode == 0, proof.stdout[-4000:]
    assert_answers(proof.stdout)
