"""triton_server_info, run by Ansible against the lab's real Triton (host process)."""

from __future__ import annotations

import pytest

from tests.support import ports
from tests.support.ansible import run_module

pytestmark = pytest.mark.lab


def test_reports_server_and_every_model(triton):
    result = run_module(
        "triton_server_info",
        {"url": triton, "wait": True, "wait_timeout": 60, "required_models": ["linear", "linear:1"]},
    )
    assert not result.get("failed"), result
    assert result["changed"] is False
    assert result["live"] is True and result["ready"] is True
    assert result["server"]["version"] == "2.45.0"
    states = {(m["name"], m["version"]): m["state"] for m in result["models"]}
    assert states[("linear", "1")] == "READY"
    assert states[("broken", "1")] == "UNAVAILABLE"
    assert result["unready"] == []


def test_unloadable_model_fails_with_tritons_reason(triton):
    result = run_module("triton_server_info", {"url": triton, "required_models": ["linear", "broken"]})
    assert result.get("failed") is True, result
    assert "broken:1 is UNAVAILABLE" in result["msg"], result["msg"]
    assert "refuses to load (on purpose)" in result["msg"], result["msg"]
    assert "linear" not in result["msg"].replace(triton, ""), result["msg"]


def test_check_mode_reads_the_same_and_changes_nothing(triton):
    real = run_module("triton_server_info", {"url": triton})
    checked = run_module("triton_server_info", {"url": triton}, check_mode=True)
    assert checked["changed"] is False
    assert checked["models"] == real["models"]


def test_unreachable_server_names_the_cause_and_fix():
    result = run_module("triton_server_info", {"url": f"http://127.0.0.1:{ports.CLOSED_PORT}", "timeout": 2})
    assert result.get("failed") is True, result
    assert "did not answer" in result["msg"] and "Check the URL and port" in result["msg"], result["msg"]


def test_wait_times_out_with_a_clear_message():
    result = run_module(
        "triton_server_info",
        {"url": f"http://127.0.0.1:{ports.CLOSED_PORT}", "wait": True, "wait_timeout": 3, "poll_interval": 1},
    )
    assert result.get("failed") is True, result
    assert "was not ready within 3s" in result["msg"], result["msg"]


def test_bad_required_spec_is_refused_before_any_request():
    result = run_module(
        "triton_server_info", {"url": f"http://127.0.0.1:{ports.CLOSED_PORT}", "required_models": ["linear:latest"]}
    )
    assert result.get("failed") is True, result
    assert "NAME or NAME:VERSION" in result["msg"], result["msg"]
