"""Node containers run systemd; the artifact server serves verifiable releases."""

from __future__ import annotations

import hashlib
import urllib.request

import pytest

from tests.support.nodes import docker, system_state

pytestmark = pytest.mark.lab


@pytest.fixture
def node(node_factory):
    return node_factory("node")


def test_node_container_runs_systemd(node):
    state = system_state(node)
    assert state == "running", docker("exec", node, "systemctl", "--failed", check=False).stdout
    assert docker("exec", node, "python3", "-c", "print(1+1)").stdout.strip() == "2"


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()


def test_artifact_server_serves_checksummed_minio(lab):
    base = lab["ARTIFACTS_URL"]
    version = lab["MINIO_BIN"].split("/minio-")[1].split("/")[0]
    sums = dict(
        reversed(line.split(None, 1))
        for line in fetch(f"{base}/minio/{version}/sha256sum-amd64.txt").decode().splitlines()
    )
    assert set(sums) >= {"minio", "mc"}
    binary = fetch(f"{base}/minio/{version}/minio")
    assert hashlib.sha256(binary).hexdigest() == sums["minio"]


def test_node_reaches_artifact_server_and_verifies(lab, node):
    # The install path a role will take: download inside the node, check the sum.
    url = lab["ARTIFACTS_NODE_URL"]
    version = lab["MINIO_BIN"].split("/minio-")[1].split("/")[0]
    script = (
        f"set -e; mkdir -p /root/dl; cd /root/dl; curl -fsSO {url}/minio/{version}/mc; "
        f"curl -fsS {url}/minio/{version}/sha256sum-amd64.txt | grep ' mc$' | sha256sum -c -"
    )
    result = docker("exec", node, "sh", "-c", script, check=False)
    assert result.returncode == 0, result.stderr
    assert "mc: OK" in result.stdout
