"""Shared by the module tests: run a module through Ansible, and one real Triton."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests import labtriton
from tests.integration.labsite import converge_site
from tests.labenv import REPO_ROOT
from tests.support import ports

PORTS = ports.TRITON["shared"]
URL = f"http://127.0.0.1:{PORTS[0]}"
BUCKET = "health-models"


ANSIBLE_CFG = Path(tempfile.mkdtemp(prefix="edgeai-ansible-")) / "ansible.cfg"
# The repository's ansible.cfg enables profile_tasks, whose output would break
# the JSON stream: the same collection path, JSON out, nothing else.
ANSIBLE_CFG.write_text(
    f"[defaults]\ncollections_path = {REPO_ROOT / '.collections'}\n"
    "stdout_callback = ansible.posix.json\nbin_ansible_callbacks = true\npipelining = true\n"
)


def run_module(
    module: str,
    args: dict,
    check_mode: bool = False,
    diff: bool = False,
    env: dict[str, str] | None = None,
    interpreter: str = sys.executable,
    host: str = "localhost",
    connection: str = "local",
) -> dict:
    """Run edgeai.inference.<module> through `ansible` (ad hoc, local) and return its result.

    Secrets go in ``env`` (the modules' environment fallbacks), never in ``args``: those are argv.
    ``interpreter`` is the Python the module runs with (this venv's by default). ``host`` and
    ``connection`` run it elsewhere, a node container through community.docker.docker for one."""
    env = dict(os.environ, **(env or {}), ANSIBLE_CONFIG=str(ANSIBLE_CFG))
    argv = [
        str(REPO_ROOT / ".venv/bin/ansible"),
        host,
        "-i",
        f"{host},",
        "-c",
        connection,
        "-m",
        f"edgeai.inference.{module}",
        "-a",
        json.dumps(args),
        # interpreter discovery here finds a broken pyenv shim: name the interpreter
        "-e",
        f"ansible_python_interpreter={interpreter}",
    ]
    if check_mode:
        argv.append("--check")
    if diff:
        argv.append("--diff")
    proc = subprocess.run(argv, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False)
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        pytest.fail(f"no JSON from ansible (rc {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return report["plays"][0]["tasks"][0]["hosts"][host]


@pytest.fixture
def converged_site(lab):
    """The lab's site as site.yml makes it, proven before each test (tests/support/site.py)."""
    return converge_site(lab)


@pytest.fixture(scope="module")
def lab_gpus(lab):
    """The lab's GPU servers advertising their GPUs: the site's device plugin deployed (gpu.yml)."""
    from tests.integration.kube import api_client, site_gpus

    site_gpus(api_client(lab))


@pytest.fixture(scope="session")
def triton(lab, tmp_path_factory):
    """Triton from MinIO over TLS: linear loads, broken fails to load (server keeps running)."""
    labtriton.upload_models(lab, bucket=BUCKET)
    labtriton.upload_models(lab, bucket=BUCKET, models=Path(__file__).parent / "models")
    log_path = tmp_path_factory.mktemp("triton") / "tritonserver.log"
    proc = labtriton.start_triton(
        lab,
        PORTS,
        log_path,
        "--load-model=linear",
        "--load-model=broken",
        "--exit-on-error=false",
        "--strict-readiness=false",
        bucket=BUCKET,
    )
    try:
        labtriton.wait_ready(proc, URL)
        yield URL
    finally:
        labtriton.stop(proc)
