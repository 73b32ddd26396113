"""playbooks/verify.yml run from Python with ansible_runner.run(), as automation runs it.

The endpoint is a real tritonserver (the ``triton`` fixture: the lab's packed
server reading the lab MinIO over TLS, ``linear`` READY and ``broken`` failing to
load). The private data dir is built the way docs/ansible-runner.md describes.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import ansible_runner
import pytest
import yaml

from tests import labtriton
from tests.labenv import REPO_ROOT
from tests.support import ansible
from tests.support import ports as test_ports

pytestmark = pytest.mark.lab

PROBE = {
    "model": "linear",
    "inputs": [{"name": "INPUT0", "datatype": "FP32", "shape": [3, 1], "data": [1.0, 2.0, -3.5]}],
    "expected_outputs": [{"name": "OUTPUT0", "data": [3.0, 5.0, -6.0]}],
    "requests": 30,
    "concurrency": 2,
}


def run_verify(data_dir: Path, url: str, extravars: dict) -> tuple[ansible_runner.Runner, list[dict]]:
    """verify.yml against one endpoint; returns the runner and every event it emitted."""
    (data_dir / "inventory").mkdir(parents=True)
    inventory = {
        "all": {
            "children": {
                "triton": {
                    "hosts": {
                        "triton-under-test": {
                            "ansible_connection": "local",
                            "ansible_python_interpreter": sys.executable,
                            "edgeai_triton_url": url,
                        }
                    }
                }
            }
        }
    }
    (data_dir / "inventory" / "hosts.yml").write_text(yaml.safe_dump(inventory))
    events: list[dict] = []
    runner = ansible_runner.run(
        private_data_dir=str(data_dir),
        project_dir=str(REPO_ROOT / "playbooks"),
        playbook="verify.yml",
        extravars=extravars,
        envvars={
            "ANSIBLE_COLLECTIONS_PATH": str(REPO_ROOT / ".collections"),
            "ANSIBLE_CONFIG": str(ansible.REPO_CONFIG),
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        },
        event_handler=lambda event: events.append(event) or True,
        quiet=True,
        timeout=300,
    )
    return runner, events


def task_results(events: list[dict], task: str, kind: str = "runner_on_ok") -> list[dict]:
    return [e["event_data"]["res"] for e in events if e.get("event") == kind and e["event_data"].get("task") == task]


def test_verify_passes_with_health_and_inference_in_the_events(triton, tmp_path):
    runner, events = run_verify(
        tmp_path / "ok",
        triton,
        {"edgeai_verify_models": ["linear"], "edgeai_verify_inference": [PROBE], "edgeai_verify_timeout": 60},
    )
    assert runner.status == "successful", runner.stdout.read()[-4000:]
    assert runner.rc == 0
    assert runner.stats["failures"] == {} and runner.stats["ok"]["triton-under-test"] > 0

    (health,) = task_results(events, "Live, ready, and every required model READY")
    assert health["live"] and health["ready"] and health["unready"] == []
    states = {m["name"]: m["state"] for m in health["models"]}
    assert states["linear"] == "READY" and states["broken"] == "UNAVAILABLE"

    (probes,) = task_results(events, "Real inferences, with latency")
    (probe,) = probes["results"]
    assert probe["request_count"] == 30 and probe["failures"] == 0 and probe["mismatched_responses"] == 0
    assert probe["outputs"][0]["data"] == [3.0, 5.0, -6.0]
    assert 0 < probe["p50_latency_usec"] <= probe["p99_latency_usec"]

    (report,) = task_results(events, "One line per endpoint, and each model's answer")
    lines = report["msg"]
    assert lines[0].split()[:3] == ["endpoint", "ready", "models"]
    assert any(line.startswith(triton) and " True " in line for line in lines[1:])
    assert f"{triton} linear -> [3.0, 5.0, -6.0]" in lines


def test_verify_fails_naming_the_endpoint_and_the_servers_reason(triton, tmp_path):
    runner, events = run_verify(
        tmp_path / "broken",
        triton,
        {"edgeai_verify_models": ["linear", "broken"], "edgeai_verify_inference": [], "edgeai_verify_timeout": 20},
    )
    assert runner.status == "failed"
    (failed,) = task_results(events, "Every endpoint passed", kind="runner_on_failed")
    # the endpoint, the model, and the reason Triton gave (the model's initialize() raises)
    assert triton in failed["msg"] and "broken:1 is UNAVAILABLE" in failed["msg"], failed["msg"]


def test_verify_fails_fast_on_an_unreachable_endpoint(lab, tmp_path):
    # a loopback port nothing listens on (the lab guards its own ports)
    url = f"http://127.0.0.1:{test_ports.CLOSED_PORT}"
    runner, events = run_verify(
        tmp_path / "down", url, {"edgeai_verify_models": ["linear"], "edgeai_verify_timeout": 5}
    )
    assert runner.status == "failed"
    (failed,) = task_results(events, "Every endpoint passed", kind="runner_on_failed")
    assert url in failed["msg"] and "not ready within 5s" in failed["msg"], failed["msg"]


@pytest.mark.timeout(600)
def test_verify_after_triton_is_killed_fails_in_time_then_passes_after_restart(lab, tmp_path):
    """Fault: the Triton process dies. verify.yml fails within its timeout naming the
    endpoint and the cause; with the server started again the same run passes."""
    ports = test_ports.TRITON["verify_runner"]
    url = f"http://127.0.0.1:{ports[0]}"
    extravars = {"edgeai_verify_models": ["linear"], "edgeai_verify_inference": [PROBE], "edgeai_verify_timeout": 15}
    labtriton.upload_models(lab, bucket="verify-fault")

    def start(log_name: str):
        proc = labtriton.start_triton(lab, ports, tmp_path / log_name, "--load-model=linear", bucket="verify-fault")
        labtriton.wait_ready(proc, url)
        return proc

    proc = start("triton-1.log")
    try:
        runner = run_verify(tmp_path / "before", url, extravars)[0]
        assert runner.status == "successful", runner.stdout.read()[-3000:]

        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        started = time.monotonic()
        runner, events = run_verify(tmp_path / "killed", url, extravars)
        took = time.monotonic() - started
        assert runner.status == "failed"
        (failed,) = task_results(events, "Every endpoint passed", kind="runner_on_failed")
        assert url in failed["msg"] and "not ready within 15s" in failed["msg"], failed["msg"]
        assert "Connection refused" in failed["msg"], failed["msg"]
        # the wait (15 s) plus Ansible's own start-up, not a hang
        assert took < 15 + 45, f"verify took {took:.0f}s against a dead endpoint"

        proc = start("triton-2.log")
        runner = run_verify(tmp_path / "after", url, extravars)[0]
        assert runner.status == "successful", runner.stdout.read()[-3000:]
    finally:
        labtriton.stop(proc)
