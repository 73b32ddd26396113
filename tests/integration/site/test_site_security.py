"""Secrets of the lab's site never reach output, logs, process arguments or world-readable files.

site.yml converges inventories/lab (the lab's site nodes and cluster) at -vvv;
its whole output, every lab log, each node's journal, each node's process
arguments and each node's world-readable files under /etc are searched for every
secret value the site holds: the MinIO root password and the read-only Triton
user's secret key. The K3s and RKE2 tokens are scanned for by Molecule k3s and rke2: every
step of those scenarios runs at -vvv into Ansible's log, and verify searches it for the token
the first server generated (molecule/k3s/verify.yml, molecule/rke2/verify.yml).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.integration.labsite import run_playbook
from tests.labenv import LAB_DIR, read_env_file
from tests.support import site
from tests.support.nodes import docker

pytestmark = pytest.mark.lab

NODES = ("edgeai-lab-minio", "edgeai-lab-triton")


@pytest.fixture(scope="module")
def converged(lab):
    """The site converged at -vvv (from whatever state the site nodes are in), and its secrets."""
    if not lab.get("SITENODES"):
        pytest.fail("the lab's site nodes are not up: run make lab-up", pytrace=False)
    result = run_playbook("site.yml", "-vvv", "--diff")
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    site.converged()
    root = read_env_file(LAB_DIR / "site" / "minio-root.env")
    kept = json.loads(docker("exec", NODES[0], "cat", "/etc/minio/credentials.json").stdout)
    secrets = {"MinIO root password": root["MINIO_ROOT_PASSWORD"], "Triton secret key": kept["triton_secret_key"]}
    assert all(len(v) >= 16 for v in secrets.values())
    return result.stdout + result.stderr, secrets


def find(secrets: dict[str, str], text: str) -> list[str]:
    return [name for name, value in secrets.items() if value in text]


def test_no_secret_in_the_verbose_play_output(converged):
    output, secrets = converged
    assert len(output) > 100_000, "a -vvv run prints every module's arguments and results"
    assert find(secrets, output) == []


def test_no_secret_in_any_lab_log(converged):
    secrets = converged[1]
    leaks = {str(p): find(secrets, p.read_text(errors="replace")) for p in (LAB_DIR / "logs").glob("*.log")}
    assert {p: names for p, names in leaks.items() if names} == {}


@pytest.mark.parametrize("node", NODES)
def test_no_secret_in_a_nodes_journal_or_process_arguments(converged, node):
    secrets = converged[1]
    journal = docker("exec", node, "journalctl", "--no-pager", "-o", "cat", check=False).stdout
    assert journal, f"{node} has an empty journal"
    assert find(secrets, journal) == []
    cmdlines = docker("exec", node, "sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '").stdout
    assert "minio" in cmdlines or "tritonserver" in cmdlines
    assert find(secrets, cmdlines) == []


def grep_node(node: str, secrets: dict[str, str], find_args: str) -> list[str]:
    """Files on the node (chosen by ``find <find_args>``) that hold a secret. The patterns go to
    the node on stdin into a 0600 file, never into a process argument."""
    patterns = "\n".join(secrets.values()) + "\n"
    script = (
        "set -e; umask 077; cat > /root/.edgeai-patterns; "
        f"find {find_args} -exec grep -lsF -f /root/.edgeai-patterns {{}} + || true; rm -f /root/.edgeai-patterns"
    )
    result = subprocess.run(
        ["docker", "exec", "-i", node, "sh", "-c", script],
        input=patterns,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return [p for p in result.stdout.split() if p != "/root/.edgeai-patterns"]


@pytest.mark.parametrize("node", NODES)
def test_secret_files_are_0600_root_and_no_world_readable_file_holds_one(converged, node):
    secrets = converged[1]
    # MinIO's data directory is 0750 minio:minio (the minio scenario checks it): its IAM files are
    # the server's own store, not readable by others.
    world = "/etc /opt /usr/local /var/log /var/lib -xdev -path /var/lib/minio -prune -o -type f -perm -o=r"
    assert grep_node(node, secrets, world) == []
    holders = grep_node(node, secrets, "/etc /opt -xdev -type f")
    assert holders, f"{node}: no file keeps a secret, so this test proves nothing"
    for path in holders:
        mode, owner = docker("exec", node, "stat", "-c", "%a %U", path).stdout.split()
        assert (mode, owner) == ("600", "root"), f"{node}:{path} holds a secret with mode {mode} owner {owner}"


def test_the_controller_copies_are_private(converged):
    site = Path(LAB_DIR / "site")
    assert oct(site.stat().st_mode & 0o777) == "0o700"
    assert oct((site / "minio-root.env").stat().st_mode & 0o777) == "0o600"
