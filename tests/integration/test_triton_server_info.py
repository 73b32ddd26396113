"""triton_server_info, run by Ansible against the lab's real Triton (host process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests import labtriton
from tests.labenv import REPO_ROOT

pytestmark = pytest.mark.lab

PORTS = (18300, 18301, 18302)
URL = f"http://127.0.0.1:{PORTS[0]}"
BUCKET = "health-models"


ANSIBLE_CFG = Path(tempfile.mkdtemp(prefix="edgeai-ansible-")) / "ansible.cfg"
# The repository's ansible.cfg enables profile_tasks, whose output would break
# the JSON stream: the same collection path, JSON out, nothing else.
ANSIBLE_CFG.write_text(
    f"[defaults]\ncollections_path = {REPO_ROOT / '.collections'}\n"
    "stdout_callback = ansible.posix.json\nbin_ansible_callbacks = true\n"
)


def run_module(args: dict, check_mode: bool = False) -> dict:
    """Run the module through `ansible` (ad hoc, local) and return its result."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(ANSIBLE_CFG))
    argv = [
        str(REPO_ROOT / ".venv/bin/ansible"),
        "localhost",
        "-i",
        "localhost,",
        "-c",
        "local",
        "-m",
        "edgeai.inference.triton_server_info",
        "-a",
        json.dumps(args),
        # interpreter discovery here finds a broken pyenv shim: name the interpreter
        "-e",
        f"ansible_python_interpreter={sys.executable}",
    ]
    if check_mode:
        argv.append("--check")
    proc = subprocess.run(argv, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False)
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        pytest.fail(f"no JSON from ansible (rc {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return report["plays"][0]["tasks"][0]["hosts"]["localhost"]


@pytest.fixture(scope="module")
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


def test_reports_server_and_every_model(triton):
    result = run_module({"url": triton, "wait": True, "wait_timeout": 60, "required_models": ["linear", "linear:1"]})
    assert not result.get("failed"), result
    assert result["changed"] is False
    assert result["live"] is True and result["ready"] is True
    assert result["server"]["version"] == "2.45.0"
    states = {(m["name"], m["version"]): m["state"] for m in result["models"]}
    assert states[("linear", "1")] == "READY"
    assert states[("broken", "1")] == "UNAVAILABLE"
    assert result["unready"] == []


def test_unloadable_model_fails_with_tritons_reason(triton):
    result = run_module({"url": triton, "required_models": ["linear", "broken"]})
    assert result.get("failed") is True, result
    assert "broken:1 is UNAVAILABLE" in result["msg"], result["msg"]
    assert "refuses to load (on purpose)" in result["msg"], result["msg"]
    assert "linear" not in result["msg"].replace(triton, ""), result["msg"]


def test_check_mode_reads_the_same_and_changes_nothing(triton):
    real = run_module({"url": triton})
    checked = run_module({"url": triton}, check_mode=True)
    assert checked["changed"] is False
    assert checked["models"] == real["models"]


def test_unreachable_server_names_the_cause_and_fix():
    result = run_module({"url": "http://127.0.0.1:18399", "timeout": 2})
    assert result.get("failed") is True, result
    assert "did not answer" in result["msg"] and "Check the URL and port" in result["msg"], result["msg"]


def test_wait_times_out_with_a_clear_message():
    result = run_module({"url": "http://127.0.0.1:18399", "wait": True, "wait_timeout": 3, "poll_interval": 1})
    assert result.get("failed") is True, result
    assert "was not ready within 3s" in result["msg"], result["msg"]


def test_bad_required_spec_is_refused_before_any_request():
    result = run_module({"url": "http://127.0.0.1:18399", "required_models": ["linear:latest"]})
    assert result.get("failed") is True, result
    assert "NAME or NAME:VERSION" in result["msg"], result["msg"]
