"""triton_model, run by Ansible against the lab's real Triton in EXPLICIT mode."""

from __future__ import annotations

import pytest

from tests.support import ports
from tests.support.ansible import run_module

pytestmark = pytest.mark.lab


def state_of(url: str, name: str) -> str:
    info = run_module("triton_server_info", {"url": url})
    return next(m["state"] for m in info["models"] if m["name"] == name)


def test_load_unload_idempotent_and_check_mode_predicts(triton):
    args = {"url": triton, "name": "labels"}
    assert state_of(triton, "labels") != "READY"

    predicted = run_module("triton_model", args, check_mode=True, diff=True)
    assert predicted["changed"] is True and not predicted.get("failed"), predicted
    assert predicted["diff"]["after"] == {"state": "READY"}, predicted["diff"]
    assert predicted["diff"]["before"]["state"] != "READY", predicted["diff"]
    assert state_of(triton, "labels") != "READY", "check mode loaded the model"

    loaded = run_module("triton_model", args)
    assert loaded["changed"] is True and loaded["model"]["state"] == "READY", loaded
    again = run_module("triton_model", args)
    assert again["changed"] is False, again
    assert run_module("triton_model", args, check_mode=True)["changed"] is False

    unload = {**args, "state": "unloaded"}
    predicted = run_module("triton_model", unload, check_mode=True)
    assert predicted["changed"] is True and state_of(triton, "labels") == "READY"
    unloaded = run_module("triton_model", unload)
    assert unloaded["changed"] is True and unloaded["model"]["state"] == "UNAVAILABLE", unloaded
    assert run_module("triton_model", unload)["changed"] is False


def test_unknown_model_is_refused_with_the_fix(triton):
    result = run_module("triton_model", {"url": triton, "name": "no_such_model"})
    assert result.get("failed") is True, result
    assert "not in the model repository" in result["msg"] and "publish it first" in result["msg"], result["msg"]


def test_config_with_unloaded_is_refused_before_any_request():
    result = run_module(
        "triton_model", {"url": f"http://127.0.0.1:{ports.CLOSED_PORT}", "name": "x", "state": "unloaded", "config": {}}
    )
    assert result.get("failed") is True, result
    assert "config and reload apply only to state=loaded" in result["msg"], result["msg"]
