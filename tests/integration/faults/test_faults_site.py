"""Faults during site.yml on the lab's site: a node that goes away, a cluster API that does not answer.

Both start from the converged lab site (site.yml is run first; on a converged
site it changes nothing) and end with it converged again, with no manual step.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.integration.labsite import PLAYBOOK_CMD, recap, run_playbook, site_env
from tests.labenv import REPO_ROOT
from tests.support.nodes import docker, system_state

pytestmark = pytest.mark.lab

TRITON_NODE = "edgeai-lab-triton"


@pytest.mark.timeout(1800)
def test_node_stopped_mid_site_is_reported_and_a_rerun_converges(converged_site):
    proc = subprocess.Popen(
        [*PLAYBOOK_CMD, "playbooks/site.yml"],
        cwd=REPO_ROOT,
        env=site_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    stopped = False
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        # once the MinIO node's play is under way, the Triton node goes away
        if not stopped and line.startswith("PLAY [MinIO with the models bucket"):
            docker("stop", "-t", "0", TRITON_NODE)
            stopped = True
    proc.wait(timeout=600)
    output = "".join(lines)
    assert stopped, output[-3000:]
    assert proc.returncode != 0, "the play did not notice a node that went away"
    summary = recap(output)
    assert summary[TRITON_NODE][2] + summary[TRITON_NODE][3] >= 1, summary  # unreachable or failed
    assert summary["edgeai-lab-minio"][3] == 0, "the other node must not fail with it"

    # the node returns: its services start at boot, and a re-run converges it with no manual step
    docker("start", TRITON_NODE)
    assert system_state(TRITON_NODE, timeout=120) in ("running", "degraded")
    again = run_playbook("site.yml")
    assert again.returncode == 0, again.stdout[-6000:]
    assert all(r[3] == 0 and r[2] == 0 for r in recap(again.stdout).values()), recap(again.stdout)
    proof = run_playbook("verify.yml")
    assert proof.returncode == 0, proof.stdout[-4000:]


@pytest.mark.timeout(1200)
def test_cluster_api_unreachable_fails_clearly_and_a_rerun_fixes_nothing_half_applied(converged_site, tmp_path):
    kubeconfig = yaml.safe_load(Path(converged_site["KUBECONFIG"]).read_text())
    for cluster in kubeconfig["clusters"]:
        cluster["cluster"]["server"] = "https://127.0.0.1:6449"  # nothing listens there
    dead = tmp_path / "kubeconfig"
    dead.write_text(yaml.safe_dump(kubeconfig))
    dead.chmod(0o600)

    started = time.monotonic()
    broken = run_playbook("triton.yml", "-e", f"triton_kubernetes_kubeconfig={dead}")
    took = time.monotonic() - started
    assert broken.returncode != 0
    output = broken.stdout + broken.stderr
    assert "port=6449" in output and "Connection refused" in output, output[-4000:]
    assert took < 300, f"an unreachable API took {took:.0f}s to be reported"
    summary = recap(broken.stdout)
    assert summary["localhost"][3] >= 1 and summary["localhost"][2] == 0, summary

    fixed = run_playbook("triton.yml")
    assert fixed.returncode == 0, fixed.stdout[-6000:]
    summary = recap(fixed.stdout)
    assert all(r[1] == 0 for r in summary.values()), f"the failed run half-applied something: {summary}"
